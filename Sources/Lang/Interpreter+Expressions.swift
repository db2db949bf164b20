extension Interpreter {
    func eval(_ expr: Expr, _ env: Environment?) throws -> Value {
        switch expr {
        case .literal(let v): return v
        case .variable(let ref): return try lookup(ref, env)
        case .binary(let op, let a, let b, let at):
            return try binary(op, try eval(a, env), try eval(b, env), at)
        case .and(let a, let b):
            let left = try eval(a, env)
            return left.isTruthy ? try eval(b, env) : left
        case .or(let a, let b):
            let left = try eval(a, env)
            return left.isTruthy ? left : try eval(b, env)
        case .not(let a): return .bool(!(try eval(a, env).isTruthy))
        case .negate(let a, let at):
            let v = try eval(a, env)
            guard case .number(let n) = v else { throw LangError.runtime("cannot negate \(v.typeName) (needs a number)", at: at) }
            return .number(-n)
        case .interpolation(let parts):
            var s = ""
            for part in parts {
                switch part {
                case .text(let t): s += t
                case .expr(let e): s += try eval(e, env).printed
                }
            }
            return .string(s)
        case .list(let items, _):
            var values: [Value] = []
            values.reserveCapacity(items.count)
            for item in items { values.append(try eval(item, env)) }
            return .list(values)
        case .record(let fields, _):
            var r = Record()
            for (k, e) in fields { r[k] = try eval(e, env) }
            return .record(r)
        case .range(let a, let b, let inclusive, let at):
            let lo = try eval(a, env), hi = try eval(b, env)
            guard case .number(let l) = lo, case .number(let h) = hi, l == l.rounded(), h == h.rounded(), abs(l) < 1e15, abs(h) < 1e15 else {
                throw LangError.runtime("range bounds must be whole numbers, got \(lo.repr) and \(hi.repr)", at: at)
            }
            return .range(lower: Int(l), upper: Int(h), inclusive: inclusive)
        case .call(let callee, let args, let at):
            let f = try eval(callee, env)
            if case .function(let c) = f, args.count == c.decl.parameters.count, args.allSatisfy({ $0.name == nil }) {
                // Fast path: positional arguments evaluated straight into the new environment's slots.
                try tick(at)
                let frame = Environment(count: c.decl.slotCount, parent: c.environment)
                for (i, a) in args.enumerated() { frame.slots[i] = try eval(a.value, env) }
                return try runBody(c, frame, given: nil, at: at)
            }
            let (positional, named) = try evalArguments(args, env)
            return try callValue(f, positional: positional, named: named, at: at)
        case .methodCall(let object, let name, let args, let at):
            return try methodCall(try eval(object, env), name, args, env, at)
        case .index(let a, let i, let at):
            return try index(try eval(a, env), try eval(i, env), at)
        case .field(let a, let name, let at):
            return try field(try eval(a, env), name, at)
        case .function(let decl):
            return .function(Closure(decl: decl, environment: env))
        }
    }

    func evalArguments(_ args: [Argument], _ env: Environment?) throws -> ([Value], [(String, Value)]) {
        var positional: [Value] = []
        var named: [(String, Value)] = []
        for a in args {
            let v = try eval(a.value, env)
            if let n = a.name { named.append((n, v)) } else { positional.append(v) }
        }
        return (positional, named)
    }

    func binary(_ op: BinaryOperator, _ a: Value, _ b: Value, _ at: SourcePosition) throws -> Value {
        if case .number(let x) = a, case .number(let y) = b {
            switch op {
            case .add: return .number(x + y)
            case .subtract: return .number(x - y)
            case .multiply: return .number(x * y)
            case .divide:
                if y == 0 { throw LangError.runtime("division by zero", at: at) }
                return .number(x / y)
            case .remainder:
                if y == 0 { throw LangError.runtime("remainder by zero", at: at) }
                let r = x.truncatingRemainder(dividingBy: y)
                return .number(r != 0 && (r < 0) != (y < 0) ? r + y : r)
            case .less: return .bool(x < y)
            case .lessEqual: return .bool(x <= y)
            case .greater: return .bool(x > y)
            case .greaterEqual: return .bool(x >= y)
            case .equal: return .bool(x == y)
            case .notEqual: return .bool(x != y)
            }
        }
        switch op {
        case .equal: return .bool(a == b)
        case .notEqual: return .bool(a != b)
        case .add:
            switch (a, b) {
            case (.string(let x), .string(let y)): return .string(x + y)
            case (.list(let x), .list(let y)): return .list(x + y)
            case (.record(var x), .record(let y)):
                for (k, v) in zip(y.keys, y.values) { x[k] = v }
                return .record(x)
            case (.object(let x), .object(let y)):
                if let sum = x.adding(y) { return sum }
            case (.string, _), (_, .string):
                throw LangError.runtime("cannot add \(a.typeName) and \(b.typeName) (use str(x) or \"{x}\" to make text)", at: at)
            default: break
            }
        case .less, .lessEqual, .greater, .greaterEqual:
            if case .string(let x) = a, case .string(let y) = b {
                switch op {
                case .less: return .bool(x < y)
                case .lessEqual: return .bool(x <= y)
                case .greater: return .bool(x > y)
                default: return .bool(x >= y)
                }
            }
            throw LangError.runtime("cannot compare \(a.typeName) and \(b.typeName) with '\(op.rawValue)'", at: at)
        default: break
        }
        throw LangError.runtime("cannot apply '\(op.rawValue)' to \(a.typeName) and \(b.typeName)", at: at)
    }

    /// `i` as an index into a sequence of `count` elements (negative counts from the end).
    func position(_ i: Value, count: Int, what: String, _ at: SourcePosition) throws -> Int {
        guard case .number(let n) = i else { throw LangError.runtime("\(what) index must be a number, got \(i.typeName)", at: at) }
        guard n == n.rounded(), abs(n) < 1e15 else { throw LangError.runtime("\(what) index must be a whole number, got \(Value.format(n))", at: at) }
        let k = Int(n) < 0 ? Int(n) + count : Int(n)
        guard k >= 0, k < count else {
            throw LangError.runtime("index \(Value.format(n)) out of range for \(what) of \(count) element\(count == 1 ? "" : "s")", at: at)
        }
        return k
    }

    func index(_ a: Value, _ i: Value, _ at: SourcePosition) throws -> Value {
        switch a {
        case .list(let items): return items[try position(i, count: items.count, what: "list", at)]
        case .range(let lo, let hi, let inclusive):
            let k = try position(i, count: Value.rangeElements(lo, hi, inclusive), what: "range", at)
            return .number(Double(lo + k))
        case .string(let s):
            let chars = Array(s)
            return .string(String(chars[try position(i, count: chars.count, what: "string", at)]))
        case .record(let r):
            guard case .string(let key) = i else { throw LangError.runtime("record index must be a string, got \(i.typeName)", at: at) }
            guard let v = r[key] else { throw LangError.runtime("record has no field '\(key)'\(didYouMean(key, r.keys))", at: at) }
            return v
        case .object(let o):
            if let items = o.iterate() { return items[try position(i, count: items.count, what: o.typeName, at)] }
            throw LangError.runtime("cannot index \(o.typeName)", at: at)
        default:
            throw LangError.runtime("cannot index \(a.typeName)", at: at)
        }
    }

    func field(_ a: Value, _ name: String, _ at: SourcePosition) throws -> Value {
        switch a {
        case .record(let r):
            if let v = r[name] { return v }
            throw LangError.runtime("record has no field '\(name)'\(didYouMean(name, r.keys))", at: at)
        case .object(let o):
            if let v = o.field(name) { return v }
            throw LangError.runtime("\(o.typeName) has no field '\(name)'\(didYouMean(name, o.fieldNames))", at: at)
        default:
            throw LangError.runtime("\(a.typeName) has no field '\(name)'", at: at)
        }
    }

    func methodCall(_ object: Value, _ name: VarRef, _ args: [Argument], _ env: Environment?, _ at: SourcePosition) throws -> Value {
        var own: Value?
        if case .record(let r) = object { own = r[name.name] }
        if case .object(let o) = object { own = o.field(name.name) }
        let (positional, named) = try evalArguments(args, env)
        if let f = own { return try callValue(f, positional: positional, named: named, at: at) }
        let f: Value
        do {
            f = try lookup(name, env)
        } catch let e as LangError where e.kind == .runtime {
            var fields: [String] = []
            if case .record(let r) = object { fields = r.keys }
            if case .object(let o) = object { fields = o.fieldNames }
            throw LangError.runtime("\(object.typeName) has no field '\(name.name)' and there is no function '\(name.name)'\(didYouMean(name.name, fields + globals.names + name.visibleLocals))", at: name.position)
        }
        return try callValue(f, positional: [object] + positional, named: named, at: at)
    }
}
