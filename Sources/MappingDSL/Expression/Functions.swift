/// An error in a function's arguments found before evaluation (an invalid regular expression
/// literal, an unknown endpoint name), reported at that argument.
public struct ArgumentError: Error, Sendable {
    /// The argument's position.
    public var index: Int
    /// What is wrong.
    public var message: String

    public init(index: Int, _ message: String) {
        self.index = index
        self.message = message
    }
}

/// The implementation of a function.
public enum FunctionImplementation: Sendable {
    /// Evaluated arguments in, value out.
    case pure(@Sendable ([JSON], EvalContext) throws -> JSON)
    /// One evaluated argument in, value out; a null argument gives null without a call. No
    /// argument list is built: most calls in mappings are of this kind (`str`, `last_segment`).
    case unary(@Sendable (JSON) throws -> JSON)
    /// The first argument evaluated, the others evaluated per element with `@` bound to it.
    case lambda(@Sendable (JSON, Lambdas) throws -> JSON)
    /// Answered by the `ExpressionHost` of the context.
    case host
}

/// The per-element arguments of a call (`map(list, expr)`'s `expr`): `lambdas[0](item)`
/// evaluates the first with `@` bound to the item. Nothing is allocated per call.
public struct Lambdas: Sendable {
    let context: EvalContext
    let thunks: [@Sendable (EvalContext) throws -> JSON]

    /// How many there are.
    public var count: Int { thunks.count }

    /// One of them.
    public subscript(index: Int) -> Lambda { Lambda(context: context, thunk: thunks[index]) }
}

/// One per-element argument of a call, ready to evaluate on an element.
public struct Lambda {
    let context: EvalContext
    let thunk: @Sendable (EvalContext) throws -> JSON

    /// The argument evaluated with `@` bound to `item`.
    public func callAsFunction(_ item: JSON) throws -> JSON {
        var inner = context
        inner.current = item
        return try thunk(inner)
    }
}

/// A function of the expression language: its signature, documentation and implementation.
public struct FunctionSpec: Sendable {
    /// The name it is called by.
    public var name: String
    /// The signature as documented, e.g. `join(list, separator) -> string`.
    public var signature: String
    /// One line on what it does.
    public var summary: String
    /// An example call and its result, e.g. `join(['a', 'b'], ',')` → `"a,b"`.
    public var example: String
    /// The fewest arguments.
    public var minArguments: Int
    /// The most arguments; `nil` for any number.
    public var maxArguments: Int?
    /// The accepted types of each argument; the last entry applies to further arguments.
    public var parameters: [TypeSet]
    /// Arguments evaluated per element (with `@` bound), as in `map(list, expr)`.
    public var lambdaArguments: Set<Int>
    /// The result type from the argument types.
    public var returns: @Sendable ([TypeSet]) -> TypeSet
    /// Replaces the implementation when some arguments are literals (to precompile a regular
    /// expression, say) or rejects a literal argument; `nil` entries are non-literal arguments.
    public var specialize: (@Sendable ([JSON?]) throws(ArgumentError) -> FunctionImplementation?)?
    /// How it computes.
    public var implementation: FunctionImplementation

    public init(
        _ name: String, _ signature: String, summary: String, example: String, arguments: ClosedRange<Int>,
        variadic: Bool = false, parameters: [TypeSet], lambda: Set<Int> = [], returns: TypeSet,
        implementation: FunctionImplementation
    ) {
        self.init(name, signature, summary: summary, example: example, arguments: arguments, variadic: variadic,
                  parameters: parameters, lambda: lambda, returnsFrom: { _ in returns }, implementation: implementation)
    }

    public init(
        _ name: String, _ signature: String, summary: String, example: String, arguments: ClosedRange<Int>,
        variadic: Bool = false, parameters: [TypeSet], lambda: Set<Int> = [],
        returnsFrom: @escaping @Sendable ([TypeSet]) -> TypeSet, implementation: FunctionImplementation
    ) {
        self.name = name
        self.signature = signature
        self.summary = summary
        self.example = example
        self.minArguments = arguments.lowerBound
        self.maxArguments = variadic ? nil : arguments.upperBound
        self.parameters = parameters
        self.lambdaArguments = lambda
        self.returns = returnsFrom
        self.specialize = nil
        self.implementation = implementation
    }

    func parameterType(_ index: Int) -> TypeSet {
        guard !parameters.isEmpty else { return .any }
        return index < parameters.count ? parameters[index] : parameters[parameters.count - 1]
    }
}

/// A set of functions by name.
public struct FunctionTable: Sendable {
    public private(set) var functions: [String: FunctionSpec]

    public init(_ functions: [FunctionSpec] = []) {
        var table: [String: FunctionSpec] = [:]
        for f in functions { table[f.name] = f }
        self.functions = table
    }

    /// Adds or replaces a function.
    public mutating func add(_ spec: FunctionSpec) { functions[spec.name] = spec }

    public subscript(name: String) -> FunctionSpec? { functions[name] }

    /// The functions in name order.
    public var sorted: [FunctionSpec] { functions.values.sorted { $0.name < $1.name } }
}
