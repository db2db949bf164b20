/// How a statement finished.
enum Flow {
    case normal
    case breakLoop(SourcePosition)
    case continueLoop(SourcePosition)
    case returned(Value, SourcePosition)
}

extension Interpreter {
    /// Counts a step (loop iteration or call) and honours interrupts and the step limit.
    @inline(__always)
    func tick(_ at: SourcePosition) throws {
        if Interrupt.flag.pointee != 0 {
            Interrupt.clear()
            throw LangError(.interrupted, "interrupted", at: at)
        }
        steps &+= 1
        if let limit = stepLimit, steps > limit {
            throw LangError.runtime("step limit of \(limit) exceeded", at: at)
        }
    }

    func execBlock(_ block: Block, _ env: Environment?) throws -> Flow {
        let scope = block.slotCount > 0 ? Environment(count: block.slotCount, parent: env) : env
        for s in block.statements {
            let flow = try exec(s, scope)
            if case .normal = flow { continue }
            return flow
        }
        return .normal
    }

    func exec(_ statement: Stmt, _ env: Environment?) throws -> Flow {
        switch statement {
        case .expression(let e, _):
            _ = try eval(e, env)
        case .letBinding(let ref, let value):
            let v = try eval(value, env)
            try define(ref, v, env)
        case .assign(let ref, let value):
            let v = try eval(value, env)
            try assign(ref, v, env)
        case .function(let ref, let decl):
            try define(ref, .function(Closure(decl: decl, environment: env)), env)
        case .ifElse(let condition, let then, let otherwise):
            if try eval(condition, env).isTruthy { return try execBlock(then, env) }
            if let o = otherwise { return try exec(o, env) }
        case .whileLoop(let condition, let body, let at):
            while try eval(condition, env).isTruthy {
                try tick(at)
                switch try execBlock(body, env) {
                case .normal, .continueLoop: continue
                case .breakLoop: return .normal
                case .returned(let v, let p): return .returned(v, p)
                }
            }
        case .forIn(_, let sequence, let body, let at):
            return try execFor(try eval(sequence, env), body, env, at)
        case .breakLoop(let at): return .breakLoop(at)
        case .continueLoop(let at): return .continueLoop(at)
        case .returnValue(let value, let at):
            return .returned(try value.map { try eval($0, env) } ?? .nil, at)
        case .block(let b):
            return try execBlock(b, env)
        }
        return .normal
    }

    private func execFor(_ sequence: Value, _ body: Block, _ env: Environment?, _ at: SourcePosition) throws -> Flow {
        // The loop variable is slot 0 of a fresh environment per iteration, so closures capture each value.
        func iteration(_ item: Value) throws -> Flow? {
            try tick(at)
            let scope = Environment(count: body.slotCount, parent: env)
            scope.slots[0] = item
            for s in body.statements {
                switch try exec(s, scope) {
                case .normal: continue
                case .continueLoop: return nil
                case .breakLoop: return .normal
                case .returned(let v, let p): return .returned(v, p)
                }
            }
            return nil
        }
        if case .range(let lo, let hi, let inclusive) = sequence {
            let end = inclusive ? hi : hi - 1
            if lo <= end {
                for i in lo...end { if let f = try iteration(.number(Double(i))) { return f } }
            }
            return .normal
        }
        guard let items = sequence.elements() else {
            throw LangError.runtime("cannot iterate over \(sequence.typeName) (for needs a list, range, record, string or dataset)", at: at)
        }
        for item in items { if let f = try iteration(item) { return f } }
        return .normal
    }

    func define(_ ref: VarRef, _ value: Value, _ env: Environment?) throws {
        if ref.depth < 0 {
            ref.slot = globals.define(ref.name, value)
            ref.generation = globals.generation
            return
        }
        guard let e = env?.ancestor(ref.depth) else { throw LangError.runtime("internal error: no scope for '\(ref.name)'", at: ref.position) }
        e.store(value, at: ref.slot)
    }

    func assign(_ ref: VarRef, _ value: Value, _ env: Environment?) throws {
        if ref.depth < 0 {
            if ref.generation == globals.generation { globals.values[ref.slot] = value; return }
            guard let i = globals.indexByName[ref.name] else {
                throw LangError.runtime("unknown name '\(ref.name)'\(didYouMean(ref.name, globals.names + ref.visibleLocals)) (use 'let \(ref.name) = ...' to define it)", at: ref.position)
            }
            globals.values[i] = value
            ref.slot = i
            ref.generation = globals.generation
            return
        }
        guard let e = env?.ancestor(ref.depth) else { throw LangError.runtime("internal error: no scope for '\(ref.name)'", at: ref.position) }
        e.store(value, at: ref.slot)
    }

    @inline(__always)
    func lookup(_ ref: VarRef, _ env: Environment?) throws -> Value {
        if ref.depth >= 0 {
            var e = env
            var n = ref.depth
            while n > 0 { e = e?.parent; n -= 1 }
            // Closures held in their own scope (see `Closure`) are handed out strong.
            if let e = e { return e.load(ref.slot) }
            throw LangError.runtime("internal error: no scope for '\(ref.name)'", at: ref.position)
        }
        if ref.generation == globals.generation { return globals.values[ref.slot] }
        guard let i = globals.indexByName[ref.name] else {
            throw LangError.runtime("unknown name '\(ref.name)'\(didYouMean(ref.name, globals.names + ref.visibleLocals))", at: ref.position)
        }
        ref.slot = i
        ref.generation = globals.generation
        return globals.values[i]
    }
}
