/// Resolves every local name to (scope hops, slot) before execution, so look-ups at run time are array
/// accesses. Names not found in any local scope are globals, looked up (and cached) by name at run time.
struct Resolver {
    /// One local scope: names to slots, in declaration order (a later `let` of the same name shadows).
    private struct Scope {
        var slots: [String: Int] = [:]
        var count = 0
        mutating func declare(_ name: String) -> Int {
            slots[name] = count
            count += 1
            return count - 1
        }
    }

    private var scopes: [Scope] = []

    /// Resolves a top-level program (its bindings are globals).
    mutating func resolve(_ statements: [Stmt]) {
        for s in statements { statement(s) }
    }

    private static func declarationCount(_ statements: [Stmt]) -> Bool {
        statements.contains { s in
            switch s {
            case .letBinding, .function: return true
            default: return false
            }
        }
    }

    private mutating func declare(_ ref: VarRef) {
        if scopes.isEmpty { ref.depth = -1; ref.slot = -1; return }
        ref.depth = 0
        ref.slot = scopes[scopes.count - 1].declare(ref.name)
    }

    private mutating func lookup(_ ref: VarRef) {
        for (hops, scope) in scopes.reversed().enumerated() {
            if let slot = scope.slots[ref.name] {
                ref.depth = hops
                ref.slot = slot
                return
            }
        }
        ref.depth = -1
        ref.slot = -1
        ref.visibleLocals = scopes.flatMap { $0.slots.keys }
    }

    private mutating func block(_ b: Block, preDeclared: VarRef? = nil) {
        let needsScope = preDeclared != nil || Resolver.declarationCount(b.statements)
        if needsScope { scopes.append(Scope()) }
        if let v = preDeclared { declare(v) }
        for s in b.statements { statement(s) }
        if needsScope { b.slotCount = scopes.removeLast().count }
    }

    private mutating func statement(_ s: Stmt) {
        switch s {
        case .letBinding(let ref, let value):
            expression(value)
            declare(ref)
        case .assign(let ref, let value):
            expression(value)
            lookup(ref)
        case .function(let ref, let decl):
            declare(ref)
            function(decl)
        case .ifElse(let condition, let then, let otherwise):
            expression(condition)
            block(then)
            if let o = otherwise { statement(o) }
        case .forIn(let variable, let sequence, let body, _):
            expression(sequence)
            block(body, preDeclared: variable)
        case .whileLoop(let condition, let body, _):
            expression(condition)
            block(body)
        case .breakLoop, .continueLoop, .returnValue(nil, _): break
        case .returnValue(let value?, _): expression(value)
        case .expression(let e, _): expression(e)
        case .block(let b): block(b)
        }
    }

    private mutating func function(_ decl: FunctionDecl) {
        scopes.append(Scope())
        for p in decl.parameters {
            if let d = p.defaultValue { expression(d) }
            _ = scopes[scopes.count - 1].declare(p.name)
        }
        for s in decl.body { statement(s) }
        decl.slotCount = scopes.removeLast().count
    }

    private mutating func expression(_ e: Expr) {
        switch e {
        case .literal: break
        case .interpolation(let parts):
            for case .expr(let x) in parts { expression(x) }
        case .variable(let ref): lookup(ref)
        case .list(let items, _): items.forEach { expression($0) }
        case .record(let fields, _): fields.forEach { expression($0.1) }
        case .negate(let x, _), .not(let x): expression(x)
        case .binary(_, let a, let b, _), .and(let a, let b), .or(let a, let b), .range(let a, let b, _, _), .index(let a, let b, _):
            expression(a)
            expression(b)
        case .call(let callee, let args, _):
            expression(callee)
            args.forEach { expression($0.value) }
        case .methodCall(let object, let name, let args, _):
            expression(object)
            lookup(name)
            args.forEach { expression($0.value) }
        case .field(let object, _, _): expression(object)
        case .function(let decl): function(decl)
        }
    }
}
