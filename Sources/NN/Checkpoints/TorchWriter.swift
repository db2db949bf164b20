import Tensor

/// Writes a flat state dict as `torch.save` does (zip format: `archive/data.pkl`, `archive/byteorder`,
/// `archive/data/<key>`, `archive/version`), loadable with `torch.load(path, weights_only=True)`.
///
/// Streams to a temporary file renamed into place: the pickle first, then each tensor converted on its own to the
/// output dtype (f32, f16 or bf16) and written as a stored zip member aligned to 64 bytes, its CRC-32 computed on
/// the way and patched into the member's header. Archives past 4 GiB would need ZIP64 and are refused; this is
/// for small state dicts (heads, adapters). Use safetensors for whole models.
public enum TorchWriter {
    /// The archive's folder name inside the zip.
    static let root = "archive"

    /// Writes `tensors` in order to `path`; names must be unique.
    public static func write(_ tensors: [(name: String, tensor: Tensor)], dtype: DType = .f32, to path: String) throws {
        let label = "torch write '\(path)'"
        var seen = Set<String>()
        for (name, _) in tensors where !seen.insert(name).inserted { throw TensorError(label, "tensor name '\(name)' is used twice") }
        let total = tensors.reduce(0) { $0 + $1.tensor.count * dtype.size }
        guard tensors.count < 0xFFF0 else { throw TensorError(label, "\(tensors.count) tensors need ZIP64; save as safetensors") }
        guard total < 0xF000_0000 else { throw TensorError(label, "\(total) bytes need ZIP64; save large models as safetensors") }
        let pickle = pickleBytes(tensors.map { ($0.name, $0.tensor.shape) }, dtype: dtype)
        let out = try AtomicFile(path: path)
        var zip = ZipWriter(out: out)
        try zip.add("\(root)/data.pkl", pickle)
        try zip.add("\(root)/byteorder", Array("little".utf8))
        for (k, (_, t)) in tensors.enumerated() {
            try withConvertedBytes(t, as: dtype) { try zip.add("\(root)/data/\(k)", $0) }
        }
        try zip.add("\(root)/version", Array("3\n".utf8))
        try zip.finish()
        try out.commit()
    }

    /// Writes `tensors` sorted by name.
    public static func write(_ tensors: [String: Tensor], dtype: DType = .f32, to path: String) throws {
        try write(tensors.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, dtype: dtype, to: path)
    }

    /// The pickle of an OrderedDict of `_rebuild_tensor_v2` calls on storages "0", "1", ... (protocol 2).
    static func pickleBytes(_ shapes: [(String, [Int])], dtype: DType) -> [UInt8] {
        var p = PickleEmitter()
        p.op(0x80); p.op(2)                                               // PROTO 2
        p.global("collections", "OrderedDict"); p.op(0x29); p.op(0x52)    // OrderedDict()
        p.op(0x28)                                                        // MARK
        let storage: String
        switch dtype {
        case .f32: storage = "FloatStorage"
        case .f16: storage = "HalfStorage"
        case .bf16: storage = "BFloat16Storage"
        }
        for (k, (name, shape)) in shapes.enumerated() {
            p.string(name)
            p.global("torch._utils", "_rebuild_tensor_v2")
            p.op(0x28)                                                    // MARK (arguments)
            p.op(0x28)                                                    // MARK (persistent id)
            p.string("storage"); p.global("torch", storage); p.string(String(k)); p.string("cpu"); p.int(shape.reduce(1, *))
            p.op(0x74); p.op(0x51)                                        // TUPLE, BINPERSID
            p.int(0)                                                      // storage offset
            p.tuple(shape)
            var strides = [Int](repeating: 1, count: shape.count)
            for d in stride(from: shape.count - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * shape[d + 1] }
            p.tuple(strides)
            p.op(0x89)                                                    // requires_grad False
            p.global("collections", "OrderedDict"); p.op(0x29); p.op(0x52) // backward hooks
            p.op(0x74); p.op(0x52)                                        // TUPLE, REDUCE
        }
        p.op(0x75); p.op(0x2E)                                            // SETITEMS, STOP
        return p.bytes
    }
}

