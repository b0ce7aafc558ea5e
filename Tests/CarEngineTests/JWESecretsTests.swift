import CarSimulators
import LoopbackHTTP
import Testing

@testable import CarDefinition
@testable import CarEngine
@testable import MappingDSL

/// The fixtures of scripts/gen-jwe-fixtures.py: keys and tokens made with jwcrypto.
enum JWEFixtures {
    static let directory = Repo.fixtures + "/jwe"
    static let secrets = directory + "/secrets"

    static let manifest: JSON = (try? JSONParser.parse(try FileIO.read(directory + "/manifest.json"))) ?? .null
    static let secretValues: [String: String] = {
        let json = (try? JSONParser.parse(try FileIO.read(directory + "/secrets-values.json"))) ?? .null
        var out: [String: String] = [:]
        for (k, v) in json.objectValue ?? JSONObject() { out[k] = v.stringValue }
        return out
    }()

    static var tokens: [JSON] { manifest["tokens"]?.arrayValue ?? [] }

    static func keyJSON(_ name: String) -> JSON { manifest["keys"]?[name] ?? .null }

    static func key(_ name: String) throws -> JWK { try JWK.parse(json: keyJSON(name)) }

    static func token(_ name: String) -> String {
        tokens.first { $0["name"]?.stringValue == name }?["token"]?.stringValue ?? ""
    }

    /// A scratch secrets directory with the given files (`.jwk/key.jwk` for the key).
    static func directory(_ name: String, files: [String: String]) throws -> String {
        let dir = Repo.temporaryPath("jwe-" + name)
        _ = try ChildProcess.run(["/bin/rm", "-rf", dir])
        _ = try ChildProcess.run(["/bin/mkdir", "-p", dir + "/.jwk"])
        for (file, content) in files { try FileIO.write(Array(content.utf8), to: dir + "/" + file) }
        return dir
    }

    static func remove(_ dir: String) {
        _ = try? ChildProcess.run(["/bin/rm", "-rf", dir])
    }

    static func keyText(_ name: String) -> String { JSONWriter().string(keyJSON(name)) }
}

/// The RunFailure that reading a secrets directory throws, or `nil`.
private func failure(reading dir: String) -> RunFailure? {
    do { _ = try SecretFiles.read(dir) } catch { return error }
    return nil
}

/// The JWEError that decrypting throws, or `nil`.
private func jweFailure(_ token: String, _ key: JWK) -> JWEError? {
    do { _ = try JWE.decrypt(token, key: key) } catch { return error }
    return nil
}

/// `token` with one character of part `index` changed.
private func tamper(_ token: String, part index: Int) -> String {
    var parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    var chars = Array(parts[index])
    let i = chars.count / 2
    chars[i] = chars[i] == "A" ? "B" : "A"
    parts[index] = String(chars)
    return parts.joined(separator: ".")
}

@Suite("JWE secret files")
struct JWESecretsTests {
    @Test func everyFixtureTokenDecryptsToItsPlaintext() throws {
        #expect(JWEFixtures.tokens.count >= 34)
        for entry in JWEFixtures.tokens {
            let name = entry["name"]?.stringValue ?? "?"
            let key = try JWEFixtures.key(entry["key"]?.stringValue ?? "")
            do {
                let text = try JWE.decryptText(entry["token"]?.stringValue ?? "", key: key)
                #expect(text == entry["plaintext"]?.stringValue, "\(name)")
            } catch {
                Issue.record("\(name): \(error.reason)")
            }
        }
    }

    @Test func theFixtureDirectoryDecryptsAndSkipsTheKeyDirectory() throws {
        let values = try SecretFiles.read(JWEFixtures.secrets)
        #expect(values == JWEFixtures.secretValues)
        #expect(values.keys.sorted() == ["CAR_SERVICE_PASSWORD", "CONFIGURATION_AUTH_PASSWORD"])
        #expect(values["CAR_SERVICE_PASSWORD"] == "cär-pässwörd")
    }

