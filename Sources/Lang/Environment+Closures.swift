/// Storing and loading slots so that closures kept in the scope they capture form no reference cycle
/// (see `Closure` for the design).
extension Environment {
    /// Stores `value` in `slot`: a closure over this scope, directly or inside a list or record, is kept as a
    /// held copy that does not reference this scope.
    @inline(__always)
    func store(_ value: Value, at slot: Int) {
        // No closure over this scope exists yet, so nothing can be held (the common, fast case).
        guard isCaptured else { slots[slot] = value; return }
        storeInCapturedScope(value, at: slot)
    }

    private func storeInCapturedScope(_ value: Value, at slot: Int) {
        switch value {
        case .function(let c):
            slots[slot] = .function(c.held(in: self))
            clearNestedMark(slot)
        case .list, .record:
            if let held = Environment.map(value, { $0.held(in: self) }) {
                slots[slot] = held
                if slot < 64 { nestedHeldSlots |= 1 << UInt64(slot) }
            } else {
                slots[slot] = value
                clearNestedMark(slot)
            }
        default:
            slots[slot] = value
            clearNestedMark(slot)
        }
    }

    /// The value in `slot` with held closures made strong again (over this scope), so that it may escape.
    @inline(__always)
    func load(_ slot: Int) -> Value {
        guard isCaptured else { return slots[slot] }
        return loadFromCapturedScope(slot)
    }

    private func loadFromCapturedScope(_ slot: Int) -> Value {
        let value = slots[slot]
        switch value {
        case .function(let c) where c.isHeld:
            return .function(c.released(in: self))
        case .list, .record:
            guard slot < 64, nestedHeldSlots & (1 << UInt64(slot)) != 0 else { return value }
            return Environment.map(value) { $0.released(in: self) } ?? value
        default:
            return value
        }
    }

    @inline(__always)
    private func clearNestedMark(_ slot: Int) {
        if nestedHeldSlots != 0, slot < 64 { nestedHeldSlots &= ~(1 << UInt64(slot)) }
    }

    /// `value` with `transform` applied to every closure inside lists and records (recursively); nil when no
    /// closure changed, so unchanged (possibly large) lists are not copied.
    static func map(_ value: Value, _ transform: (Closure) -> Closure) -> Value? {
        switch value {
        case .function(let c):
            let t = transform(c)
            return t === c ? nil : .function(t)
        case .list(let items):
            var changed: [Value]?
            for (i, item) in items.enumerated() {
                guard let t = map(item, transform) else { continue }
                if changed == nil { changed = items }
                changed?[i] = t
            }
            return changed.map { .list($0) }
        case .record(let r):
            var values = r.values
            var any = false
            for (i, v) in r.values.enumerated() {
                if let t = map(v, transform) { values[i] = t; any = true }
            }
            return any ? .record(Record(Array(zip(r.keys, values)))) : nil
        default:
            return nil
        }
    }
}
