import Foundation
import Tensor

/// A safetensors file opened for reading: memory-mapped, the header parsed and checked up front, tensor data
/// untouched until asked for. A tensor read in the dtype it is stored in is a zero-copy view of the mapping.
///
/// Every inconsistency throws a `TensorError` naming the file and the tensor: a header length past the end or
/// over `maxHeaderBytes`, JSON that is not an object, an unknown dtype, a shape that is not a list of
/// non-negative integers (or has more than `maxRank` dimensions, or overflows), byte counts that do not match the
/// shape, offsets outside the data section, and overlapping tensors.
public final class SafeTensorsFile: TensorSource {
    /// One tensor's header entry.
    public struct Entry: Hashable {
        /// Element type in the file.
        public let dtype: ElementType
        /// Dimensions.
        public let shape: [Int]
        /// Byte range inside the data section.
        public let range: Range<Int>
    }

    /// The largest header accepted (the reference implementation's limit too).
    public static let maxHeaderBytes = 100 << 20
    /// The most dimensions a tensor may have.
    public static let maxRank = 32

    public let label: String
    public let metadata: [String: String]
    /// Header entries by tensor name.
    public let entries: [String: Entry]
    /// Tensor names in file order.
    public let names: [String]
    /// The mapped bytes (the owner of every zero-copy view).
    public let file: MappedFile
    private let dataStart: Int

    /// Memory-maps the file at `path` and checks its header.
    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path, label: "safetensors '\(path)'"))
    }

    /// Parses safetensors bytes held in memory (`label` names them in errors).
    public convenience init(bytes: [UInt8], label: String = "safetensors bytes") throws {
        try self.init(file: MappedFile(bytes: bytes, label: label))
    }

    /// Checks the header of mapped bytes.
    public init(file: MappedFile) throws {
        self.file = file
        label = file.label
        let size = file.count
        guard size >= 8 else { throw TensorError(label, "file of \(size) bytes is shorter than the 8-byte header length") }
        let headerLength = UInt64(littleEndian: file.base.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(size - 8) else {
            throw TensorError(label, "header length \(headerLength) runs past the end of the file (\(size) bytes)")
        }
        guard headerLength <= UInt64(Self.maxHeaderBytes) else {
            throw TensorError(label, "header length \(headerLength) exceeds the limit of \(Self.maxHeaderBytes) bytes")
        }
        dataStart = 8 + Int(headerLength)
        let headerData = Data(bytes: file.base + 8, count: Int(headerLength))
        guard let json = try? JSONSerialization.jsonObject(with: headerData), let header = json as? [String: Any] else {
            throw TensorError(label, "header is not a JSON object")
        }
        (metadata, entries) = try Self.parseHeader(header, dataSize: size - dataStart, label: label)
        names = entries.sorted { ($0.value.range.lowerBound, $0.key) < ($1.value.range.lowerBound, $1.key) }.map(\.key)
    }

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
            guard let dtype = ElementType(safetensors: dtypeName) else { throw TensorError(place, "unknown dtype '\(dtypeName)'") }
            guard let shapeAny = info["shape"] as? [Any], let shape = shapeAny.map({ integer($0) }) as? [Int],
                  shape.allSatisfy({ $0 >= 0 }) else {
                throw TensorError(place, "shape is not a list of non-negative integers")
            }
            guard shape.count <= maxRank else { throw TensorError(place, "shape has \(shape.count) dimensions (at most \(maxRank))") }
            guard let offAny = info["data_offsets"] as? [Any], offAny.count == 2,
                  let begin = integer(offAny[0]), let end = integer(offAny[1]) else {
                throw TensorError(place, "data_offsets is not a pair of integers")
            }
            guard begin >= 0, begin <= end, end <= dataSize else {
                throw TensorError(place, "data_offsets [\(begin), \(end)] fall outside the data section of \(dataSize) bytes")
            }
            guard let elements = checkedCount(shape) else { throw TensorError(place, "shape \(shapeString(shape)) overflows") }
            let (bytes, overflow) = elements.multipliedReportingOverflow(by: dtype.size)
            guard !overflow, bytes == end - begin else {
                throw TensorError(place, "shape \(shapeString(shape)) of \(dtypeName) needs \(overflow ? "too many" : String(bytes)) bytes but data_offsets span \(end - begin)")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, range: begin..<end)
        }
        let sorted = entries.filter { !$0.value.range.isEmpty }.sorted { $0.value.range.lowerBound < $1.value.range.lowerBound }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.value.range.lowerBound < a.value.range.upperBound {
            throw TensorError("\(label) tensor '\(b.key)'", "data overlaps tensor '\(a.key)'")
        }
        return (metadata, entries)
    }

    /// An integral JSON number.
    private static func integer(_ any: Any) -> Int? {
        guard let n = any as? NSNumber else { return nil }
        let d = n.doubleValue
        guard d == d.rounded(), abs(d) < 9.2e18 else { return nil }
        return n.intValue
    }

    public func info(_ name: String) -> TensorInfo? {
        entries[name].map { TensorInfo(elementType: $0.dtype, shape: $0.shape) }
    }

    /// Start of the bytes of `name` in the mapping.
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let e = entries[name] else { throw TensorError(label, "no tensor named '\(name)'") }
        return UnsafeRawBufferPointer(start: file.base + dataStart + e.range.lowerBound, count: e.range.count)
    }

    public func tensor(_ name: String, dtype: DType?) throws -> Tensor {
        guard let e = entries[name] else { throw TensorError(label, "no tensor named '\(name)'") }
        let raw = try rawBytes(name)
        do {
            return try makeTensor(raw.baseAddress ?? file.base, element: e.dtype, shape: e.shape, owner: file, dtype: dtype)
        } catch let error as TensorError {
            throw TensorError("\(label) tensor '\(name)'", error.description)
        }
    }
}
