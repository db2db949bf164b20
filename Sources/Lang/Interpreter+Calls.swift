extension Interpreter {
    /// Calls a user function or primitive with evaluated arguments.
    func callValue(_ f: Value, positional: [Value], named: [(String, Value)], at: SourcePosition?) throws -> Value {
        switch f {
        case .primitive(let p):
            if let at = at { try tick(at) }
            do {
                let result = try p.body(try p.bind(positional: positional, named: named, interpreter: self))
                // A long primitive (a remover, training) does not poll the flag: a Ctrl-C pressed while it ran is
                // honoured as soon as it returns, so the interrupt is never lost.
                if Interrupt.isRequested {
                    Interrupt.clear()
                    throw LangError(.interrupted, "interrupted (after \(p.name)() finished)", at: at)
                }
                return result
            } catch let e as PrimitiveError {
                throw LangError(e.kind, e.message, at: at)
            } catch var e as LangError {
                if e.position == nil { e.position = at }
                throw e
            } catch {
                throw LangError(.runtime, "\(p.name)(): \(error)", at: at)
            }
        case .function(let c):
            return try callClosure(c, positional: positional, named: named, at: at)
        default:
            throw LangError.runtime("cannot call \(f.typeName) (only functions can be called)", at: at)
        }
    }

    func callClosure(_ c: Closure, positional: [Value], named: [(String, Value)], at: SourcePosition?) throws -> Value {
        let decl = c.decl
        let params = decl.parameters
        if let at = at { try tick(at) }
        guard positional.count <= params.count else {
            throw LangError.runtime("\(c.signature) takes at most \(params.count) argument\(params.count == 1 ? "" : "s"), got \(positional.count)", at: at)
        }
        let env = Environment(count: decl.slotCount, parent: c.environment)
        if named.isEmpty && positional.count == params.count {
            for (i, v) in positional.enumerated() { env.slots[i] = v }
            return try runBody(c, env, given: nil, at: at)
        }
        var given = [Bool](repeating: false, count: params.count)
        for (i, v) in positional.enumerated() {
            env.slots[i] = v
            given[i] = true
        }
        for (name, v) in named {
            guard let i = params.firstIndex(where: { $0.name == name }) else {
                throw LangError.runtime("\(c.signature) has no parameter '\(name)'\(didYouMean(name, params.map { $0.name }))", at: at)
            }
            if given[i] { throw LangError.runtime("\(c.signature) got argument '\(name)' twice", at: at) }
            env.slots[i] = v
            given[i] = true
        }
        return try runBody(c, env, given: given, at: at)
    }

    /// Fills defaults for parameters not `given` (nil: all given), then runs the body of `c` in `env`.
    func runBody(_ c: Closure, _ env: Environment, given: [Bool]?, at: SourcePosition?) throws -> Value {
        let decl = c.decl
        let params = decl.parameters
        callDepth += 1
        defer { callDepth -= 1 }
        if callDepth > maxCallDepth {
            throw LangError.runtime("too many nested calls (more than \(maxCallDepth)); is there a recursion without end?", at: at)
        }
        do {
            for (i, p) in params.enumerated() where !(given?[i] ?? true) {
                guard let d = p.defaultValue else {
                    throw LangError.runtime("\(c.signature) is missing argument '\(p.name)'", at: at)
                }
                env.store(try eval(d, env), at: i)
            }
            for s in decl.body {
                switch try exec(s, env) {
                case .normal: continue
                case .returned(let v, _): return v
                case .breakLoop(let p), .continueLoop(let p):
                    throw LangError.runtime("'break' or 'continue' outside a loop", at: p)
                }
            }
            return .nil
        } catch var e as LangError where e.kind == .runtime || e.kind == .io {
            if e.trace.count < 50, let at = at {
                e.trace.append("in \(decl.name == "<lambda>" ? "a lambda" : decl.name + "()") called at line \(at.line)")
            }
            throw e
        }
    }
}
