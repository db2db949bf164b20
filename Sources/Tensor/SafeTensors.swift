import Foundation

/// Element types of the safetensors format.
public enum SafeTensorsDType: String, CaseIterable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8, .u8, .bool: return 1
        }
    }
}

/// A safetensors file opened for reading: the header is parsed and checked up front, tensor data is
/// memory-mapped and converted to float32 only when asked for.
///
/// Every inconsistency (header length past the end, bad JSON, unknown dtype, shape not matching the byte
/// count, offsets out of range or overlapping) throws a `TensorError` naming the file and the tensor.
public final class SafeTensorsFile {
    /// One tensor's header entry.
    public struct Entry {
        public let dtype: SafeTensorsDType
        public let shape: [Int]
        /// Byte range inside the data section.
        public let range: Range<Int>
    }

    /// Free-form string metadata (`__metadata__`), e.g. a model's configuration.
    public let metadata: [String: String]
    /// Header entries by tensor name.
    public let entries: [String: Entry]
    /// Tensor names in file order.
    public var names: [String] { entries.sorted { $0.value.range.lowerBound < $1.value.range.lowerBound }.map(\.key) }

    private let label: String
    private let base: UnsafeRawPointer
    private let dataStart: Int
    private let release: () -> Void

    /// Memory-maps the file at `path` and checks its header.
    public convenience init(path: String) throws {
        let label = "safetensors '\(path)'"
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw TensorError(label, "cannot open (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw TensorError(label, "cannot stat") }
        let size = Int(st.st_size)
        guard size > 0 else { throw TensorError(label, "file is empty") }
        guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
            throw TensorError(label, "cannot map \(size) bytes")
        }
        try self.init(base: UnsafeRawPointer(map), size: size, label: label) { munmap(map, size) }
    }

    /// Parses safetensors bytes held in memory (`label` names them in errors).
    public convenience init(bytes: [UInt8], label: String = "safetensors bytes") throws {
        let copy = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        bytes.withUnsafeBytes { if let b = $0.baseAddress { copy.copyMemory(from: b, byteCount: bytes.count) } }
        try self.init(base: UnsafeRawPointer(copy), size: bytes.count, label: label) { copy.deallocate() }
    }

    private init(base: UnsafeRawPointer, size: Int, label: String, release: @escaping () -> Void) throws {
        self.base = base; self.label = label; self.release = release
        do {
            guard size >= 8 else { throw TensorError(label, "file of \(size) bytes is shorter than the 8-byte header length") }
            let headerLength = base.loadUnaligned(as: UInt64.self).littleEndian
            guard headerLength <= UInt64(size - 8) else {
                throw TensorError(label, "header length \(headerLength) runs past the end of the file (\(size) bytes)")
            }
            dataStart = 8 + Int(headerLength)
            let headerData = Data(bytes: base + 8, count: Int(headerLength))
            guard let json = try? JSONSerialization.jsonObject(with: headerData), let header = json as? [String: Any] else {
                throw TensorError(label, "header is not a JSON object")
            }
            (metadata, entries) = try Self.parseHeader(header, dataSize: size - dataStart, label: label)
        } catch {
            release()
            throw error
        }
    }

    deinit { release() }

