import Tensor

/// A PyTorch checkpoint written by `torch.save` (`.bin`, `.pt`, `.pth`, `.ckpt`), read without running any code:
/// the zip format of torch >= 1.6 (`<name>/data.pkl` plus `<name>/data/<key>`, stored members) and the legacy
/// format (`_use_new_zipfile_serialization=False`: magic, protocol and system pickles, the main pickle, the
/// storage keys, then each storage as a count and its bytes).
///
/// The pickle goes through `PickleMachine` with `TorchPickleResolver`'s allow-list. Nested dicts are flattened to
/// dotted names (`state_dict.model.weight`); lists and tuples by index. Strings and numbers along the way become
/// `metadata`. A tensor that is contiguous in its storage is a zero-copy view of the mapped file when read in
/// its stored dtype; a strided one is gathered into its own buffer. Tensors that share a storage view the same
/// bytes.
public final class TorchCheckpoint: TensorSource {
    /// Deepest nesting of dicts and lists followed when flattening names.
    public static let maxDepth = 64
    /// Magic number at the start of a legacy file (a pickled int).
    static let legacyMagic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    public let label: String
    public let names: [String]
    public let metadata: [String: String]
    /// The mapped file, owner of every zero-copy view.
    public let file: MappedFile
    private let records: [String: TorchPickleResolver.TensorRecord]
    private let storages: [TorchPickleResolver.Storage]
    /// Byte offset in the file of each storage's first element.
    private let storageOffsets: [Int]

