// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "car",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "car", targets: ["car"]),
        .library(name: "CarEngine", targets: ["CarEngine"]),
        .library(name: "MappingDSL", targets: ["MappingDSL"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .target(name: "MappingDSL"),
        .target(name: "LoopbackHTTP"),
        .target(
            name: "CarEngine",
            dependencies: [
                "MappingDSL", "CCurl", .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .target(name: "CarSimulators", dependencies: ["CarEngine", "MappingDSL", "LoopbackHTTP"]),
        .executableTarget(
            name: "car",
            dependencies: [
                "CarEngine", "MappingDSL", "CarSimulators", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // main.swift holds @main, and the target has more files (the commands).
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .testTarget(name: "MappingDSLTests", dependencies: ["MappingDSL"]),
        .testTarget(
            name: "CarEngineTests",
            dependencies: ["CarEngine", "MappingDSL", "LoopbackHTTP", "CarSimulators"],
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