    private static func parseHeader(_ header: [String: Any], dataSize: Int, label: String) throws -> ([String: String], [String: Entry]) {
        var metadata: [String: String] = [:]
        var entries: [String: Entry] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw TensorError(label, "__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw TensorError(label, "metadata '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            let place = "\(label) tensor '\(name)'"
            guard let info = value as? [String: Any] else { throw TensorError(place, "entry is not an object") }
            guard let dtypeName = info["dtype"] as? String else { throw TensorError(place, "missing dtype") }
            guard let dtype = SafeTensorsDType(rawValue: dtypeName) else { throw TensorError(place, "unknown dtype '\(dtypeName)'") }
            guard let shapeAny = info["shape"] as? [Any], let shape = shapeAny.map({ ($0 as? NSNumber)?.intValue }) as? [Int],
                  shape.allSatisfy({ $0 >= 0 }) else {
                throw TensorError(place, "shape is not a list of non-negative integers")
            }
            guard let offAny = info["data_offsets"] as? [Any], offAny.count == 2,
                  let begin = (offAny[0] as? NSNumber)?.intValue, let end = (offAny[1] as? NSNumber)?.intValue else {
                throw TensorError(place, "data_offsets is not a pair of integers")
            }
            guard begin >= 0, begin <= end, end <= dataSize else {
                throw TensorError(place, "data_offsets [\(begin), \(end)] fall outside the data section of \(dataSize) bytes")
            }
            var elements = 1
            for d in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else { throw TensorError(place, "shape \(shapeText(shape)) overflows") }
                elements = product
            }
            let (bytes, overflow) = elements.multipliedReportingOverflow(by: dtype.size)
            guard !overflow, bytes == end - begin else {
                throw TensorError(place, "shape \(shapeText(shape)) of \(dtypeName) needs \(overflow ? "too many" : String(bytes)) bytes but data_offsets span \(end - begin)")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, range: begin..<end)
        }
        let sorted = entries.sorted { $0.value.range.lowerBound < $1.value.range.lowerBound }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.value.range.lowerBound < a.value.range.upperBound {
            throw TensorError("\(label) tensor '\(b.key)'", "data overlaps tensor '\(a.key)'")
        }
        return (metadata, entries)
    }

    /// The tensor `name` converted to float32; throws when the file has no such tensor.
    public func tensor(_ name: String) throws -> Tensor {
        guard let e = entries[name] else { throw TensorError(label, "no tensor named '\(name)'") }
        var t = Tensor(zeros: e.shape)
        let src = base + dataStart + e.range.lowerBound
        t.withMutableValues { dst in
            for i in 0..<dst.count {
                switch e.dtype {
                case .f32: dst[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                case .f64: dst[i] = Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
                case .f16: dst[i] = Float(Float16(bitPattern: UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
                case .bf16: dst[i] = Float(bitPattern: UInt32(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
                case .i64: dst[i] = Float(Int64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
                case .i32: dst[i] = Float(Int32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
                case .i16: dst[i] = Float(Int16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
                case .i8: dst[i] = Float(src.load(fromByteOffset: i, as: Int8.self))
                case .u8, .bool: dst[i] = Float(src.load(fromByteOffset: i, as: UInt8.self))
                }
            }
        }
        return t
    }

    /// Every tensor, converted to float32.
    public func allTensors() throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for name in entries.keys { out[name] = try tensor(name) }
        return out
    }
}

/// Writing safetensors files.
public enum SafeTensors {
    /// Serialises tensors (sorted by name) and string metadata as safetensors bytes in F32 or F16.
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:], dtype: SafeTensorsDType = .f32) throws -> [UInt8] {
        guard dtype == .f32 || dtype == .f16 else {
            throw TensorError("safetensors write", "dtype \(dtype.rawValue) is not supported for writing (use F32 or F16)")
        }
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            guard let t = tensors[name] else { continue }
            let bytes = t.count * dtype.size
            header[name] = ["dtype": dtype.rawValue, "shape": t.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: json)
        for name in names {
            guard let t = tensors[name] else { continue }
            t.withValues { v in
                for x in v {
                    if dtype == .f32 {
                        withUnsafeBytes(of: x.bitPattern.littleEndian) { out.append(contentsOf: $0) }
                    } else {
                        withUnsafeBytes(of: Float16(x).bitPattern.littleEndian) { out.append(contentsOf: $0) }
                    }
                }
            }
        }
        return out
    }

    /// Writes tensors and metadata to `path` in F32 or F16.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], dtype: SafeTensorsDType = .f32, to path: String) throws {
        let bytes = try encode(tensors, metadata: metadata, dtype: dtype)
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        } catch {
            throw TensorError("safetensors write '\(path)'", error.localizedDescription)
        }
    }
}
