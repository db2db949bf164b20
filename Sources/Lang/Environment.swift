/// A local scope at run time: a fixed array of slots resolved before execution, and the enclosing scope.
final class Environment {
    var slots: [Value]
    let parent: Environment?
    /// Whether a closure over this scope was ever made (only then can a stored list or record hold one).
    var isCaptured = false
    /// Bit i set: slot i holds a list or record with held closures inside (slots 64 and up are not tracked).
    var nestedHeldSlots: UInt64 = 0

    init(count: Int, parent: Environment?) {
        slots = [Value](repeating: .nil, count: count)
        self.parent = parent
    }

    /// The environment `hops` levels up (0 is this one).
    @inline(__always)
    func ancestor(_ hops: Int) -> Environment? {
        var e: Environment? = self
        var n = hops
        while n > 0 { e = e?.parent; n -= 1 }
        return e
    }
}

/// The global scope: bindings by name, kept across REPL inputs.
final class Globals {
    /// Distinguishes this table from earlier ones (after `reset`), so cached slots in the tree stay valid.
    let generation: Int
    init(generation: Int) {
        self.generation = generation
    }
    var indexByName: [String: Int] = [:]
    var names: [String] = []
    var values: [Value] = []

    /// Defines or redefines `name`; returns its slot.
    @discardableResult
    func define(_ name: String, _ value: Value) -> Int {
        if let i = indexByName[name] { values[i] = value; return i }
        indexByName[name] = values.count
        names.append(name)
        values.append(value)
        return values.count - 1
    }
}