    @Test func aWrongKeyNamesTheFileAndNotTheSecret() throws {
        let token = JWEFixtures.token("RSA-OAEP-256/A256GCM with rsa")
        let dir = try JWEFixtures.directory(
            "wrong-key", files: ["CAR_SERVICE_PASSWORD": token + "\n", ".jwk/key.jwk": JWEFixtures.keyText("rsa-other")])
        defer { JWEFixtures.remove(dir) }
        let error = try #require(failure(reading: dir))
        #expect(error.exitCode == 2)
        #expect(
            error.message
                == "the secret file \(dir)/CAR_SERVICE_PASSWORD cannot be decrypted with \(dir)/.jwk/key.jwk: decryption failed (a wrong key or an altered token)"
        )
        #expect(!error.message.contains("pässwörd"))
        let d = JWEFixtures.keyJSON("rsa-other")["d"]?.stringValue ?? "?"
        #expect(!error.message.contains(String(d.prefix(16))))
    }

    @Test func truncatedAndTamperedTokensFail() throws {
        let key = try JWEFixtures.key("rsa")
        for name in ["RSA-OAEP-256/A256GCM with rsa", "RSA-OAEP-256/A128CBC-HS256 with rsa"] {
            let token = JWEFixtures.token(name)
            #expect(jweFailure(token, key) == nil)
            #expect(jweFailure(String(token.prefix(token.count / 2)), key)?.reason.hasPrefix("not a JWE compact token") == true, "\(name)")
            // Ciphertext (part 3) and tag (part 4) altered, and the tag cut short.
            #expect(jweFailure(tamper(token, part: 3), key) == .decryptionFailed, "\(name)")
            #expect(jweFailure(tamper(token, part: 4), key) == .decryptionFailed, "\(name)")
            #expect(jweFailure(tamper(token, part: 1), key) == .decryptionFailed, "\(name)")
            #expect(jweFailure(String(token.dropLast(4)), key) != nil, "\(name)")
        }
        // The protected header is authenticated too (it is the AAD).
        let direct = JWEFixtures.token("dir/A256GCM with dir-A256GCM")
        let header = Base64.decodeURLSafe(direct.split(separator: ".")[0]) ?? []
        let altered = String(decoding: header, as: UTF8.self).replacing("}", with: ", \"kid\": \"x\"}")
        let reencoded = Base64.encode(Array(altered.utf8)).replacing("=", with: "").replacing("+", with: "-").replacing("/", with: "_")
        let token = ([reencoded] + direct.split(separator: ".", omittingEmptySubsequences: false).dropFirst().map(String.init)).joined(
            separator: ".")
        #expect(jweFailure(token, try JWEFixtures.key("dir-A256GCM")) == .decryptionFailed)
    }

    @Test func unsupportedHeadersAndKeysAreRefusedClearly() throws {
        let rsa = try JWEFixtures.key("rsa")
        func token(_ header: String) -> String {
            Base64.encode(Array(header.utf8)).replacing("=", with: "").replacing("+", with: "-").replacing("/", with: "_")
                + ".AAAA.AAAA.AAAA.AAAA"
        }
        #expect(
            jweFailure(token(#"{"alg":"PBES2-HS256+A128KW","enc":"A128GCM"}"#), rsa)?.reason.hasPrefix(
                "the token's alg 'PBES2-HS256+A128KW' is not supported") == true)
        #expect(
            jweFailure(token(#"{"alg":"RSA-OAEP","enc":"A128CTR"}"#), rsa)?.reason.hasPrefix("the token's enc 'A128CTR' is not supported")
                == true)
        #expect(
            jweFailure(token(#"{"alg":"RSA-OAEP","enc":"A128GCM","crit":["exp"],"exp":1}"#), rsa)?.reason
                == "the token has critical header parameters car does not implement (crit: exp)")
        #expect(
            jweFailure(token(#"{"alg":"RSA-OAEP","enc":"A128GCM","zip":"GZ"}"#), rsa)?.reason
                == "the token's zip is not supported (only DEF)")
        #expect(jweFailure(token(#"{"enc":"A128GCM"}"#), rsa)?.reason == "the protected header has no alg")
        let oct = try JWEFixtures.key("oct-128")
        #expect(
            jweFailure(JWEFixtures.token("RSA-OAEP/A256GCM with rsa"), oct)?.reason
                == "the key is an oct key; alg RSA-OAEP needs an RSA key")
        #expect(
            jweFailure(JWEFixtures.token("A128KW/A256GCM with oct-128"), rsa)?.reason
                == "the key is an RSA key; alg A128KW needs an oct key")
        #expect(
            jweFailure(JWEFixtures.token("ECDH-ES/A256GCM with ec-p384"), try JWEFixtures.key("ec-p256"))?.reason
                == "the header's epk is on curve 'P-384'; the key is on P-256")
        #expect(jweFailure(JWEFixtures.token("A256KW/A256GCM with oct-256"), oct)?.reason == "the oct key has 128 bits; A256KW needs 256")
        #expect(
            jweFailure(JWEFixtures.token("dir/A256GCM with dir-A256GCM"), oct)?.reason == "the oct key has 128 bits; enc A256GCM needs 256")
        // Keys that cannot be used.
        #expect(throws: JWEError("the key's kty 'OKP' is not supported (RSA, oct or EC)")) {
            try JWK.parse(#"{"kty":"OKP","crv":"X25519"}"#)
        }
        #expect(throws: JWEError("the RSA key is a public key (it has no d)")) {
            let n = JWEFixtures.keyJSON("rsa")["n"]?.stringValue ?? ""
            return try JWK.parse(#"{"kty":"RSA","e":"AQAB","n":"\#(n)"}"#)
        }
        #expect(throws: JWEError.self) { try JWK.parse("not json") }
    }

    @Test func aPlainFileBesideAKeyIsAnError() throws {
        let dir = try JWEFixtures.directory(
            "plain-with-key",
            files: [
                "CAR_SERVICE_PASSWORD": JWEFixtures.token("RSA-OAEP-256/A256GCM with rsa"), "CONFIGURATION_AUTH_PASSWORD": "admin\n",
                ".jwk/key.jwk": JWEFixtures.keyText("rsa"),
            ])
        defer { JWEFixtures.remove(dir) }
        let error = try #require(failure(reading: dir))
        #expect(error.exitCode == 2)
        #expect(error.message.hasPrefix("the secret file \(dir)/CONFIGURATION_AUTH_PASSWORD is not a JWE compact token"))
        #expect(!error.message.contains("admin"))
    }

    @Test func withoutAKeyPlainFilesAreValuesAndTokensAreErrors() throws {
        let dir = try JWEFixtures.directory(
            "plain", files: ["CONFIGURATION_AUTH_PASSWORD": "admin\r\n\n", "CAR_SERVICE_PASSWORD": "pässwörd", ".hidden": "x"])
        defer { JWEFixtures.remove(dir) }
        #expect(try SecretFiles.read(dir) == ["CONFIGURATION_AUTH_PASSWORD": "admin", "CAR_SERVICE_PASSWORD": "pässwörd"])
        try FileIO.write(Array((JWEFixtures.token("dir/A128GCM with dir-A128GCM") + "\n").utf8), to: dir + "/TOKEN")
        let error = try #require(failure(reading: dir))
        #expect(error.exitCode == 2)
        #expect(error.message == "the secret file \(dir)/TOKEN holds a JWE token but there is no key at \(dir)/.jwk/key.jwk")
        #expect(failure(reading: dir + "/missing")?.message == "the secrets directory \(dir)/missing does not exist")
    }

    @Test func aKeyThatIsNotAJWKIsAnError() throws {
        let dir = try JWEFixtures.directory(
            "bad-key", files: ["CAR_SERVICE_PASSWORD": JWEFixtures.token("RSA-OAEP/A256GCM with rsa"), ".jwk/key.jwk": "{\"kty\":\"RSA\"}"])
        defer { JWEFixtures.remove(dir) }
        let error = try #require(failure(reading: dir))
        #expect(error.exitCode == 2)
        #expect(error.message == "the secrets key \(dir)/.jwk/key.jwk cannot be used: the RSA key has no n")
    }

    @Test func rawInflateReadsStoredBlocks() throws {
        let text = Array(String(repeating: "stored ", count: 20_000).utf8)
        let gzip = Gzip.wrap(text)
        let raw = Array(gzip[10..<(gzip.count - 8)])
        #expect(try RawInflate.inflate(raw, limit: 1 << 20) == text)
        #expect(throws: JWEError.self) { try RawInflate.inflate(raw, limit: 1000) }
        #expect(throws: JWEError.self) { try RawInflate.inflate(Array(raw.prefix(100)), limit: 1 << 20) }
    }

    @Test func aRunTakesItsPasswordsFromJWEFilesAndAWrongKeyExits2() async throws {
        var carOptions = CARSimulatorOptions()
        carOptions.databaseReady = true
        carOptions.password = try #require(JWEFixtures.secretValues["CAR_SERVICE_PASSWORD"])
        let car = try CARSimulator(options: carOptions)
        let datasource = try exampleRecordsServer(requests: Recorder<String>())
        defer {
            car.stop()
            datasource.stop()
        }
        func run(_ configure: (inout RunOptions) -> Void) async -> (Int32, CapturedLog) {
            var o = RunOptions(definitionPath: Repo.root + "/connectors/reference.yaml")
            o.environment = [
                "CAR_SERVICE_URL": car.baseURL, "CAR_SERVICE_KEY": "car-key", "CONNECTION_NAME": "ref1",
                "CONFIGURATION_AUTH_URL": datasource.baseURL,
            ]
            o.carDelayMs = 5
            o.reportTime = 1_732_838_400_000
            o.logFormat = .json
            configure(&o)
            let log = CapturedLog()
            let code = await runCar(o, sink: { line in log.lines.withLock { $0.append(line) } })
            return (code, log)
        }
        let (code, log) = await run { $0.secretsDirectory = JWEFixtures.secrets }
        #expect(code == 0, "\(log.text)")
        #expect(car.calls.contains("DELETE /api/car/v2/source/ref1/full-import-in-progress"))
        // CAR_SECRETS_DIR names the directory when no option does.
        let (envCode, envLog) = await run { $0.environment["CAR_SECRETS_DIR"] = JWEFixtures.secrets }
        #expect(envCode == 0, "\(envLog.text)")

        let dir = try JWEFixtures.directory(
            "run-wrong-key",
            files: [
                "CAR_SERVICE_PASSWORD": Repo.read(JWEFixtures.secrets + "/CAR_SERVICE_PASSWORD") ?? "",
                "CONFIGURATION_AUTH_PASSWORD": Repo.read(JWEFixtures.secrets + "/CONFIGURATION_AUTH_PASSWORD") ?? "",
                ".jwk/key.jwk": JWEFixtures.keyText("rsa-other"),
            ])
        defer { JWEFixtures.remove(dir) }
        let (wrong, wrongLog) = await run { $0.secretsDirectory = dir }
        #expect(wrong == 2)
        #expect(wrongLog.text.contains("the secret file \(dir)/CAR_SERVICE_PASSWORD cannot be decrypted"))
        let d = JWEFixtures.keyJSON("rsa-other")["d"]?.stringValue ?? "?"
        for secret in Array(JWEFixtures.secretValues.values) + [String(d.prefix(16))] {
            #expect(!wrongLog.all.contains { $0.contains(secret) })
        }
        for line in log.all + envLog.all {
            #expect(!line.contains("cär-pässwörd"))
        }
    }

    @Test func decryptedValuesAreRedactedFromTheLog() async throws {
        // A datasource that refuses the credentials: the failure message names the URL.
        let server = try HTTPServer { _ in .json(#"{"detail": "Invalid username/password."}"#, status: 403) }
        defer { server.stop() }
        let extra = "RSA-OAEP/A256GCM with rsa"
        let secret = try #require(JWEFixtures.tokens.first { $0["name"]?.stringValue == extra }?["plaintext"]?.stringValue)
        let dir = try JWEFixtures.directory(
            "redacted",
            files: [
                "CONFIGURATION_AUTH_PASSWORD": Repo.read(JWEFixtures.secrets + "/CONFIGURATION_AUTH_PASSWORD") ?? "",
                "SITE_TOKEN": JWEFixtures.token(extra), ".jwk/key.jwk": JWEFixtures.keyText("rsa"),
            ])
        defer { JWEFixtures.remove(dir) }
        var options = RunOptions(definitionPath: Repo.root + "/connectors/reference.yaml")
        // The secret is in the URL that the failure message names.
        options.environment = [
            "CONFIGURATION_AUTH_URL": server.baseURL + "/" + Network.percentEncode(secret), "DATASOURCE_CONNECTION_TEST": "true",
            "CAR_SECRETS_DIR": dir,
        ]
        options.logFormat = .json
        let log = CapturedLog()
        let code = await runCar(options, sink: { line in log.lines.withLock { $0.append(line) } })
        #expect(code == 53, "\(log.text)")
        #expect(log.text.contains(Redactor.mask), "\(log.text)")
        #expect(!log.text.contains(secret) && !log.text.contains(Network.percentEncode(secret)), "\(log.text)")
    }
}
