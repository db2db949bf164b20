/// The element types a tensor can be stored in. Arithmetic runs in float32; f16 and bf16 halve the memory of
/// weights, which stay in the dtype of their file unless a caller asks for another.
public enum DType: String, CaseIterable, Sendable, Codable, CustomStringConvertible {
    /// IEEE binary32.
    case f32
    /// IEEE binary16 (PyTorch `torch.float16`).
    case f16
    /// bfloat16: the top 16 bits of a binary32 (PyTorch `torch.bfloat16`).
    case bf16

    /// Bytes per element.
    public var size: Int { self == .f32 ? 4 : 2 }

    /// The name PyTorch prints (`float32`, `float16`, `bfloat16`).
    public var torchName: String {
        switch self {
        case .f32: return "float32"
        case .f16: return "float16"
        case .bf16: return "bfloat16"
        }
    }

    public var description: String { rawValue }

    /// Parses `f32`/`fp32`/`float32`, `f16`/`fp16`/`float16`/`half`, `bf16`/`bfloat16` (any case); nil otherwise.
    public init?(name: String) {
        switch name.lowercased() {
        case "f32", "fp32", "float32", "float": self = .f32
        case "f16", "fp16", "float16", "half": self = .f16
        case "bf16", "bfloat16": self = .bf16
        default: return nil
        }
    }
}

/// The element types checkpoint files hold (safetensors' set, which covers PyTorch's storages). Each converts to a
/// `DType` when read; only f32, f16 and bf16 can be views without conversion.
public enum ElementType: String, CaseIterable, Sendable {
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

    /// The tensor dtype with the same bytes, when there is one (so a file's data can be used in place).
    public var dtype: DType? {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        default: return nil
        }
    }

    /// Whether the values are floating point.
    public var isFloatingPoint: Bool { self == .f64 || self == .f32 || self == .f16 || self == .bf16 }

    /// The element type of a tensor dtype.
    public init(_ dtype: DType) {
        switch dtype {
        case .f32: self = .f32
        case .f16: self = .f16
        case .bf16: self = .bf16
        }
    }

    /// Parses a safetensors dtype name (`F32`, `BF16`, `I64`, `BOOL`, ...); nil for others.
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

    /// The safetensors name (`F32`, `BF16`, ...).
    public var safetensorsName: String { rawValue == "bool" ? "BOOL" : rawValue.uppercased() }
}
