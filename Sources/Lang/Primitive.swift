/// The type a primitive's parameter accepts.
public indirect enum ParamType: CustomStringConvertible {
    case any, number, integer, string, bool, list, record, function
    /// A domain object whose `typeName` is the given name.
    case object(String)
    /// Any of several types.
    case either([ParamType])

    /// The name shown in signatures.
    public var description: String {
        switch self {
        case .any: return "any"
        case .number: return "number"
        case .integer: return "int"
        case .string: return "string"
        case .bool: return "bool"
        case .list: return "list"
        case .record: return "record"
        case .function: return "function"
        case .object(let name): return name
        case .either(let types): return types.map { $0.description }.joined(separator: "|")
        }
    }

    /// Whether `value` is of this type.
    public func accepts(_ value: Value) -> Bool {
        switch (self, value) {
        case (.any, _): return true
        case (.number, .number): return true
        case (.integer, .number(let n)): return n == n.rounded() && abs(n) < 9e15
        case (.string, .string), (.bool, .bool), (.record, .record): return true
        case (.list, .list), (.list, .range): return true
        case (.function, .function), (.function, .primitive): return true
        case (.object(let name), .object(let o)): return o.typeName == name
        case (.either(let types), _): return types.contains { $0.accepts(value) }
        default: return false
        }
    }
}

/// One parameter of a primitive: name, type and optional default.
public struct Parameter {
    /// The parameter name, usable as `name: value` in calls.
    public let name: String
    /// The accepted type.
    public let type: ParamType
    /// The default; nil means the argument is required. `.some(.nil)` defaults to nil.
    public let defaultValue: Value?

    /// A parameter; `defaultValue` nil makes it required.
    public init(_ name: String, _ type: ParamType = .any, default defaultValue: Value? = nil) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
    }
}

/// What a primitive's body gets: arguments bound to parameters, plus a way to call back into the interpreter.
public struct Arguments {
    /// The primitive being called.
    public let primitive: Primitive
    /// One value per parameter (defaults filled in).
    public let values: [Value]
    /// Extra positional arguments of a variadic primitive.
    public let rest: [Value]
    /// Named arguments that match no parameter, for primitives that take open-ended options.
    public var options: [(String, Value)] = []
    /// The interpreter running the call (to call functions, write output).
    public let interpreter: Interpreter

    /// The value of parameter `name`.
    public subscript(name: String) -> Value {
        guard let i = primitive.parameters.firstIndex(where: { $0.name == name }) else { return .nil }
        return values[i]
    }

    /// Parameter `name` as a number (the type was already checked when declared `.number`).
    public func number(_ name: String) throws -> Double {
        guard let n = self[name].number else { throw PrimitiveError("\(primitive.name)(): '\(name)' must be a number, got \(self[name].typeName)") }
        return n
    }

    /// Parameter `name` as an integer.
    public func int(_ name: String) throws -> Int {
        let n = try number(name)
        guard n == n.rounded(), abs(n) < 9e15 else { throw PrimitiveError("\(primitive.name)(): '\(name)' must be a whole number, got \(Value.format(n))") }
        return Int(n)
    }

    /// Parameter `name` as a string.
    public func string(_ name: String) throws -> String {
        guard let s = self[name].string else { throw PrimitiveError("\(primitive.name)(): '\(name)' must be a string, got \(self[name].typeName)") }
        return s
    }

    /// Parameter `name` as a domain object of Swift type `T`.
    public func object<T>(_ name: String, as type: T.Type) throws -> T {
        guard case .object(let o) = self[name], let t = o as? T else {
            throw PrimitiveError("\(primitive.name)(): '\(name)' has the wrong type, got \(self[name].typeName)")
        }
        return t
    }
}

/// A function implemented in Swift, with a signature that arguments are checked against, and help.
public final class Primitive {
    /// The name it is bound to.
    public let name: String
    /// Parameters in order.
    public let parameters: [Parameter]
    /// Whether extra positional arguments are collected in `Arguments.rest`.
    public let variadic: Bool
    /// Whether named arguments that match no parameter are collected in `Arguments.options`.
    public let acceptsOptions: Bool
    /// One-line summary.
    public let summary: String
    /// Longer help text.
    public let help: String
    /// An example call.
    public let example: String
    /// The implementation.
    public let body: (Arguments) throws -> Value

    /// A primitive; the help shows `summary`, `help` and `example`.
    public init(_ name: String, _ parameters: [Parameter], variadic: Bool = false, acceptsOptions: Bool = false, summary: String,
                help: String = "", example: String = "", body: @escaping (Arguments) throws -> Value) {
        self.name = name
        self.parameters = parameters
        self.variadic = variadic
        self.acceptsOptions = acceptsOptions
        self.summary = summary
        self.help = help
        self.example = example
        self.body = body
    }

    /// `resize(image: image, width: int, height: int, filter: string = "auto")`.
    public var signature: String {
        var parts = parameters.map { p -> String in
            var s = "\(p.name): \(p.type)"
            if let d = p.defaultValue { s += " = \(d.repr)" }
            return s
        }
        if variadic { parts.append("...") }
        if acceptsOptions { parts.append("option: value...") }
        return "\(name)(\(parts.joined(separator: ", ")))"
    }

    /// The full help text: signature, summary, details and example.
    public var helpText: String {
        var out = signature + "\n  " + summary
        if !help.isEmpty { out += "\n\n" + help.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n") }
        if !example.isEmpty { out += "\n\n  example: " + example }
        return out
    }

    /// Binds positional and named arguments to the parameters, checking count, names and types.
    func bind(positional: [Value], named: [(String, Value)], interpreter: Interpreter) throws -> Arguments {
        var values = [Value?](repeating: nil, count: parameters.count)
        var rest: [Value] = []
        var options: [(String, Value)] = []
        for (i, v) in positional.enumerated() {
            if i < parameters.count { values[i] = v }
            else if variadic { rest.append(v) }
            else {
                throw PrimitiveError("\(name)() takes at most \(parameters.count) argument\(parameters.count == 1 ? "" : "s"), got \(positional.count + named.count); usage: \(signature)")
            }
        }
        for (key, v) in named {
            guard let i = parameters.firstIndex(where: { $0.name == key }) else {
                if acceptsOptions { options.append((key, v)); continue }
                throw PrimitiveError("\(name)() has no parameter '\(key)'\(didYouMean(key, parameters.map { $0.name })); usage: \(signature)")
            }
            if values[i] != nil { throw PrimitiveError("\(name)() got argument '\(key)' twice; usage: \(signature)") }
            values[i] = v
        }
        var bound: [Value] = []
        for (i, p) in parameters.enumerated() {
            guard let v = values[i] ?? p.defaultValue else {
                throw PrimitiveError("\(name)() is missing argument '\(p.name)'; usage: \(signature)")
            }
            let isDefaultNil: Bool = { if case .nil = v, case .some(.nil) = p.defaultValue { return true }; return false }()
            if !isDefaultNil && !p.type.accepts(v) {
                throw PrimitiveError("\(name)() argument '\(p.name)' must be \(p.type), got \(v.typeName); usage: \(signature)")
            }
            bound.append(v)
        }
        var arguments = Arguments(primitive: self, values: bound, rest: rest, interpreter: interpreter)
        arguments.options = options
        return arguments
    }
}
