import Foundation
import Tensor

/// Writing safetensors files, streamed tensor by tensor to a temporary file that is renamed into place: the
/// header is computed from the shapes first, then each tensor is converted to the output dtype (f32, f16 or bf16)
/// on its own and written, so at most one tensor's converted copy is in memory at a time.
public enum SafeTensors {
    /// Writes `tensors` in the given order (names must be unique) with string metadata to `path`.
    public static func write(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:],
                             dtype: DType = .f32, to path: String) throws {
        let label = "safetensors write '\(path)'"
        var seen = Set<String>()
        for (name, _) in tensors where !seen.insert(name).inserted || name == "__metadata__" {
            throw TensorError(label, "tensor name '\(name)' is used twice or reserved")
        }
        let header = try headerBytes(tensors.map { ($0.name, $0.tensor.shape) }, metadata: metadata, dtype: dtype, label: label)
        let out = try AtomicFile(path: path)
        try out.write(header)
        for (_, t) in tensors { try writeValues(t, as: dtype, to: out) }
        try out.commit()
    }

    /// Writes `tensors` sorted by name.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], dtype: DType = .f32, to path: String) throws {
        try write(tensors.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, metadata: metadata, dtype: dtype, to: path)
    }

    /// The whole file in memory (tests and small files): tensors sorted by name.
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:], dtype: DType = .f32) throws -> [UInt8] {
        let sorted = tensors.sorted { $0.key < $1.key }
        var out = try headerBytes(sorted.map { ($0.key, $0.value.shape) }, metadata: metadata, dtype: dtype, label: "safetensors encode")
        for (_, t) in sorted { try withConvertedBytes(t, as: dtype) { out.append(contentsOf: $0) } }
        return out
    }

    /// The 8-byte length and the JSON header (padded with spaces to a multiple of 8, so data starts aligned).
    static func headerBytes(_ shapes: [(String, [Int])], metadata: [String: String], dtype: DType, label: String) throws -> [UInt8] {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for (name, shape) in shapes {
            let bytes = shape.reduce(1, *) * dtype.size
            header[name] = ["dtype": ElementType(dtype).safetensorsName, "shape": shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        var json: Data
        do { json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]) } catch {
            throw TensorError(label, "cannot encode the header (\(error.localizedDescription))")
        }
        while json.count % 8 != 0 { json.append(0x20) }
        var out = [UInt8]()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: json)
        return out
    }

    static func writeValues(_ t: Tensor, as dtype: DType, to out: AtomicFile) throws {
        try withConvertedBytes(t, as: dtype) { try out.write($0) }
    }
}
