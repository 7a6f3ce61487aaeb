// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Causeway",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "causeway", targets: ["causeway"]),
        .library(name: "CausewayCore", targets: ["CausewayCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
    ],
    targets: [
        // The core: object model, query language, planner, evaluator, connector protocol, configuration.
        // No HTTP framework and no source-specific code.
        .target(
            name: "CausewayCore",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOPosix", package: "swift-nio"),
                "CPCRE2",
            ]
        ),
        // Embedded store and SQLite-backed collections.
        .target(
            name: "CausewaySQLite",
            dependencies: [
                "CausewayCore",
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Existing PostgreSQL tables and views (PostgresNIO).
        .target(
            name: "CausewayPostgres",
            dependencies: [
                "CausewayCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Existing HTTP/JSON APIs (AsyncHTTPClient).
        .target(
            name: "CausewayREST",
            dependencies: [
                "CausewayCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // PCRE2 (Debian: libpcre2-dev): `$regex` matching with match and depth limits (MongoDB's, so Parse's, dialect).
        .systemLibrary(name: "CPCRE2", pkgConfig: "libpcre2-8", providers: [.apt(["libpcre2-dev"])]),
        // OpenLDAP's libldap (Debian: libldap2-dev), with a small shim for what does not import into Swift 6.
        .systemLibrary(name: "CLDAP", pkgConfig: "ldap", providers: [.apt(["libldap2-dev"])]),
        // LDAP / Active Directory identity provider.
        .target(
            name: "CausewayLDAP",
            dependencies: ["CausewayCore", "CLDAP", .product(name: "Logging", package: "swift-log"), .product(name: "NIOPosix", package: "swift-nio")]
        ),
        // Parse LiveQuery: subscriptions, matching and permissions per subscriber, change sources (no transport).
        .target(
            name: "CausewayLiveQuery",
            dependencies: [
                "CausewayCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Parse REST dialect over Hummingbird 2 (and LiveQuery over its WebSocket upgrade).
        .target(
            name: "CausewayHTTP",
            dependencies: [
                "CausewayCore",
                "CausewayLiveQuery",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Thin executable: the only place that knows every connector kind.
        .executableTarget(
            name: "causeway",
            dependencies: [
                "CausewayCore",
                "CausewayHTTP",
                "CausewaySQLite",
                "CausewayPostgres",
                "CausewayLDAP",
                "CausewayREST",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Benchmark reference: a bare Hummingbird route encoding a similar object (no database).
        .executableTarget(
            name: "causeway-baseline",
            dependencies: ["CausewayCore", .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "AsyncHTTPClient", package: "async-http-client")]
        ),
        // Test support shared by every connector's tests: sample data and the pushdown conformance check.
        .target(
            name: "CausewayTesting",
            dependencies: ["CausewayCore", .product(name: "Logging", package: "swift-log")]
        ),
        // Test support for the suites that drive the HTTP API (HTTP, REST, LDAP): a gateway over a temporary
        // SQLite store and a Parse client on Hummingbird's test client.
        .target(
            name: "CausewayHTTPTesting",
            dependencies: [
                "CausewayCore", "CausewayHTTP", "CausewaySQLite",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "CausewayCoreTests",
            dependencies: [
                "CausewayCore", "CausewayTesting",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "CausewaySQLiteTests",
            dependencies: ["CausewayCore", "CausewaySQLite", "CausewayTesting", .product(name: "SQLiteNIO", package: "sqlite-nio")]
        ),
        .testTarget(
            name: "CausewayPostgresTests",
            dependencies: [
                "CausewayCore", "CausewayPostgres", "CausewayTesting", "CausewayHTTP", "CausewayLiveQuery",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "CausewayHTTPTests",
            dependencies: [
                "CausewayCore", "CausewayHTTP", "CausewaySQLite", "CausewayTesting", "CausewayHTTPTesting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
            ]
        ),
        .testTarget(
            name: "CausewayRESTTests",
            dependencies: [
                "CausewayCore", "CausewayREST", "CausewayTesting", "CausewayHTTPTesting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(
            name: "CausewayLiveQueryTests",
            dependencies: ["CausewayCore", "CausewayLiveQuery", "CausewayTesting", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "CausewayLDAPTests",
            dependencies: ["CausewayCore", "CausewayLDAP", "CausewayTesting", "CausewayHTTPTesting", .product(name: "Logging", package: "swift-log")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
