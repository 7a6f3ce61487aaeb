/// What a connector executes itself. The planner never sends a connector more than it declares;
/// everything else is finished by the in-memory evaluator.
public struct ConnectorCapabilities: Sendable, Hashable {
    public var filterOperators: Set<FilterOperator>
    /// Conditions on dotted paths below object fields.
    public var nestedPaths: Bool
    public var sorting: Bool
    /// Nearest-first ordering for `$nearSphere`.
    public var distanceSorting: Bool
    /// `limit` and `skip`.
    public var paging: Bool
    /// Returning only the requested fields.
    public var projection: Bool
    public var counting: Bool
    /// Update operations the connector applies atomically.
    public var updateOperations: Set<UpdateOperation.Kind>
    public var writes: Bool

    public init(filterOperators: Set<FilterOperator>, nestedPaths: Bool, sorting: Bool, distanceSorting: Bool,
                paging: Bool, projection: Bool, counting: Bool, updateOperations: Set<UpdateOperation.Kind>, writes: Bool) {
        self.filterOperators = filterOperators
        self.nestedPaths = nestedPaths
        self.sorting = sorting
        self.distanceSorting = distanceSorting
        self.paging = paging
        self.projection = projection
        self.counting = counting
        self.updateOperations = updateOperations
        self.writes = writes
    }

    /// A source that can only list everything: the evaluator does all query work.
    public static let scanOnly = ConnectorCapabilities(
        filterOperators: [], nestedPaths: false, sorting: false, distanceSorting: false, paging: false,
        projection: false, counting: false, updateOperations: Set(UpdateOperation.Kind.allCases), writes: true)
}
