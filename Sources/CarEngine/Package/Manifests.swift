import CarDefinition
import MappingDSL

/// What an image and a deployment of a connector are made of, besides its configuration.
public struct PackageOptions: Sendable {
    /// The image tag (the image's `version` label); default the connector's version.
    public var tag: String?
    /// The connector release (the image's `release` label and the Connector's version); default the connector's version.
    public var release: String?
    /// The image reference the manifests name; default `isc-car-connector-<name>:<tag>`.
    public var image: String?
    /// The image's `vendor` label.
    public var vendor = "IBM"
    /// The Connector resource's `creator`.
    public var creator = "IBM"
    /// CONNECTION_NAME of the CronJob; default the connector's name.
    public var source: String?
    /// CAR_SERVICE_URL of the CronJob.
    public var carServiceURL = "https://CP4S-HOST/api/car/v2"

    public init() {}
}

/// The Containerfile, the CP4S `Connector` resource and a plain Kubernetes CronJob and Secret.
public enum Manifests {
    /// Where the image keeps the definition and the configurations.
    public static let definitionPath = "/opt/car/connector.yaml"
    /// The user the image runs as.
    public static let user = 1001
    /// A CronJob's job may run this long before Kubernetes stops it.
    public static let jobDeadlineSeconds = 3600
    /// A run missed by more than this is skipped.
    public static let startingDeadlineSeconds = 600
    /// Where the CronJob keeps state between runs (the dependency index): a persistent volume.
    public static let stateDirectory = "/var/lib/car"
    /// What the manifests hold where a value must be filled in.
    public static let placeholder = "CHANGE-ME"

    public static func imageName(_ d: ConnectorDefinition) -> String { "isc-car-connector-" + d.connector.name }
    public static func tag(_ d: ConnectorDefinition, _ o: PackageOptions) -> String { o.tag ?? d.connector.version }
    public static func release(_ d: ConnectorDefinition, _ o: PackageOptions) -> String { o.release ?? d.connector.version }
    public static func image(_ d: ConnectorDefinition, _ o: PackageOptions) -> String { o.image ?? "\(imageName(d)):\(tag(d, o))" }
    public static func resourceName(_ d: ConnectorDefinition) -> String { "car-" + d.connector.name }
    public static func schedule(_ d: ConnectorDefinition) -> String { d.connector.schedule ?? DeploymentDefaults.scheduleDefault }

    /// YAML and Containerfile strings: JSON's double-quoted form is valid in both.
    static func q(_ s: String) -> String { JSONWriter().string(.string(s)) }

    /// A FROM-scratch image of the build folder: `rootfs/` (the binary, its libraries, CA
    /// certificates, /etc/passwd, /tmp), the definition and the configurations.
    public static func containerfile(_ d: ConnectorDefinition, _ o: PackageOptions) -> String {
        """
        # The image of the \(d.connector.name) connector: car and what it links, nothing else.
        # Build context: this folder, after scripts/build-image.sh has assembled rootfs/.
        FROM scratch
        COPY rootfs/ /
        COPY connector.yaml \(definitionPath)
        COPY configurations/ /opt/car/configurations/
        USER \(user):\(user)
        WORKDIR /opt/car
        ENV HOME=/tmp SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
        LABEL vendor=\(q(o.vendor)) \\
              release=\(q(release(d, o))) \\
              version=\(q(tag(d, o))) \\
              name=\(q(imageName(d)))
        ENTRYPOINT ["/usr/local/bin/car", "run", \(q(definitionPath))]

        """
    }

    /// The CP4S `Connector` resource the operator deploys the image from.
    public static func connectorResource(_ d: ConnectorDefinition, _ o: PackageOptions) -> String {
        """
        apiVersion: connector.isc.ibm.com/v1
        kind: Connector
        metadata:
          name: \(resourceName(d))
        spec:
          type: "CAR"
          version: \(q(release(d, o)))
          creator: \(q(o.creator))
          image: \(q(image(d, o)))

        """
    }

