/// An error while evaluating an expression: a value of the wrong type, a failed conversion.
public struct EvalError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    /// Where in the expression text.
    public var span: Span

    public init(_ message: String, span: Span) {
        self.message = message
        self.span = span
    }

    public var description: String { message }
}

/// Supplies functions that need the engine (lookups into other endpoints and the like).
/// A class: an `EvalContext` is copied for every element a lambda sees, and a reference is one
/// count to keep, where a struct's fields are several.
public protocol ExpressionHost: AnyObject, Sendable {
    /// Calls the host function `name` with evaluated arguments.
    func call(_ name: String, _ arguments: [JSON]) throws -> JSON
}

/// What an expression is evaluated against.
public struct EvalContext: Sendable {
    /// `$`: the record.
    public var document: JSON
    /// `@`: the current item (of a fan-out, or of `map`/`filter`).
    public var current: JSON
    /// The values of the scope's variables, by slot.
    public var variables: [JSON]
    /// What `now_ms()` returns: fixed for a run so that output is reproducible.
    public var nowMs: Int64
    /// Host functions, if any.
    public var host: (any ExpressionHost)?

    public init(document: JSON = .null, current: JSON = .null, variables: [JSON] = [], nowMs: Int64 = 0,
                host: (any ExpressionHost)? = nil)
    {
        self.document = document
        self.current = current
        self.variables = variables
        self.nowMs = nowMs
        self.host = host
    }
}

/// The variables an expression may name, with their types and their slots in
/// `EvalContext.variables`.
public struct Scope: Sendable {
    /// A variable of the scope.
    public struct Variable: Sendable {
        public var name: String
        public var type: TypeSet
        public var slot: Int
        public var summary: String
    }

    /// The variables by name.
    public private(set) var variables: [String: Variable] = [:]
    /// Whether `$` (the record) is available.
    public var allowsDocument: Bool
    /// Whether `@` (the current item) is available outside function arguments.
    public var allowsCurrent: Bool
    /// The functions.
    public var functions: FunctionTable

    public init(allowsDocument: Bool = true, allowsCurrent: Bool = false, functions: FunctionTable = .standard) {
        self.allowsDocument = allowsDocument
        self.allowsCurrent = allowsCurrent
        self.functions = functions
    }

    /// Adds a variable in the next free slot.
    public mutating func declare(_ name: String, type: TypeSet = .any, summary: String = "") {
        declare(name, type: type, slot: slotCount, summary: summary)
    }

    /// Adds a variable in a given slot (scopes that share one table of slots).
    public mutating func declare(_ name: String, type: TypeSet, slot: Int, summary: String = "") {
        guard variables[name] == nil else { return }
        variables[name] = Variable(name: name, type: type, slot: slot, summary: summary)
    }

    /// The number of slots an `EvalContext` for this scope needs.
    public var slotCount: Int { (variables.values.map(\.slot).max() ?? -1) + 1 }

    /// Variable values in slot order, `null` for names not given.
    public func values(_ named: [String: JSON]) -> [JSON] {
        var out = [JSON](repeating: .null, count: slotCount)
        for (name, v) in variables { if let value = named[name] { out[v.slot] = value } }
        return out
    }
}

/// A compiled expression: checked once, evaluated many times.
public struct CompiledExpression: Sendable {
    /// What a compiled expression holds, in one object: copying an expression (as every
    /// field of every mapped object does) counts one reference, not one per part.
    final class Storage: Sendable {
        let source: String
        let type: TypeSet
        let variables: Set<String>
        let functions: Set<String>
        let readsDocument: Bool
        let constant: JSON?
        let run: Thunk

        init(source: String, type: TypeSet, variables: Set<String>, functions: Set<String>, readsDocument: Bool, constant: JSON?, run: @escaping Thunk) {
            self.source = source
            self.type = type
            self.variables = variables
            self.functions = functions
            self.readsDocument = readsDocument
            self.constant = constant
            self.run = run
        }
    }

    let storage: Storage

    init(source: String, type: TypeSet, variables: Set<String>, functions: Set<String>, readsDocument: Bool, constant: JSON?, run: @escaping Thunk) {
        storage = Storage(source: source, type: type, variables: variables, functions: functions, readsDocument: readsDocument,
                          constant: constant, run: run)
    }

    /// The text it was compiled from.
    public var source: String { storage.source }
    /// Its static type.
    public var type: TypeSet { storage.type }
    /// The variables it names.
    public var variables: Set<String> { storage.variables }
    /// The functions it calls.
    public var functions: Set<String> { storage.functions }
    /// Whether it reads `$`.
    public var readsDocument: Bool { storage.readsDocument }
    /// Its value, when it is a constant.
    public var constant: JSON? { storage.constant }

    /// Evaluates the expression.
    public func evaluate(_ context: EvalContext) throws(EvalError) -> JSON {
        do {
            return try storage.run(context)
        } catch let error as EvalError {
            throw error
        } catch {
            throw EvalError("\(error)", span: Span(0, storage.source.utf8.count))
        }
    }
}

typealias Thunk = @Sendable (EvalContext) throws -> JSON

/// A value that always evaluates to the same JSON.
extension CompiledExpression {
    /// A constant expression.
    public static func constant(_ value: JSON, source: String = "") -> CompiledExpression {
        CompiledExpression(source: source, type: TypeSet.of(value), variables: [], functions: [], readsDocument: false,
                           constant: value, run: { _ in value })
    }
}
