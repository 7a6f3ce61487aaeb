/// One field of a collection.
public struct FieldMapping: Sendable, Hashable {
    public var name: String
    public var type: FieldType
    /// The source's name for the field (column, or JSON path for REST sources).
    public var column: String
    /// For GeoPoints stored as two numeric columns.
    public var latitudeColumn: String?
    public var longitudeColumn: String?
    /// For pointers: the class they point to.
    public var targetClass: String?
    public var readOnly: Bool
    /// Where a pointer field was declared, for `causeway check` findings (`.unknown` for other fields).
    public var origin: ConfigLocation = .unknown

    /// The source columns holding this field: two (latitude, longitude) for a GeoPoint, one otherwise.
    /// A GeoPoint without explicit columns uses `<column>_latitude` and `<column>_longitude`.
    public var storageColumns: [String] {
        if type == .geoPoint { return [latitudeColumn ?? column + "_latitude", longitudeColumn ?? column + "_longitude"] }
        return [column]
    }

    public init(name: String, type: FieldType, column: String, latitudeColumn: String? = nil, longitudeColumn: String? = nil,
                targetClass: String? = nil, readOnly: Bool = false) {
        self.name = name
        self.type = type
        self.column = column
        self.latitudeColumn = latitudeColumn
        self.longitudeColumn = longitudeColumn
        self.targetClass = targetClass
        self.readOnly = readOnly
    }
}
