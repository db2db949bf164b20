import Foundation

extension Interpreter {
    /// Small helpers beyond the contract's core vocabulary: types, lists, math.
    func registerExtras() {
        register(Primitive("type", [Parameter("x")], summary: "The type name of a value.", example: "type([1])  # \"list\"") { args in
            .string(args["x"].typeName)
        })
        register(Primitive("keys", [Parameter("r", .record)], summary: "The field names of a record, in order.", example: "keys({a: 1})") { args in
            guard case .record(let r) = args["r"] else { return .nil }
            return .list(r.keys.map { .string($0) })
        })
        register(Primitive("append", [Parameter("xs", .list), Parameter("x")], summary: "A new list with x added at the end.", example: "append([1], 2)") { args in
            let items = try args["xs"].elements(for: "append")
            return .list(items + [args["x"]])
        })
        register(Primitive("map", [Parameter("xs"), Parameter("f", .function)], summary: "A list of f(x) for each element.",
                           example: "map([1, 2], fn(x) => x * 10)") { args in
            let items = try args["xs"].elements(for: "map")
            return .list(try items.map { try args.interpreter.call(args["f"], [$0]) })
        })
        register(Primitive("filter", [Parameter("xs"), Parameter("f", .function)], summary: "The elements for which f(x) is truthy.",
                           example: "filter(1...10, fn(x) => x % 2 == 0)") { args in
            let items = try args["xs"].elements(for: "filter")
            return .list(try items.filter { try args.interpreter.call(args["f"], [$0]).isTruthy })
        })
        register(Primitive("join", [Parameter("xs"), Parameter("sep", .string, default: .string(""))], summary: "The printed elements joined by sep.",
                           example: "join([1, 2], \", \")") { args in
            let items = try args["xs"].elements(for: "join")
            return .string(items.map { $0.printed }.joined(separator: try args.string("sep")))
        })
        register(Primitive("sum", [Parameter("xs")], summary: "The sum of a list of numbers.", example: "sum(1...4)  # 10") { args in
            let items = try args["xs"].elements(for: "sum")
            var total = 0.0
            for v in items {
                guard case .number(let n) = v else { throw PrimitiveError("sum(): elements must be numbers, got \(v.typeName)") }
                total += n
            }
            return .number(total)
        })
        for (name, summary) in [("min", "The smallest of the arguments (or of one list)."), ("max", "The largest of the arguments (or of one list).")] {
            register(Primitive(name, [], variadic: true, summary: summary, example: "\(name)(3, 1, 2)") { args in
                var items = args.rest
                if items.count == 1, items[0].length != nil { items = try items[0].elements(for: name) }
                var best: Double?
                for v in items {
                    guard case .number(let n) = v else { throw PrimitiveError("\(name)(): arguments must be numbers, got \(v.typeName)") }
                    if let b = best { best = name == "min" ? Swift.min(b, n) : Swift.max(b, n) } else { best = n }
                }
                guard let result = best else { throw PrimitiveError("\(name)() needs at least one number") }
                return .number(result)
            })
        }
        let math: [(String, String, (Double) -> Double)] = [
            ("abs", "The absolute value.", { Swift.abs($0) }), ("sqrt", "The square root.", { $0.squareRoot() }),
            ("floor", "Rounds down.", { $0.rounded(.down) }), ("ceil", "Rounds up.", { $0.rounded(.up) }),
            ("round", "Rounds to the nearest whole number (halves away from zero).", { $0.rounded() }),
            ("exp", "e to the power x.", { Foundation.exp($0) }), ("log", "The natural logarithm.", { Foundation.log($0) }),
        ]
        for (name, summary, f) in math {
            register(Primitive(name, [Parameter("x", .number)], summary: summary, example: "\(name)(2.5)") { args in
                .number(f(try args.number("x")))
            })
        }
        register(Primitive("pow", [Parameter("x", .number), Parameter("y", .number)], summary: "x to the power y.", example: "pow(2, 10)  # 1024") { args in
            .number(Foundation.pow(try args.number("x"), try args.number("y")))
        })
    }
}
