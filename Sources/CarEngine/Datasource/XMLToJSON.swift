import CarDefinition
import Foundation
import FoundationXML
import MappingDSL

/// XML responses as JSON: an element becomes an object with `@attribute` members, child
/// elements by name (repeated names become lists) and `#text`; an element with only text
/// becomes that text. The document is `{root-name: value}`.
final class XMLToJSON: NSObject, XMLParserDelegate {
    private final class Node {
        var name: String
        var attributes: [(String, String)]
        var children: [(String, JSON)] = []
        var text = ""
        init(name: String, attributes: [(String, String)]) {
            self.name = name
            self.attributes = attributes
        }
    }

    private var stack: [Node] = []
    private var result: JSON?

    static func convert(_ bytes: [UInt8]) -> JSON? {
        // libxml2 hands names on with the bytes it found, and Foundation's parser stops the
        // process on a name that is not UTF-8: a body in no other encoding must be UTF-8.
        guard String(validating: bytes, as: UTF8.self) != nil || declaresOtherEncoding(bytes) else { return nil }
        // A processing instruction without data (<?target?>) makes it read a null pointer.
        guard !hasProcessingInstructionWithoutData(bytes) else { return nil }
        let parser = XMLParser(data: Data(bytes))
        let delegate = XMLToJSON()
        parser.delegate = delegate
        parser.shouldResolveExternalEntities = false
        guard parser.parse() else { return nil }
        return delegate.result
    }

    /// Whether the body is in another encoding libxml2 converts to UTF-8: UTF-16 with a byte
    /// order mark, or a well-formed XML declaration naming a single-byte encoding.
    static func declaresOtherEncoding(_ bytes: [UInt8]) -> Bool {
        if bytes.starts(with: [0xFE, 0xFF]) || bytes.starts(with: [0xFF, 0xFE]) { return true }
        let head = String(decoding: bytes.prefix(128), as: UTF8.self)
        // XML's white space only: libxml2 reads no declaration with other spaces (and then UTF-8).
        let declaration = #/
            <\?xml [\x20\t\r\n]+ version [\x20\t\r\n]* = [\x20\t\r\n]* ["'] 1\.[0-9] ["']
            [\x20\t\r\n]+ encoding [\x20\t\r\n]* = [\x20\t\r\n]* ["'] ([A-Za-z0-9_\-]+) ["']
            /#
        guard let match = head.prefixMatch(of: declaration) else { return false }
        return ["iso-8859-1", "latin1", "windows-1252"].contains(match.output.1.lowercased())
    }

    /// Whether the bytes hold `<?target?>`: a target followed at once by `?>`.
    static func hasProcessingInstructionWithoutData(_ bytes: [UInt8]) -> Bool {
        var i = 0
        while i + 1 < bytes.count {
            defer { i += 1 }
            guard bytes[i] == UInt8(ascii: "<"), bytes[i + 1] == UInt8(ascii: "?") else { continue }
            var j = i + 2
            while j < bytes.count, bytes[j] != UInt8(ascii: "?"), bytes[j] > 0x20 { j += 1 }
            if j > i + 2, j + 1 < bytes.count, bytes[j] == UInt8(ascii: "?"), bytes[j + 1] == UInt8(ascii: ">") { return true }
        }
        return false
    }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName qName: String?,
                attributes attributeDict: [String: String] = [:])
    {
        stack.append(Node(name: elementName, attributes: attributeDict.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        stack.last?.text += string
    }

    /// CDATA sections are text (Qualys puts titles, CVE ids and results in them).
    func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
        stack.last?.text += String(decoding: CDATABlock, as: UTF8.self)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        guard let node = stack.popLast() else { return }
        let text = node.text.trimmingCharacters(in: .whitespacesAndNewlines)
        let value: JSON
        if node.attributes.isEmpty && node.children.isEmpty {
            value = .string(text)
        } else {
            var o = JSONObject()
            for (k, v) in node.attributes { o["@" + k] = .string(v) }
            var order: [String] = []
            var grouped: [String: [JSON]] = [:]
            for (k, v) in node.children {
                if grouped[k] == nil { order.append(k) }
                grouped[k, default: []].append(v)
            }
            for k in order {
                let values = grouped[k] ?? []
                o[k] = values.count == 1 ? values[0] : .array(values)
            }
            if !text.isEmpty { o["#text"] = .string(text) }
            value = .object(o)
        }
        if let parent = stack.last {
            parent.children.append((node.name, value))
        } else {
            result = [node.name: value]
        }
    }
}
