import CarDefinition
import ArgumentParser
import CarEngine
import MappingDSL

struct SimEdit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edit",
        abstract: "Change records of a running reference datasource simulator (logged in its change log).",
        discussion: """
            car sim edit URL create assets '{"name": "web-9", "site": 2, "vulnerabilities": [1, 3]}'
            car sim edit URL update assets 9 '{"name": "web-09"}'
            car sim edit URL delete assets 9
            car sim edit URL link assets 9 vulnerabilities '{"add": [4], "remove": [1]}'
            """)

    @Argument(help: "The simulator's base URL.")
    var url: String

    enum Action: String, ExpressibleByArgument, CaseIterable {
        case create, update, delete, link
    }

    @Argument(help: "create, update, delete or link.")
    var action: Action

    @Argument(help: "The route (assets, sites, ...), then a pk, a field and JSON as the action needs.")
    var arguments: [String]

    func run() async throws {
        let request: HTTPRequest
        let base = url.hasSuffix("/") ? String(url.dropLast()) : url
        switch (action, arguments.count) {
        case (.create, 2):
            request = HTTPRequest(method: .post, url: "\(base)/_admin/\(arguments[0])/", body: Array(arguments[1].utf8))
        case (.update, 3):
            request = HTTPRequest(method: .patch, url: "\(base)/_admin/\(arguments[0])/\(arguments[1])/", body: Array(arguments[2].utf8))
        case (.delete, 2):
            request = HTTPRequest(method: .delete, url: "\(base)/_admin/\(arguments[0])/\(arguments[1])/")
        case (.link, 4):
            request = HTTPRequest(method: .post, url: "\(base)/_admin/\(arguments[0])/\(arguments[1])/\(arguments[2])/", body: Array(arguments[3].utf8))
        default:
            throw ValidationError("usage: create ROUTE JSON | update ROUTE PK JSON | delete ROUTE PK | link ROUTE PK FIELD JSON")
        }
        let response: HTTPResponse
        do {
            response = try await CurlTransport().send(request)
        } catch {
            throw ValidationError("\(url): \(error.message)")
        }
        Console.out(String(decoding: response.body, as: UTF8.self) + "\n")
        if !(200..<300).contains(response.status) { throw ExitCode(1) }
    }
}
