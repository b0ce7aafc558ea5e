import CarDefinition
import MappingDSL
import Locking

/// Replaces secrets in text before it reaches a log, a message or any output. Secrets are the
/// values of secret parameters and what is derived from them at run time (Basic credentials,
/// tokens from logins and token endpoints).
public final class Redactor: Sendable {
    private let secrets = Locked<[String]>([])
    public static let mask = "***"

    public init(_ initial: [String] = []) {
        for s in initial { add(s) }
    }

    /// Adds a secret (values shorter than 4 characters are not worth masking and would mask
    /// ordinary text).
    public func add(_ secret: String) {
        guard secret.count >= 4 else { return }
        // The secret, and the form it takes in URLs.
        let forms = Set([secret, Network.percentEncode(secret), URLs.encodeQuery(secret)])
        secrets.withLock { list in
            for form in forms where !list.contains(form) { list.append(form) }
            // Longest first, so that a secret containing another is masked whole.
            list.sort { $0.count > $1.count }
        }
    }

    /// The text with every secret replaced by `***`.
    public func redact(_ text: String) -> String {
        let list = secrets.withLock { $0 }
        var out = text
        for s in list where out.contains(s) { out = out.replacing(s, with: Self.mask) }
        return out
    }
}