    /// Variables of the parameters: (name, value, secret). Parameters with a default are left out.
    static func parameterVariables(_ d: ConnectorDefinition) -> [(String, String, Bool)] {
        d.parameters.compactMap { p in
            guard p.defaultValue == nil || p.secret, let name = ParameterKeys.environmentNames(p).first else { return nil }
            return (name, placeholder, p.secret)
        }
    }

    /// A Secret with CAR_SERVICE_PASSWORD and the secret parameters, as files for /etc/secrets.
    public static func secret(_ d: ConnectorDefinition) -> String {
        var out = """
            # Secret values of the \(d.connector.name) connector, mounted at /etc/secrets (one file per variable).
            apiVersion: v1
            kind: Secret
            metadata:
              name: \(resourceName(d))
              labels:
                app.kubernetes.io/name: \(resourceName(d))
            type: Opaque
            stringData:
              CAR_SERVICE_PASSWORD: \(q(placeholder))

            """
        for (name, value, secret) in parameterVariables(d) where secret { out += "  \(name): \(q(value))\n" }
        return out
    }

    /// A CronJob that runs the connector on its schedule outside the CP4S operator.
    public static func cronJob(_ d: ConnectorDefinition, _ o: PackageOptions) -> String {
        var env = [("CAR_SERVICE_URL", o.carServiceURL), ("CAR_SERVICE_KEY", placeholder), ("CONNECTION_NAME", o.source ?? d.connector.name),
                   ("CAR_STATE_DIR", stateDirectory)]
        for (name, value, secret) in parameterVariables(d) where !secret { env.append((name, value)) }
        let envText = env.map { "                - name: \($0.0)\n                  value: \(q($0.1))\n" }.joined()
        return """
            # The \(d.connector.name) connector on its schedule, outside the CP4S operator.
            apiVersion: batch/v1
            kind: CronJob
            metadata:
              name: \(resourceName(d))
              labels:
                app.kubernetes.io/name: \(resourceName(d))
            spec:
              schedule: \(q(schedule(d)))
              concurrencyPolicy: Forbid
              startingDeadlineSeconds: \(startingDeadlineSeconds)
              successfulJobsHistoryLimit: 3
              failedJobsHistoryLimit: 3
              jobTemplate:
                spec:
                  activeDeadlineSeconds: \(jobDeadlineSeconds)
                  backoffLimit: 0
                  template:
                    metadata:
                      labels:
                        app.kubernetes.io/name: \(resourceName(d))
                    spec:
                      restartPolicy: Never
                      securityContext:
                        runAsNonRoot: true
                        runAsUser: \(user)
                        runAsGroup: \(user)
                        fsGroup: \(user)
                      containers:
                        - name: connector
                          image: \(q(image(d, o)))
                          env:
            \(envText)              securityContext:
                            allowPrivilegeEscalation: false
                            readOnlyRootFilesystem: true
                            capabilities:
                              drop: ["ALL"]
                          volumeMounts:
                            - name: secrets
                              mountPath: /etc/secrets
                              readOnly: true
                            - name: tmp
                              mountPath: /tmp
                            - name: state
                              mountPath: \(stateDirectory)
                      volumes:
                        - name: secrets
                          secret:
                            secretName: \(resourceName(d))
                        - name: tmp
                          emptyDir: {}
                        # The dependency index between runs; without it every incremental import
                        # reads the dependent endpoints whole (correct, slower).
                        - name: state
                          persistentVolumeClaim:
                            claimName: \(resourceName(d))-state
            ---
            # The CronJob's state between runs (docs/incremental-imports.md).
            apiVersion: v1
            kind: PersistentVolumeClaim
            metadata:
              name: \(resourceName(d))-state
              labels:
                app.kubernetes.io/name: \(resourceName(d))
            spec:
              accessModes: ["ReadWriteOnce"]
              resources:
                requests:
                  storage: 1Gi

            """
    }
}
