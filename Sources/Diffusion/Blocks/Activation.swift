import Tensor
import NN

/// The activations diffusers' `get_activation` names (`act_fn`, `non_linearity`, `resnet_act_fn`), as far as the
/// engine has them as ops.
public enum Activation: String, Sendable {
    case silu, swish, gelu, relu

    /// The activation a config names, or a `ConfigValueError` naming `key` when it is not implemented.
    public static func named(_ name: String, key: String) throws -> Activation {
        guard let a = Activation(rawValue: name) else {
            throw ConfigValueError.unsupported(key, "'\(name)'", supported: ["silu", "swish", "gelu", "relu"])
        }
        return a
    }

    /// The engine's fused-kernel form of this activation (applied in the same pass as a norm), or nil when the
    /// kernels have none (relu).
    public var fused: FusedActivation? {
        switch self {
        case .silu, .swish: return .silu
        case .gelu: return .gelu
        case .relu: return nil
        }
    }

    /// `self(norm(x))`, in one pass where the kernels have this activation.
    public func after(_ norm: GroupNorm, _ x: consuming Tensor) throws -> Tensor {
        if let f = fused { return try norm(x, then: f) }
        return try self(norm(x))
    }

    /// Applies the activation element-wise.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case .silu, .swish: return x.silu()
        case .gelu: return x.gelu()
        case .relu: return x.relu()
        }
    }
}