/// Pickle opcodes for the writer.
struct PickleEmitter {
    var bytes: [UInt8] = []
    mutating func op(_ b: UInt8) { bytes.append(b) }
    mutating func global(_ module: String, _ name: String) {
        op(0x63); bytes += Array(module.utf8); op(0x0A); bytes += Array(name.utf8); op(0x0A)
    }
    mutating func string(_ s: String) {
        let u = Array(s.utf8)
        op(0x58); le(UInt32(u.count)); bytes += u
    }
    mutating func int(_ v: Int) {
        if v >= 0 && v < 256 { op(0x4B); op(UInt8(v)) }
        else if v >= 0 && v < 65536 { op(0x4D); le(UInt16(v)) }
        else if let i = Int32(exactly: v) { op(0x4A); le(UInt32(bitPattern: i)) }
        else { op(0x8A); op(8); le(UInt64(bitPattern: Int64(v))) }
    }
    mutating func tuple(_ values: [Int]) {
        switch values.count {
        case 0: op(0x29)
        case 1: int(values[0]); op(0x85)
        case 2: int(values[0]); int(values[1]); op(0x86)
        case 3: values.forEach { int($0) }; op(0x87)
        default: op(0x28); values.forEach { int($0) }; op(0x74)
        }
    }
    mutating func le<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
}

/// A zip of stored members written in one pass: local header (CRC patched after the data), data aligned to 64
/// bytes by padding in the header's extra field, then the central directory.
struct ZipWriter {
    let out: AtomicFile
    private var central: [UInt8] = []
    private var count = 0

    init(out: AtomicFile) { self.out = out }

    mutating func add(_ name: String, _ data: [UInt8]) throws { try data.withUnsafeBytes { try add(name, $0) } }

    mutating func add(_ name: String, _ data: UnsafeRawBufferPointer) throws {
        let nameBytes = Array(name.utf8)
        let offset = out.written
        let unpadded = offset + 30 + nameBytes.count + 4
        let padding = (64 - unpadded % 64) % 64
        var h = PickleEmitter()
        h.le(UInt32(0x0403_4B50)); h.le(UInt16(20)); h.le(UInt16(0)); h.le(UInt16(0)); h.le(UInt16(0)); h.le(UInt16(0x21))
        h.le(UInt32(0)); h.le(UInt32(data.count)); h.le(UInt32(data.count))
        h.le(UInt16(nameBytes.count)); h.le(UInt16(4 + padding))
        h.bytes += nameBytes
        h.le(UInt16(0x4246)); h.le(UInt16(padding)); h.bytes += [UInt8](repeating: 0x5A, count: padding)
        try out.write(h.bytes)
        let crc = CRC32.checksum(data)
        try out.write(data)
        var c = PickleEmitter()
        c.le(crc)
        try c.bytes.withUnsafeBytes { try out.write($0, at: offset + 14) }
        var d = PickleEmitter()
        d.le(UInt32(0x0201_4B50)); d.le(UInt16(20)); d.le(UInt16(20)); d.le(UInt16(0)); d.le(UInt16(0)); d.le(UInt16(0)); d.le(UInt16(0x21))
        d.le(crc); d.le(UInt32(data.count)); d.le(UInt32(data.count))
        d.le(UInt16(nameBytes.count)); d.le(UInt16(0)); d.le(UInt16(0)); d.le(UInt16(0)); d.le(UInt16(0)); d.le(UInt32(0))
        d.le(UInt32(offset))
        d.bytes += nameBytes
        central += d.bytes
        count += 1
    }

    mutating func finish() throws {
        let start = out.written
        try out.write(central)
        var e = PickleEmitter()
        e.le(UInt32(0x0605_4B50)); e.le(UInt16(0)); e.le(UInt16(0)); e.le(UInt16(count)); e.le(UInt16(count))
        e.le(UInt32(central.count)); e.le(UInt32(start)); e.le(UInt16(0))
        try out.write(e.bytes)
    }
}

/// CRC-32 (IEEE 802.3, as zip uses).
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ data: UnsafeRawBufferPointer) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { t in
            for b in data { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return c ^ 0xFFFF_FFFF
    }
}
