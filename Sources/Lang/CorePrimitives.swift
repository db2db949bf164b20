import Foundation

extension Interpreter {
    /// The largest list that `range` builds (bigger requests are errors, not out-of-memory crashes).
    static let maxListSize = 10_000_000

    func registerCore() {
        register(Primitive("print", [], variadic: true, summary: "Writes the values separated by spaces, then a newline.",
                           help: "Strings print raw; inside lists and records they are quoted.", example: "print(\"n =\", 3)") { args in
            args.interpreter.output.write(args.rest.map { $0.printed }.joined(separator: " ") + "\n")
            return .nil
        })
        register(Primitive("len", [Parameter("x")], summary: "The number of elements of a list, string, record, range or dataset.",
                           example: "len([1, 2, 3])  # 3") { args in
            guard let n = args["x"].length else { throw PrimitiveError("len() needs a list, string, record, range or dataset, got \(args["x"].typeName)") }
            return .number(Double(n))
        })
        register(Primitive("help", [Parameter("name", .any, default: .nil)], summary: "Help on a primitive or function; with no argument, the list of primitives.",
                           example: "help(\"resize\")") { args in
            args.interpreter.output.write(args.interpreter.helpText(for: args["name"]) + "\n")
            return .nil
        })
        register(Primitive("range", [Parameter("start", .integer), Parameter("end", .integer, default: .nil), Parameter("step", .integer, default: .number(1))],
                           summary: "The list start, start+step, ... below end; range(n) is 0 ... n-1.",
                           example: "range(0, 10, 3)  # [0, 3, 6, 9]") { args in
            var start = try args.int("start")
            var end = 0
            if case .nil = args["end"] { end = start; start = 0 } else { end = try args.int("end") }
            let step = try args.int("step")
            guard step != 0 else { throw PrimitiveError("range(): step must not be 0") }
            let n = step > 0 ? (end - start + step - 1) / step : (start - end - step - 1) / -step
            guard n <= Interpreter.maxListSize else { throw PrimitiveError("range(): \(n) elements is too many (at most \(Interpreter.maxListSize))") }
            return .list(stride(from: start, to: end, by: step).map { .number(Double($0)) })
        })
        register(Primitive("str", [Parameter("x")], summary: "The text that print shows for a value.", example: "str(2.5) + \"px\"") { args in
            .string(args["x"].printed)
        })
        register(Primitive("num", [Parameter("x", .either([.number, .string, .bool]))], summary: "A number parsed from a string (or a bool as 0/1).",
                           example: "num(\"3.5\") * 2") { args in
            switch args["x"] {
            case .number(let n): return .number(n)
            case .bool(let b): return .number(b ? 1 : 0)
            case .string(let s):
                guard let n = Double(s.trimmingCharacters(in: .whitespaces)), !s.isEmpty else { throw PrimitiveError("num(): cannot read \(Value.quote(s)) as a number") }
                return .number(n)
            default: return .nil
            }
        })
        registerExtras()
    }

    /// The help text for a value (primitive, user function, or a name as a string); the index for nil.
    public func helpText(for target: Value) -> String {
        switch target {
        case .nil:
            let width = (registered.map { $0.name.count }.max() ?? 0) + 2
            let lines = registered.sorted { $0.name < $1.name }.map { $0.name.padding(toLength: width, withPad: " ", startingAt: 0) + $0.summary }
            return "primitives (help(\"name\") or ?name for details):\n" + lines.map { "  " + $0 }.joined(separator: "\n")
        case .primitive(let p): return p.helpText
        case .function(let c): return "\(c.signature)\n  a user function defined at line \(c.decl.position.line)"
        case .string(let name):
            if let v = global(name), case .nil = v {} else if let v = global(name) {
                if case .primitive = v { return helpText(for: v) }
                if case .function = v { return helpText(for: v) }
                return "\(name): \(v.typeName) = \(v.repr)"
            }
            return "no primitive or name '\(name)'\(didYouMean(name, globals.names))"
        default:
            return "\(target.typeName): \(target.repr)"
        }
    }
}
