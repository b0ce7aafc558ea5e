import CarDefinition
import ArgumentParser
import CarEngine

struct Package: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a connector's image build folder: CP4S configurations, Containerfile, definition, manifests.",
        discussion: """
            Writes DIR/connector.yaml, DIR/configurations/config.json and lang_en.json (generated from the \
            definition's connector and parameters, merged with the deployment defaults as CP4S's build \
            script merges them), DIR/Containerfile (FROM scratch; scripts/build-image.sh fills DIR/rootfs), \
            and DIR/manifests/: the CP4S Connector resource, and a Kubernetes CronJob and Secret for \
            running the connector outside the CP4S operator. Exit 1 when the definition is invalid.
            """)

    @Argument(help: "The definition file.")
    var definition: String

    @Option(help: "The folder to write.")
    var out: String

    @Option(help: "The image tag, the image's version label (default: the connector's version).")
    var tag: String?

    @Option(help: "The connector release, the image's release label and the Connector's version (default: the connector's version).")
    var release: String?

    @Option(help: "The image reference the manifests name (default: isc-car-connector-NAME:TAG).")
    var image: String?

    @Option(help: "The image's vendor label.")
    var vendor = "IBM"

    @Option(help: "The Connector resource's creator.")
    var creator = "IBM"

    @Option(help: "CONNECTION_NAME in the CronJob (default: the connector's name).")
    var source: String?

    @Option(name: .customLong("car-service-url"), help: "CAR_SERVICE_URL in the CronJob.")
    var carServiceURL = "https://CP4S-HOST/api/car/v2"

    func run() throws {
        var options = PackageOptions()
        options.tag = tag
        options.release = release
        options.image = image
        options.vendor = vendor
        options.creator = creator
        options.source = source
        options.carServiceURL = carServiceURL
        let (output, code) = PackageCommand.run(definitionPath: definition, out: out, options: options)
        FileHandleOutput.standardOutput(output, terminator: "")
        if code != 0 { throw ExitCode(code) }
    }
}