    /// Opens and checks `path` (errors name the file).
    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path, label: "torch checkpoint '\(path)'"))
    }

    /// Reads a checkpoint held in memory (tests).
    public convenience init(bytes: [UInt8], label: String = "torch checkpoint bytes") throws {
        try self.init(file: MappedFile(bytes: bytes, label: label))
    }

    /// Reads the pickle of a mapped checkpoint and locates every storage.
    public init(file: MappedFile) throws {
        self.file = file
        label = file.label
        let all = UnsafeRawBufferPointer(start: file.base, count: file.count)
        let resolver = TorchPickleResolver(label: label)
        let machine: PickleMachine
        let root: Int
        var offsets: [Int] = []
        if ZipArchive.looksLikeZip(file) {
            let zip = try ZipArchive(file: file)
            guard let pkl = zip.names.first(where: { $0.hasSuffix("/data.pkl") && $0.split(separator: "/").count == 2 }),
                  let entry = zip.entries[pkl] else {
                throw TensorError(label, "zip archive has no '<name>/data.pkl'; it was not written by torch.save")
            }
            let prefix = String(pkl.dropLast("data.pkl".count))
            if let order = zip.entries[prefix + "byteorder"] {
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: all[order.offset..<(order.offset + order.count)]), as: UTF8.self)
                guard text == "little" else { throw TensorError(label, "byte order '\(text)' is not little-endian") }
            }
            machine = PickleMachine(data: all, start: entry.offset, end: entry.offset + entry.count, label: label)
            root = try machine.run(resolver: resolver)
            for s in resolver.storages {
                guard let e = zip.entries[prefix + "data/" + s.key] else {
                    throw TensorError(label, "storage '\(s.key)' has no member '\(prefix)data/\(s.key)'")
                }
                guard e.count >= s.count * s.elementType.size else {
                    throw TensorError(label, "storage '\(s.key)' holds \(e.count) bytes but \(s.count) elements of \(s.elementType) need \(s.count * s.elementType.size)")
                }
                offsets.append(e.offset)
            }
        } else if file.count >= 14, file.base.load(fromByteOffset: 0, as: UInt8.self) == 0x80 {
            (machine, root, offsets) = try Self.readLegacy(file, all: all, resolver: resolver)
        } else {
            throw TensorError(label, "is neither a torch zip archive nor a legacy torch.save file")
        }
        storages = resolver.storages
        storageOffsets = offsets
        var records: [String: TorchPickleResolver.TensorRecord] = [:]
        var names: [String] = []
        var metadata: [String: String] = [:]
        try Self.flatten(root, path: "", depth: 0, machine: machine, resolver: resolver, label: label,
                         visiting: [], records: &records, names: &names, metadata: &metadata)
        self.records = records
        self.names = names
        self.metadata = metadata
    }

    /// Legacy layout: magic, protocol version, system info, main pickle, storage keys, then the storages.
    private static func readLegacy(_ file: MappedFile, all: UnsafeRawBufferPointer, resolver: TorchPickleResolver)
        throws -> (PickleMachine, Int, [Int]) {
        let label = file.label
        let plain = TorchPickleResolver(label: label, allowsTensors: false)
        let header = PickleMachine(data: all, label: label)
        let magic = try header.run(resolver: plain)
        guard case .bigInt(let bytes) = header.values[magic], bytes == legacyMagic else {
            throw TensorError(label, "is a pickle but not a torch.save file (no magic number)")
        }
        let version = try header.run(resolver: plain)
        guard case .int(1001) = header.values[version] else { throw TensorError(label, "legacy protocol version is not 1001") }
        let info = try header.run(resolver: plain)
        if case .dict(let d) = header.values[info] {
            for (k, v) in header.dicts[d] {
                if case .string("little_endian") = header.values[k], case .bool(false) = header.values[v] {
                    throw TensorError(label, "was written on a big-endian machine")
                }
            }
        }
        let main = PickleMachine(data: all, start: header.position, label: label)
        let root = try main.run(resolver: resolver)
        let keysMachine = PickleMachine(data: all, start: main.position, label: label)
        let keysRoot = try keysMachine.run(resolver: plain)
        guard let keyItems = keysMachine.sequence(keysRoot) else { throw TensorError(label, "legacy storage key list is not a list") }
        var byKey: [String: Int] = [:]
        for (i, s) in resolver.storages.enumerated() { byKey[s.key] = i }
        var offsets = [Int](repeating: -1, count: resolver.storages.count)
        var p = keysMachine.position
        for k in keyItems {
            guard case .string(let key) = keysMachine.values[k] else { throw TensorError(label, "legacy storage key is a \(keysMachine.kind(k))") }
            guard let s = byKey[key] else { throw TensorError(label, "legacy storage '\(key)' is not used by any tensor") }
            let st = resolver.storages[s]
            let count = try file.integer(Int64.self, at: p, "size of legacy storage '\(key)'")
            guard count == Int64(st.count) else {
                throw TensorError(label, "legacy storage '\(key)' holds \(count) elements but the pickle says \(st.count)")
            }
            let bytes = st.count * st.elementType.size
            _ = try file.bytes(at: p + 8, count: bytes, "legacy storage '\(key)'")
            offsets[s] = p + 8
            p += 8 + bytes
        }
        if let missing = offsets.firstIndex(of: -1) {
            throw TensorError(label, "legacy storage '\(resolver.storages[missing].key)' is missing from the file")
        }
        return (main, root, offsets)
    }

    private static func flatten(_ i: Int, path: String, depth: Int, machine m: PickleMachine, resolver: TorchPickleResolver,
                                label: String, visiting: Set<Int>, records: inout [String: TorchPickleResolver.TensorRecord],
                                names: inout [String], metadata: inout [String: String]) throws {
        func child(_ key: String) -> String { path.isEmpty ? key : path + "." + key }
        func add(_ name: String, _ r: TorchPickleResolver.TensorRecord) throws {
            guard records[name] == nil else { throw TensorError(label, "two tensors are named '\(name)'") }
            records[name] = r
            names.append(name)
        }
        guard depth <= maxDepth else { throw TensorError(label, "pickle nests deeper than \(maxDepth) at '\(path)'") }
        switch m.values[i] {
        case .external(let e):
            if case .tensor(let t) = resolver.externals[e] { try add(path.isEmpty ? "tensor" : path, resolver.tensors[t]) }
        case .dict(let d):
            guard !visiting.contains(i) else { throw TensorError(label, "pickle refers to itself at '\(path)'") }
            for (k, v) in m.dicts[d] {
                let key: String
                switch m.values[k] {
                case .string(let s): key = s
                case .int(let n): key = String(n)
                default: throw TensorError(label, "dict key at '\(path)' is a \(m.kind(k)), not a string")
                }
                try flatten(v, path: child(key), depth: depth + 1, machine: m, resolver: resolver, label: label,
                            visiting: visiting.union([i]), records: &records, names: &names, metadata: &metadata)
            }
        case .tuple, .list:
            guard !visiting.contains(i) else { throw TensorError(label, "pickle refers to itself at '\(path)'") }
            for (n, v) in (m.sequence(i) ?? []).enumerated() {
                try flatten(v, path: child(String(n)), depth: depth + 1, machine: m, resolver: resolver, label: label,
                            visiting: visiting.union([i]), records: &records, names: &names, metadata: &metadata)
            }
        case .string(let s): if !path.isEmpty { metadata[path] = s }
        case .int(let n): if !path.isEmpty { metadata[path] = String(n) }
        case .float(let x): if !path.isEmpty { metadata[path] = String(x) }
        case .bool(let b): if !path.isEmpty { metadata[path] = String(b) }
        case .none, .bigInt, .bytes, .global: break
        }
    }

    public func info(_ name: String) -> TensorInfo? {
        records[name].map { TensorInfo(elementType: storages[$0.storage].elementType, shape: $0.shape) }
    }

    /// Whether `name` is laid out row-major in its storage (and so can be a view of the file).
    public func isContiguous(_ name: String) -> Bool {
        records[name].map(Self.isContiguous) ?? false
    }

    static func isContiguous(_ r: TorchPickleResolver.TensorRecord) -> Bool {
        var expected = 1
        for (d, s) in zip(r.shape, r.strides).reversed() {
            if d != 1 && s != expected { return false }
            expected *= d
        }
        return true
    }

    public func tensor(_ name: String, dtype: DType?) throws -> Tensor {
        guard let r = records[name] else { throw TensorError(label, "no tensor named '\(name)'") }
        let st = storages[r.storage]
        let size = st.elementType.size
        let base = file.base + storageOffsets[r.storage]
        do {
            if Self.isContiguous(r) {
                return try makeTensor(base + r.offset * size, element: st.elementType, shape: r.shape, owner: file, dtype: dtype)
            }
            let gathered = RawBuffer(byteCount: r.shape.reduce(1, *) * size)
            Self.gather(from: base, record: r, elementSize: size, into: gathered.pointer)
            return try makeTensor(gathered.pointer, element: st.elementType, shape: r.shape, owner: gathered, dtype: dtype)
        } catch let error as TensorError {
            throw TensorError("\(label) tensor '\(name)'", error.description)
        }
    }

    /// Copies a strided view element by element into row-major order (bounds were checked when the record was made).
    static func gather(from base: UnsafeRawPointer, record r: TorchPickleResolver.TensorRecord, elementSize size: Int,
                       into out: UnsafeMutableRawPointer) {
        let count = r.shape.reduce(1, *)
        guard count > 0 else { return }
        let rank = r.shape.count
        var index = [Int](repeating: 0, count: rank)
        var source = r.offset
        for k in 0..<count {
            out.advanced(by: k * size).copyMemory(from: base + source * size, byteCount: size)
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                source += r.strides[d]
                if index[d] < r.shape[d] { break }
                source -= r.strides[d] * r.shape[d]
                index[d] = 0
                d -= 1
            }
        }
    }
}

/// A heap buffer that owns bytes some tensors view.
final class RawBuffer {
    let pointer: UnsafeMutableRawPointer
    init(byteCount: Int) { pointer = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 16), alignment: 64) }
    deinit { pointer.deallocate() }
}
