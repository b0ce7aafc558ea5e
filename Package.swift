// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "car",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "car", targets: ["car"]),
        .library(name: "CarEngine", targets: ["CarEngine"]),
        .library(name: "CarDefinition", targets: ["CarDefinition"]),
        .library(name: "MappingDSL", targets: ["MappingDSL"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .target(name: "MappingDSL"),
        // A value behind a pthread mutex (which ThreadSanitizer sees).
        .target(name: "Locking"),
        .target(name: "LoopbackHTTP", dependencies: ["Locking"]),
        // Definitions: YAML with locations, the format, checks, compilation. No network.
        .target(name: "CarDefinition", dependencies: ["MappingDSL", .product(name: "Yams", package: "Yams")]),
        .target(
            name: "CarEngine",
            dependencies: [
                "CarDefinition", "MappingDSL", "CCurl", "Locking",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Configuration", package: "swift-configuration"), .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "CarSimulators", dependencies: ["CarEngine", "CarDefinition", "MappingDSL", "LoopbackHTTP", "Locking", .product(name: "Logging", package: "swift-log")]),
        // car test: replayed datasource conversations against the CAR simulator.
        .target(name: "CarReplay", dependencies: ["CarEngine", "CarDefinition", "MappingDSL", "CarSimulators", "LoopbackHTTP", "Locking"]),
        .executableTarget(
            name: "car",
            dependencies: [
                "CarEngine", "CarDefinition", "MappingDSL", "CarSimulators", "CarReplay", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "MappingDSLTests", dependencies: ["MappingDSL"]),
        .testTarget(
            name: "CarEngineTests",
            dependencies: ["CarEngine", "CarDefinition", "MappingDSL", "LoopbackHTTP", "CarSimulators", "CarReplay", "Locking", .product(name: "Logging", package: "swift-log")],
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// libFuzzer targets (fuzz/, built and run by scripts/fuzz.sh into .build-fuzz): declared only
// when CAR_FUZZ is set, so that `swift build` and `swift test` neither build nor link them.
if Context.environment["CAR_FUZZ"] != nil {
    package.targets.append(.target(name: "CLibFuzzer", path: "fuzz/Sources/CLibFuzzer"))
    package.targets.append(.target(name: "FuzzSupport", dependencies: ["CLibFuzzer"], path: "fuzz/Sources/FuzzSupport"))
    let dependencies: [Target.Dependency] = ["FuzzSupport", "CarEngine", "CarDefinition", "MappingDSL"]
    for name in ["FuzzDefinition", "FuzzExpression", "FuzzJSONPath", "FuzzJSON", "FuzzXML", "FuzzMapping"] {
        package.targets.append(
            .executableTarget(name: name, dependencies: dependencies, path: "fuzz/Sources/\(name)"))
    }
}
