import Tensor

/// The allow-list for PyTorch state dicts: the only globals a checkpoint pickle may name, and what REDUCE,
/// BUILD and persistent ids may do with them. Everything else is refused with an error naming the file and
/// the callable; nothing is ever called.
///
/// Allowed: `collections.OrderedDict()` (no arguments), `torch._utils._rebuild_tensor_v2(storage, offset,
/// size, stride, requires_grad, hooks[, metadata])`, `torch._utils._rebuild_tensor(storage, offset, size,
/// stride)`, `torch._utils._rebuild_parameter(tensor, requires_grad, hooks)`, the typed storage classes (as
/// the element type of a persistent id `('storage', class, key, location, numel[, view])`), and BUILD of an
/// OrderedDict's attributes (the `_metadata` of `state_dict()`), which are ignored.
final class TorchPickleResolver: PickleResolver {
    /// A storage named by a persistent id: its key in the archive, element type and element count.
    struct Storage {
        let key: String
        let elementType: ElementType
        let count: Int
    }

    /// A tensor rebuilt from a storage: offset and strides in elements.
    struct TensorRecord {
        let storage: Int
        let offset: Int
        let shape: [Int]
        let strides: [Int]
    }

    enum External {
        case storage(Int)
        case tensor(Int)
    }

    /// Storage classes by name (`torch.HalfStorage`).
    static let storageClasses: [String: ElementType] = [
        "FloatStorage": .f32, "HalfStorage": .f16, "BFloat16Storage": .bf16, "DoubleStorage": .f64,
        "LongStorage": .i64, "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8,
        "ByteStorage": .u8, "BoolStorage": .bool,
    ]
    static let callables: Set<String> = [
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_parameter",
    ]
    /// The most dimensions a tensor may have.
    static let maxRank = 32

    let label: String
    /// Whether persistent ids are allowed (false for the plain-data pickles around a legacy file's main one).
    let allowsTensors: Bool
    private(set) var storages: [Storage] = []
    private(set) var tensors: [TensorRecord] = []
    private(set) var externals: [External] = []
    private var storageByKey: [String: Int] = [:]

    init(label: String, allowsTensors: Bool = true) {
        self.label = label
        self.allowsTensors = allowsTensors
    }

    private func fail(_ message: String) -> TensorError { TensorError(label, "pickle: \(message)") }

    func global(module: String, name: String, machine: PickleMachine) throws -> Int {
        let full = "\(module).\(name)"
        let allowed = allowsTensors && (Self.callables.contains(full) || (module == "torch" && Self.storageClasses[name] != nil))
        guard allowed else {
            throw fail("refuses global '\(full)': a checkpoint may only name tensors, storages and OrderedDict")
        }
        return try machine.add(.global(module: module, name: name))
    }

    func reduce(_ callable: Int, arguments a: [Int], machine m: PickleMachine) throws -> Int {
        guard case .global(let module, let name) = m.values[callable] else {
            throw fail("REDUCE on a \(m.kind(callable)), which is not callable")
        }
        let full = "\(module).\(name)"
        let given = "(" + a.map { m.kind($0) }.joined(separator: ", ") + ")"
        func wrong(_ expected: String) -> TensorError {
            fail("refuses to call '\(full)' with arguments \(given); it takes \(expected)")
        }
        switch full {
        case "collections.OrderedDict":
            guard a.isEmpty else { throw wrong("no arguments") }
            return try m.newDict()
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
            let v2 = name == "_rebuild_tensor_v2"
            let expected = v2 ? "(storage, int, tuple, tuple, bool, dict[, metadata])" : "(storage, int, tuple, tuple)"
            guard v2 ? (a.count == 6 || a.count == 7) : a.count == 4 else { throw wrong(expected) }
            guard case .external(let e) = m.values[a[0]], case .storage(let s) = externals[e],
                  case .int(let offset) = m.values[a[1]],
                  let shape = ints(a[2], m), let strides = ints(a[3], m) else { throw wrong(expected) }
            if v2 {
                guard case .bool = m.values[a[4]], case .dict(let hooks) = m.values[a[5]] else { throw wrong(expected) }
                guard m.dicts[hooks].isEmpty else { throw fail("refuses '\(full)' with backward hooks") }
            }
            return try addTensor(storage: s, offset: offset, shape: shape, strides: strides, machine: m)
        case "torch._utils._rebuild_parameter":
            guard a.count == 3, case .external(let e) = m.values[a[0]], case .tensor = externals[e],
                  case .bool = m.values[a[1]], case .dict(let hooks) = m.values[a[2]] else {
                throw wrong("(tensor, bool, dict)")
            }
            guard m.dicts[hooks].isEmpty else { throw fail("refuses '\(full)' with backward hooks") }
            return a[0]
        default:
            throw fail("refuses to call '\(full)': it is not a tensor rebuild function")
        }
    }

