// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "car",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "car", targets: ["car"]),
        .library(name: "CarEngine", targets: ["CarEngine"]),
        .library(name: "MappingDSL", targets: ["MappingDSL"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .target(name: "MappingDSL"),
        .target(
            name: "CarEngine",
            dependencies: ["MappingDSL", .product(name: "Yams", package: "Yams")]
        ),
        .executableTarget(
            name: "car",
            dependencies: ["CarEngine", "MappingDSL", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "MappingDSLTests", dependencies: ["MappingDSL"]),
        .testTarget(
            name: "CarEngineTests",
            dependencies: ["CarEngine", "MappingDSL"],
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
