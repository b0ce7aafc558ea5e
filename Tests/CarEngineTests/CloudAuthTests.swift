import Crypto
import LoopbackHTTP
import Locking
import Testing
import _CryptoExtras

@testable import CarDefinition
@testable import CarEngine
@testable import MappingDSL

/// What the cloud and EDR connectors need of requests: SigV4 on the wire, a JWT bearer grant
/// against a token endpoint that checks what Google's checks, a token answered as plain text,
/// per-endpoint hosts and auth, ids fetched in batches as repeated parameters.
@Suite("Cloud auth and fetching by listed ids")
struct CloudAuthTests {
    @Test func sigV4SignsTheRequestAsItGoesOnTheWire() async throws {
        let seen = Locked<[HTTPServerRequest]>([])
        let server = try HTTPServer { r in
            seen.withLock { $0.append(r) }
            return .json("{\"items\": [{\"id\": \"i-1\"}]}")
        }
        defer { server.stop() }
        let h = try Harness(definition(server.baseURL, auth: """
            {type: aws_sigv4, access_key_id: AKIDEXAMPLE, secret_access_key: "${secret}", session_token: tok-123, region: us-east-1, service: ec2}
            """, endpoints: "  items: {method: POST, path: /, query: {Action: DescribeInstances}, body: {form: {Version: \"2016-11-15\"}}, records: $.items}"),
            values: ["secret": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"])
        #expect(try await h.readAll("items") == [["id": "i-1"]])
        let request = try #require(seen.withLock { $0.first })
        let date = try #require(request.header("X-Amz-Date"))
        #expect(request.header("X-Amz-Security-Token") == "tok-123")
        // Recomputed from what arrived, with botocore's algorithm (tested against botocore's own vectors).
        let signer = SigV4Signer(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: "tok-123",
                                 region: "us-east-1", service: "ec2")
        let signedNames = ["accept", "content-type", "host", "x-amz-date", "x-amz-security-token"]
        let headers = request.headers.filter { signedNames.contains($0.name.lowercased()) }
        let time = try #require(Self.amzDate(date))
        let expected = signer.headers(method: request.method, url: server.baseURL + request.target,
                                      headers: headers.filter { !$0.name.lowercased().hasPrefix("x-amz") }, body: request.body, timeMs: time)
        #expect(request.header("Authorization") == expected.first { $0.name == "Authorization" }?.value)
        #expect(request.header("Authorization")?.contains("SignedHeaders=accept;content-type;host;x-amz-date;x-amz-security-token") == true)
        #expect(!h.log.text.contains("wJalrXUtnFEMI"))
    }

    @Test func aJWTBearerGrantAsGoogleChecksIt() async throws {
        let file = try JSONParser.parse(try #require(Repo.read(Repo.fixtures + "/signing/jwt.json")))
        let publicKey = try _RSA.Signing.PublicKey(pemRepresentation: try #require(file["public_key"]?.stringValue))
        let grants = Locked(0)
        let server = try HTTPServer { r in
            if r.path == "/token" {
                // What Google's token endpoint checks: the grant type, an RS256 assertion signed by
                // the key, for this audience, with iat/exp at most an hour apart.
                let form = Dictionary(r.text.split(separator: "&").map { p -> (String, String) in
                    let kv = p.split(separator: "=", maxSplits: 1).map { PercentDecoding.decode(String($0)) }
                    return (kv[0], kv.count > 1 ? kv[1] : "")
                }, uniquingKeysWith: { a, _ in a })
                guard form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer", let jwt = form["assertion"] else { return .json("{}", status: 400) }
                let parts = jwt.split(separator: ".").map(String.init)
                guard parts.count == 3, let sig = Self.base64URLDecode(parts[2]), let claimsBytes = Self.base64URLDecode(parts[1]),
                    let claims = try? JSONParser.parse(claimsBytes),
                    publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: sig), for: Array((parts[0] + "." + parts[1]).utf8), padding: .insecurePKCS1v1_5),
                    claims["aud"]?.stringValue?.hasSuffix("/token") == true, claims["iss"] == "svc@proj.iam.gserviceaccount.com",
                    let iat = claims["iat"]?.doubleValue, let exp = claims["exp"]?.doubleValue, exp - iat <= 3600
                else { return .json("{\"error\": \"invalid_grant\"}", status: 400) }
                grants.withLock { $0 += 1 }
                return .json("{\"access_token\": \"ya29.test-token\", \"expires_in\": 3599, \"token_type\": \"Bearer\"}")
            }
            return r.header("Authorization") == "Bearer ya29.test-token" ? .json("{\"assets\": [{\"name\": \"a\"}]}") : .json("{}", status: 401)
        }
        defer { server.stop() }
        let h = try Harness(definition(server.baseURL, auth: """
            {type: oauth2_jwt_bearer, token_url: "\(server.baseURL)/token", issuer: svc@proj.iam.gserviceaccount.com, private_key: "${secret}", scope: "https://www.googleapis.com/auth/cloud-platform"}
            """, endpoints: "  items: {path: /v1/assets, records: $.assets}"), values: ["secret": .string(try #require(file["private_key_pkcs8"]?.stringValue).replacing("\n", with: "\\n"))])
        #expect(try await h.readAll("items") == [["name": "a"]])
        #expect(try await h.readAll("items") == [["name": "a"]])
        #expect(grants.withLock { $0 } == 1)
        #expect(!h.log.text.contains("ya29.test-token"))
    }

    /// Qualys: the API server with basic auth, the gateway with a token a login answers as
    /// plain text (201), per endpoint.
    @Test func endpointsWithTheirOwnHostAndAuthAndATextToken() async throws {
        let gateway = try HTTPServer { r in
            if r.path == "/auth" { return HTTPServerResponse(status: 201, headers: [("Content-Type", "text/plain")], body: Array("eyJ0ZXh0LXRva2VuIn0\n".utf8)) }
            return r.header("Authorization") == "Bearer eyJ0ZXh0LXRva2VuIn0" ? .json("[{\"id\": 7}]") : .json("{}", status: 401)
        }
        defer { gateway.stop() }
        let api = try HTTPServer { r in
            r.header("Authorization") == "Basic " + Base64.encode(Array("u:pw-secret".utf8)) ? .json("[{\"id\": 1}]") : .json("{}", status: 401)
        }
        defer { api.stop() }
        let endpoints = """
              items: {path: /hosts}
              assets:
                path: /am/assets
                base_url: "\(gateway.baseURL)"
                auth: {type: session, login: {method: POST, path: "\(gateway.baseURL)/auth", body: {form: {username: u, password: "${secret}", token: "true"}}}, token: text, prefix: "Bearer "}
            """
        let h = try Harness(definition(api.baseURL, auth: "{type: basic, username: u, password: \"${secret}\"}", endpoints: endpoints), values: ["secret": "pw-secret"])
        #expect(try await h.readAll("items") == [["id": 1]])
        #expect(try await h.readAll("assets") == [["id": 7]])
        #expect(!h.log.text.contains("eyJ0ZXh0LXRva2VuIn0"))
    }

    /// CrowdStrike: a query endpoint lists ids, the entities endpoint answers records for
    /// ?ids=a&ids=b, in batches.
    @Test func recordsFetchedByTheIdsAnotherEndpointLists() async throws {
        let seen = Locked<[String]>([])
        let server = try HTTPServer { r in
            seen.withLock { $0.append(r.target) }
            if r.path == "/devices/queries/devices/v1" {
                let offset = Int(r.queryValue("offset") ?? "0") ?? 0
                let ids = offset == 0 ? ["d1", "d2", "d3"] : offset == 3 ? ["d4"] : []
                return .json(JSONWriter().string(["resources": .array(ids.map { .string($0) }), "meta": ["pagination": ["total": 4]]]))
            }
            let ids = r.query.filter { $0.name == "ids" }.map(\.value)
            return .json(JSONWriter().string(["resources": .array(ids.map { ["device_id": .string($0)] })]))
        }
        defer { server.stop() }
        let endpoints = """
              host_ids:
                path: /devices/queries/devices/v1
                records: $.resources
                pagination: {type: offset, offset_param: offset, limit_param: limit, limit: 3, total: $.meta.pagination.total}
              items:
                ids_from: host_ids
                path: /devices/entities/devices/v2
                by_ids: {query: {ids: "${ids}"}, max_ids: 2}
                records: $.resources
                id: $.device_id
            """
        let h = try Harness(definition(server.baseURL, endpoints: endpoints))
        #expect(try await h.readAll("items").map { $0["device_id"]?.stringValue ?? "" }.sorted() == ["d1", "d2", "d3", "d4"])
        let entityRequests = seen.withLock { $0 }.filter { $0.hasPrefix("/devices/entities") }
        #expect(entityRequests.sorted() == ["/devices/entities/devices/v2?ids=d1&ids=d2", "/devices/entities/devices/v2?ids=d3", "/devices/entities/devices/v2?ids=d4"])
    }

    /// `20261101T100000Z` in epoch ms.
    static func amzDate(_ d: String) -> Int64? {
        let c = Array(d)
        guard c.count == 16 else { return nil }
        let iso: String = String(c[0..<4]) + "-" + String(c[4..<6]) + "-" + String(c[6..<8]) + "T" + String(c[9..<11]) + ":" + String(c[11..<13]) + ":" + String(c[13..<15]) + "Z"
        return ISO8601.parse(iso)
    }

    /// AWS: a task list per cluster, tasks described per cluster by numbered ids; a form field
    /// that is null is left out (no NextToken on the first page).
    @Test func numberedListsNullFormFieldsAndIdsListedPerParent() async throws {
        let seen = Locked<[String]>([])
        let server = try HTTPServer { r in
            seen.withLock { $0.append(r.path + " " + r.text) }
            if r.path == "/clusters" { return .json("{\"clusters\": [\"c1\", \"c2\"]}") }
            if r.path == "/tasks/list" {
                let cluster = r.text.contains("cluster=c1") ? "c1" : "c2"
                return .json(cluster == "c1" ? "{\"arns\": [\"t1\", \"t2\"]}" : "{\"arns\": [\"t3\"]}")
            }
            // Describe: the numbered ids of one cluster.
            let ids = r.text.split(separator: "&").filter { $0.hasPrefix("Task.") }.map { String($0.split(separator: "=")[1]) }
            let cluster = r.text.split(separator: "&").first { $0.hasPrefix("cluster=") }.map { String($0.dropFirst(8)) } ?? "?"
            return .json(JSONWriter().string(["tasks": .array(ids.map { ["arn": .string($0), "cluster": .string(cluster)] })]))
        }
        defer { server.stop() }
        let endpoints = """
              clusters: {path: /clusters, records: $.clusters}
              task_ids:
                for_each: {endpoint: clusters, as: cluster}
                method: POST
                path: /tasks/list
                body: {form: {cluster: "${cluster}", NextToken: "${cursor}"}}
                records: $.arns
              items:
                ids_from: task_ids
                method: POST
                path: /tasks/describe
                by_ids: {body: {form: {cluster: "${cluster}", "Task.{n}": "${ids}"}}, max_ids: 10}
                records: $.tasks
                id: $.arn
            """
        let h = try Harness(definition(server.baseURL, endpoints: endpoints))
        let tasks = try await h.readAll("items")
        #expect(tasks.map { "\($0["cluster"]?.stringValue ?? "")/\($0["arn"]?.stringValue ?? "")" } == ["c1/t1", "c1/t2", "c2/t3"])
        let requests = seen.withLock { $0 }
        #expect(requests.contains("/tasks/describe cluster=c1&Task.1=t1&Task.2=t2"), "\(requests)")
        #expect(requests.contains("/tasks/list cluster=c1"), "\(requests)")
    }

    static func base64URLDecode(_ s: String) -> [UInt8]? {
        var t = s.replacing("-", with: "+").replacing("_", with: "/")
        while t.count % 4 != 0 { t += "=" }
        return Base64.decode(t)
    }
}