    func build(_ object: Int, state: Int, machine m: PickleMachine) throws {
        // state_dict() pickles as an OrderedDict whose `_metadata` attribute (module versions) BUILD sets.
        guard case .dict = m.values[object] else { throw fail("refuses BUILD on a \(m.kind(object))") }
        switch m.values[state] {
        case .none, .dict: return
        case .tuple(let t) where t.count == 2: return
        default: throw fail("refuses BUILD of a \(m.kind(state)) on a dict")
        }
    }

    func persistentLoad(_ pid: Int, machine m: PickleMachine) throws -> Int {
        guard allowsTensors else { throw fail("refuses a persistent id outside the state dict") }
        guard case .tuple(let t) = m.values[pid], t.count == 5 || t.count == 6,
              case .string("storage") = m.values[t[0]], case .global(let module, let cls) = m.values[t[1]], module == "torch",
              let element = Self.storageClasses[cls], case .int(let count) = m.values[t[4]], count >= 0 else {
            throw fail("persistent id \(m.kind(pid)) is not ('storage', torch.<Type>Storage, key, location, numel)")
        }
        let key: String
        switch m.values[t[2]] {
        case .string(let s): key = s
        case .int(let i): key = String(i)
        default: throw fail("storage key is a \(m.kind(t[2])), not a string")
        }
        if t.count == 6, case .tuple = m.values[t[5]] {
            throw fail("storage '\(key)' is a legacy storage view, which is not supported")
        }
        if let s = storageByKey[key] {
            guard storages[s].elementType == element, storages[s].count == count else {
                throw fail("storage '\(key)' is named twice with different types or sizes")
            }
            return try external(.storage(s), m)
        }
        guard count.multipliedReportingOverflow(by: element.size).overflow == false else {
            throw fail("storage '\(key)' of \(count) elements overflows")
        }
        storages.append(Storage(key: key, elementType: element, count: count))
        storageByKey[key] = storages.count - 1
        return try external(.storage(storages.count - 1), m)
    }

    private func external(_ e: External, _ m: PickleMachine) throws -> Int {
        externals.append(e)
        return try m.add(.external(externals.count - 1))
    }

    private func ints(_ i: Int, _ m: PickleMachine) -> [Int]? {
        guard let items = m.sequence(i) else { return nil }
        var out: [Int] = []
        for j in items {
            guard case .int(let v) = m.values[j] else { return nil }
            out.append(v)
        }
        return out
    }

    private func addTensor(storage s: Int, offset: Int, shape: [Int], strides: [Int], machine m: PickleMachine) throws -> Int {
        let st = storages[s]
        let place = "tensor on storage '\(st.key)'"
        guard shape.count == strides.count, shape.count <= Self.maxRank else {
            throw fail("\(place) has size \(shapeString(shape)) and stride \(shapeString(strides)) of different or too many dimensions")
        }
        guard offset >= 0, shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }) else {
            throw fail("\(place) has a negative offset, size or stride (offset \(offset), size \(shapeString(shape)), stride \(shapeString(strides)))")
        }
        guard let count = checkedCount(shape), count.multipliedReportingOverflow(by: 8).overflow == false else {
            throw fail("\(place) of size \(shapeString(shape)) overflows")
        }
        if count > 0 {
            // The last element the view touches must lie inside the storage.
            var last = offset
            for (d, st) in zip(shape, strides) {
                let (p, o1) = (d - 1).multipliedReportingOverflow(by: st)
                let (q, o2) = last.addingReportingOverflow(p)
                guard !o1, !o2 else { throw fail("\(place) with stride \(shapeString(strides)) overflows") }
                last = q
            }
            guard last < st.count else {
                throw fail("\(place) (offset \(offset), size \(shapeString(shape)), stride \(shapeString(strides))) reaches element \(last) of a storage of \(st.count)")
            }
        }
        tensors.append(TensorRecord(storage: s, offset: offset, shape: shape, strides: strides))
        return try external(.tensor(tensors.count - 1), m)
    }
}
