import Tensor

// TEMPORARY (until the lead's dtype API lands on main): the element types a file holds and the storage
// dtypes, with the same names and members as Sources/Tensor/DType.swift will have, plus the one place that
// turns raw file bytes into a tensor. Deleted at the merge.

/// Storage dtypes of tensors.
public enum DType: String { case f32, f16, bf16
    /// Bytes per element.
    public var size: Int { self == .f32 ? 4 : 2 }
}

/// Element types that files hold.
public enum ElementType: String, CaseIterable {
    case f64, f32, f16, bf16, i64, i32, i16, i8, u8, bool
    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8, .u8, .bool: return 1
        }
    }
    /// From a safetensors dtype name (`F16`).
    public init?(safetensors name: String) {
        switch name {
        case "F64": self = .f64
        case "F32": self = .f32
        case "F16": self = .f16
        case "BF16": self = .bf16
        case "I64": self = .i64
        case "I32": self = .i32
        case "I16": self = .i16
        case "I8": self = .i8
        case "U8": self = .u8
        case "BOOL": self = .bool
        default: return nil
        }
    }
    /// The safetensors dtype name.
    public var safetensorsName: String { self == .bool ? "BOOL" : rawValue.uppercased() }
    /// The storage dtype it maps to without conversion.
    public var dtype: DType? {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        default: return nil
        }
    }
}

/// Bytes of one tensor in a file -> a tensor (f32 only until the dtype API lands).
func makeTensor(_ raw: UnsafeRawPointer, element: ElementType, shape: [Int], owner: AnyObject, dtype: DType?) throws -> Tensor {
    var t = Tensor(zeros: shape)
    t.withMutableValues { dst in
        for i in 0..<dst.count { dst[i] = elementValue(raw, element, i) }
    }
    return t
}

func elementValue(_ src: UnsafeRawPointer, _ e: ElementType, _ i: Int) -> Float {
    switch e {
    case .f32: return Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
    case .f64: return Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
    case .f16: return Float(Float16(bitPattern: UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
    case .bf16: return Float(bitPattern: UInt32(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
    case .i64: return Float(Int64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
    case .i32: return Float(Int32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
    case .i16: return Float(Int16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
    case .i8: return Float(src.load(fromByteOffset: i, as: Int8.self))
    case .u8, .bool: return Float(src.load(fromByteOffset: i, as: UInt8.self))
    }
}

/// The little-endian bytes of `t` in `dtype` (one converted copy of this tensor at most).
func withConvertedBytes<R>(_ t: Tensor, as dtype: DType, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
    try t.withValues { v in
        switch dtype {
        case .f32: return try body(UnsafeRawBufferPointer(v))
        case .f16:
            let h = v.map { Float16($0).bitPattern }
            return try h.withUnsafeBytes { try body($0) }
        case .bf16:
            let h = v.map { x -> UInt16 in
                let b = x.bitPattern
                if x.isNaN { return UInt16(b >> 16) | 0x40 }
                return UInt16((b + 0x7FFF + ((b >> 16) & 1)) >> 16)
            }
            return try h.withUnsafeBytes { try body($0) }
        }
    }
}

/// Puts a loaded tensor into a parameter (copies until `Parameter.replace` lands).
func loadParameter(_ p: Parameter, from t: Tensor, name: String) throws {
    try p.assign(t, name: name)
}

/// The dtype of a tensor (f32 until the dtype API lands).
func sourceDType(_ t: Tensor) -> DType { .f32 }

/// `t` in `dtype` (self when nil or equal).
func convertTensor(_ t: Tensor, to dtype: DType?) throws -> Tensor { t }
