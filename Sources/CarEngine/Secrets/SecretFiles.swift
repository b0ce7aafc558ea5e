import CarDefinition
/// Secret files: one file per variable in a directory (`CAR_SERVICE_PASSWORD`,
/// `CONFIGURATION_AUTH_PASSWORD`, ...), as CP4S mounts them at `/etc/secrets`. Entries whose
/// names start with a dot are skipped (the key directory `.jwk`, and the `..data` links of a
/// Kubernetes secret volume).
///
/// With a key at `<dir>/.jwk/key.jwk`, every file is a JWE compact token, decrypted with the key
/// (what the framework does with jwcrypto). Without one, files are plain values. Unlike the
/// framework, which logs "Error extracting secrets" and drops every file secret on any error,
/// a file that cannot be read as it should is an error that names it (exit 2). Messages never
/// hold a secret or key material.
enum SecretFiles {
    /// The largest secret or key file read.
    static let maximumSize = 1 << 20

    /// The path of the key of a secrets directory.
    static func keyPath(_ directory: String) -> String {
        directory + "/.jwk/key.jwk"
    }

    /// The variables of a secrets directory and their values (decrypted, or plain with trailing
    /// line breaks removed). The caller adds every value to the redactor.
    static func read(_ directory: String) throws(RunFailure) -> [String: String] {
        guard DirectoryListing.exists(directory) else {
            throw RunFailure(.invalidParameter, "the secrets directory \(directory) does not exist")
        }
        let keyFile = keyPath(directory)
        var key: JWK?
        if DirectoryListing.exists(keyFile) {
            let text: String
            do { text = String(decoding: try FileIO.read(keyFile, limit: maximumSize), as: UTF8.self) } catch {
                throw RunFailure(.invalidParameter, "the secrets key \(keyFile) cannot be read: \(error)")
            }
            do { key = try JWK.parse(text) } catch {
                throw RunFailure(.invalidParameter, "the secrets key \(keyFile) cannot be used: \(error.reason)")
            }
        }
        var out: [String: String] = [:]
        for name in DirectoryListing.names(directory).sorted() where !name.hasPrefix(".") {
            let path = directory + "/" + name
            // Directories and unreadable entries are not secrets.
            guard let bytes = try? FileIO.read(path, limit: maximumSize) else { continue }
            var text = String(decoding: bytes, as: UTF8.self)
            while let last = text.last, last.isNewline { text.removeLast() }
            if let key {
                let token = text.trimmingWhiteSpace
                guard JWE.looksLikeCompact(token) else {
                    throw RunFailure(
                        .invalidParameter,
                        "the secret file \(path) is not a JWE compact token (with a key at \(keyFile), every secret file must be one)")
                }
                do { out[name] = try JWE.decryptText(token, key: key) } catch {
                    throw RunFailure(.invalidParameter, "the secret file \(path) cannot be decrypted with \(keyFile): \(error.reason)")
                }
            } else {
                if JWE.looksLikeCompact(text.trimmingWhiteSpace) {
                    throw RunFailure(.invalidParameter, "the secret file \(path) holds a JWE token but there is no key at \(keyFile)")
                }
                out[name] = text
            }
        }
        return out
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and line breaks.
    fileprivate var trimmingWhiteSpace: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
