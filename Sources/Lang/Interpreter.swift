import Foundation

/// Runs programs of the rorem language in one session whose globals persist between runs (as in the REPL).
///
/// Domain modules add primitives with `register(_:)`. Runs happen on a thread with a large stack and the
/// call depth is bounded, so deep recursion ends in an error rather than a crash.
public final class Interpreter {
    /// Where `print` and echoed values go.
    public var output: OutputSink
    /// Stop with an error after this many loop iterations and calls (nil: no limit). Used by the fuzzer.
    public var stepLimit: Int?
    /// Deepest allowed nesting of user-function calls.
    public var maxCallDepth = 1500
    /// Source texts by id, for error reports.
    public private(set) var sources: [String] = []

    var globals = Globals(generation: 1)
    var registered: [Primitive] = []
    var callDepth = 0
    var steps = 0
    /// True while a run or an outside call executes on the interpreter's thread.
    var isRunning = false

    /// A session with the core primitives; output goes to `output` (stdout by default).
    public init(output: OutputSink = StandardOutput()) {
        self.output = output
        registerCore()
    }

    /// Binds `primitive` as a global under its name (later registrations of the same name replace it).
    public func register(_ primitive: Primitive) {
        registered.removeAll { $0.name == primitive.name }
        registered.append(primitive)
        globals.define(primitive.name, .primitive(primitive))
    }

    /// All registered primitives, in registration order.
    public var primitives: [Primitive] { registered }

    /// The primitive bound to `name`, if any.
    public func primitive(named name: String) -> Primitive? { registered.first { $0.name == name } }

    /// Names of all globals (primitives and user bindings).
    public var globalNames: [String] { globals.names }

    /// User-defined globals (not primitives) with their values, in definition order.
    public var userBindings: [(name: String, value: Value)] {
        globals.names.compactMap { n in
            guard let i = globals.indexByName[n] else { return nil }
            if case .primitive = globals.values[i] { return nil }
            return (n, globals.values[i])
        }
    }

    /// The value of global `name`, if bound.
    public func global(_ name: String) -> Value? { globals.indexByName[name].map { globals.values[$0] } }

    /// Binds global `name` to `value`.
    public func setGlobal(_ name: String, _ value: Value) { globals.define(name, value) }

    /// Forgets all user bindings; primitives stay.
    /// (Old values are released on the large stack: a deeply nested list frees recursively.)
    public func reset() {
        Interpreter.onLargeStack {
            self.globals = Globals(generation: self.globals.generation + 1)
            for p in self.registered { self.globals.define(p.name, .primitive(p)) }
        }
    }

    /// Parses `source` without running it; throws the first syntax error.
    public func check(_ source: String) throws {
        sources.append(source)
        _ = try Parser.parse(source, sourceID: sources.count - 1)
    }

    /// Runs `source` in this session; with `echo`, the values of top-level expression statements that are not
    /// nil are displayed (REPL and notebook behaviour). Throws the first error.
    public func run(_ source: String, echo: Bool = false) throws {
        sources.append(source)
        let id = sources.count - 1
        var failure: Error?
        Interpreter.onLargeStack {
            self.isRunning = true
            defer { self.isRunning = false }
            do {
                let program = try Parser.parse(source, sourceID: id)
                var resolver = Resolver()
                resolver.resolve(program)
                try self.runTopLevel(program, echo: echo)
            } catch {
                failure = error
            }
        }
        callDepth = 0
        if let e = failure { throw e }
    }

    /// Runs `source`; on error returns it formatted with place, source line and caret, and its exit status.
    public func runReporting(_ source: String, echo: Bool = false) -> (status: Int32, report: String?) {
        do {
            try run(source, echo: echo)
            return (0, nil)
        } catch let e as LangError {
            return (e.exitStatus, e.formatted(sources: sources))
        } catch {
            return (70, "error: \(error)")
        }
    }

    /// Formats an error thrown by `run` with its source line and caret.
    public func format(_ error: Error) -> String {
        if let e = error as? LangError { return e.formatted(sources: sources) }
        return "error: \(error)"
    }

    /// Calls a function value (user function or primitive) with positional arguments; for primitives that
    /// take callbacks (`map`, `filter`...).
    /// Called from outside a run (from Swift code), the call happens on a large stack like `run`.
    public func call(_ function: Value, _ arguments: [Value]) throws -> Value {
        if isRunning { return try callValue(function, positional: arguments, named: [], at: nil) }
        var result: Result<Value, Error> = .success(.nil)
        Interpreter.onLargeStack {
            self.isRunning = true
            defer { self.isRunning = false }
            result = Result { try self.callValue(function, positional: arguments, named: [], at: nil) }
        }
        callDepth = 0
        return try result.get()
    }

    private func runTopLevel(_ program: [Stmt], echo: Bool) throws {
        steps = 0
        for statement in program {
            if echo, case .expression(let e, _) = statement {
                let v = try eval(e, nil)
                if case .nil = v { continue }
                output.display(v)
                continue
            }
            switch try exec(statement, nil) {
            case .normal: break
            case .breakLoop(let at), .continueLoop(let at):
                throw LangError.runtime("'break' or 'continue' outside a loop", at: at)
            case .returned(_, let at):
                throw LangError.runtime("'return' outside a function", at: at)
            }
        }
    }
}
