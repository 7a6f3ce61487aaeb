#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A point on the Earth in degrees, as Parse's `GeoPoint`.
public struct GeoPoint: Hashable, Sendable {
    public var latitude: Double
    public var longitude: Double

    /// Radii Parse Server uses to convert distances.
    public static let earthRadiusMiles = 3958.8
    public static let earthRadiusKilometers = 6371.0

    public init(latitude: Double, longitude: Double) {
        self.latitude = latitude
        self.longitude = longitude
    }

    /// Validates ranges the way Parse does (latitude ±90, longitude ±180).
    public static func validated(latitude: Double, longitude: Double) throws(GatewayError) -> GeoPoint {
        guard latitude.isFinite, longitude.isFinite else {
            throw GatewayError(.incorrectType, "GeoPoint coordinates must be finite numbers.")
        }
        guard (-90...90).contains(latitude) else {
            throw GatewayError(.incorrectType, "GeoPoint latitude out of bounds: \(latitude) < -90.0 or > 90.0.")
        }
        guard (-180...180).contains(longitude) else {
            throw GatewayError(.incorrectType, "GeoPoint longitude out of bounds: \(longitude) < -180.0 or > 180.0.")
        }
        return GeoPoint(latitude: latitude, longitude: longitude)
    }

    /// Great-circle distance in radians (haversine formula).
    public func radians(to other: GeoPoint) -> Double {
        GeoPoint.haversineRadians(lat1: latitude, lon1: longitude, lat2: other.latitude, lon2: other.longitude)
    }

    public static func haversineRadians(lat1: Double, lon1: Double, lat2: Double, lon2: Double) -> Double {
        let d2r = Double.pi / 180
        let dLat = (lat2 - lat1) * d2r
        let dLon = (lon2 - lon1) * d2r
        let a = sin(dLat / 2) * sin(dLat / 2) + cos(lat1 * d2r) * cos(lat2 * d2r) * sin(dLon / 2) * sin(dLon / 2)
        return 2 * asin(min(1, sqrt(a)))
    }
}
