/// A user function together with the environment it closes over.
///
/// A closure normally holds its environment strongly, so a function that escapes its scope keeps that scope's
/// variables alive. When a closure is stored in a slot of the very environment it captured (a local
/// `fn helper() {}`, `let f = fn(x) => ...` inside a function, or the same in a loop body), a strong link both
/// ways would form a cycle and leak the frame. Such a slot holds a *held* copy instead, which does not
/// reference the environment at all; reading the slot (`Environment.load`) hands out a strong copy over the
/// slot's owner again, so a function returned or stored elsewhere keeps working after the frame ends. A held
/// copy never leaves its slot (every read releases it), so the owner that reads it is always the scope it
/// captured. The same holds for closures inside a list or record stored in a local
/// (`let ops = {double: fn(x) => x * 2}`); reading such a slot copies the list, so keep large lists and
/// closures over the same scope in separate variables. (No weak references: an object with one moves every
/// retain and release to Swift's slow path, which cost 40% on closure-heavy code.)
///
/// Not covered (the frame then lives until the closure is dropped, as before): a closure made in an inner
/// block that has its own locals and is assigned to a variable of an enclosing scope.
public final class Closure {
    let decl: FunctionDecl
    /// The captured scope (nil for functions defined at top level, and in held copies).
    let environment: Environment?
    /// Whether this is the copy kept in a slot of its own environment, which it does not reference.
    let isHeld: Bool

    init(decl: FunctionDecl, environment: Environment?) {
        self.decl = decl
        self.environment = environment
        isHeld = false
        environment?.isCaptured = true
    }

    private init(heldCopyOf decl: FunctionDecl) {
        self.decl = decl
        environment = nil
        isHeld = true
    }

    /// The copy to store in a slot of `slotOwner`: one without its environment when this closure captured
    /// `slotOwner` itself (the slot's owner supplies it again on `released(in:)`).
    @inline(__always)
    func held(in slotOwner: Environment) -> Closure {
        guard !isHeld, let e = environment, e === slotOwner else { return self }
        return Closure(heldCopyOf: decl)
    }

    /// A copy that keeps its environment alive (self when not held); `owner` is the environment whose slot
    /// held this copy, which is the one it captured.
    @inline(__always)
    func released(in owner: Environment) -> Closure {
        isHeld ? Closure(decl: decl, environment: owner) : self
    }

    /// Same function: the same declaration closing over the same scope (held and strong copies compare equal).
    func isSameFunction(as other: Closure) -> Bool {
        decl === other.decl && environment === other.environment
    }

    /// The function's name (`<lambda>` for anonymous ones).
    public var name: String { decl.name }

    /// `name(a, b: 1)`-style signature (defaults shown as `b: ...`).
    public var signature: String {
        let params = decl.parameters.map { $0.defaultValue == nil ? $0.name : "\($0.name): ..." }
        return "\(decl.name == "<lambda>" ? "fn" : decl.name)(\(params.joined(separator: ", ")))"
    }
}
