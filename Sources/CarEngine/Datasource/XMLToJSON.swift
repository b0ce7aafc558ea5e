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
        let parser = XMLParser(data: Data(bytes))
        let delegate = XMLToJSON()
        parser.delegate = delegate
        parser.shouldResolveExternalEntities = false
        guard parser.parse() else { return nil }
        return delegate.result
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
