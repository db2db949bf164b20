import Tensor

/// `nn.Conv2d`: parameters `weight` (O, C/groups, kh, kw) and `bias` (O).
public final class Conv2d: Layer {
    public let weight: Parameter
    public let bias: Parameter?
    public let geometry: ConvGeometry
    /// A low-rank adapter added to the output (`LoRA.wrap`); its parameters are `lora.down.weight`, `lora.up.weight`.
    public var lora: LoRAAdapter?

    /// A convolution initialised as in PyTorch from `rng`.
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize k: Int, stride: Int = 1, padding: Int = 0,
                dilation: Int = 1, groups: Int = 1, bias: Bool = true, rng: inout RNG) {
        let fanIn = inChannels / max(groups, 1) * k * k
        weight = Parameter(Initializer.defaultWeight([outChannels, inChannels / max(groups, 1), k, k], fanIn: fanIn, rng: &rng))
        self.bias = bias ? Parameter(Initializer.defaultBias(outChannels, fanIn: fanIn, rng: &rng)) : nil
        geometry = ConvGeometry(stride: stride, padding: padding, dilation: dilation, groups: groups)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let y = try Tensor.conv2d(x, weight: weight.value, bias: bias?.value, geometry: geometry)
        guard let lora else { return y }
        return try y + lora.convolved(x, geometry: geometry)
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) + scoped("lora", lora)
    }
}

/// `nn.ConvTranspose2d`: `weight` (C, O/groups, kh, kw) and `bias` (O).
public final class ConvTranspose2d: Layer {
    public let weight: Parameter
    public let bias: Parameter?
    public let geometry: ConvGeometry

    /// A transposed convolution initialised as in PyTorch (fan-in computed from weight dim 1, as PyTorch does).
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize k: Int, stride: Int = 1, padding: Int = 0,
                outputPadding: Int = 0, groups: Int = 1, bias: Bool = true, rng: inout RNG) {
        let fanIn = outChannels / max(groups, 1) * k * k
        weight = Parameter(Initializer.defaultWeight([inChannels, outChannels / max(groups, 1), k, k], fanIn: fanIn, rng: &rng))
        self.bias = bias ? Parameter(Initializer.defaultBias(outChannels, fanIn: fanIn, rng: &rng)) : nil
        geometry = ConvGeometry(stride: stride, padding: padding, groups: groups, outputPadding: outputPadding)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try Tensor.convTranspose2d(x, weight: weight.value, bias: bias?.value, geometry: geometry)
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }
}

/// `nn.Linear`: `weight` (out, in) and `bias` (out).
public final class Linear: Layer {
    public let weight: Parameter
    public let bias: Parameter?
    /// A low-rank adapter added to the output (`LoRA.wrap`); its parameters are `lora.down.weight`, `lora.up.weight`.
    public var lora: LoRAAdapter?

    /// A linear layer initialised as in PyTorch from `rng`.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, rng: inout RNG) {
        weight = Parameter(Initializer.defaultWeight([outFeatures, inFeatures], fanIn: inFeatures, rng: &rng))
        self.bias = bias ? Parameter(Initializer.defaultBias(outFeatures, fanIn: inFeatures, rng: &rng)) : nil
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let y = try Tensor.linear(x, weight: weight.value, bias: bias?.value)
        guard let lora else { return y }
        return try y + lora.linear(x)
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) + scoped("lora", lora)
    }
}

/// `nn.GroupNorm`: `weight` and `bias` (C), initialised to ones and zeros.
public final class GroupNorm: Layer {
    public let groups: Int
    public let eps: Float
    public let weight: Parameter, bias: Parameter

    /// Group norm over `channels` in `groups` groups.
    public init(groups: Int, channels: Int, eps: Float = 1e-5) {
        self.groups = groups; self.eps = eps
        weight = Parameter(Tensor(repeating: 1, shape: [channels]))
        bias = Parameter(Tensor(zeros: [channels]))
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try Tensor.groupNorm(x, groups: groups, weight: weight.value, bias: bias.value, eps: eps)
    }

    /// `activation(norm(x))`: for inference one pass over memory (statistics, affine and activation), written
    /// into x's buffer when the caller hands over its last reference; recording a graph, the primitives.
    public func callAsFunction(_ x: consuming Tensor, then activation: Activation) throws -> Tensor {
        try Tensor.groupNorm(x, groups: groups, weight: weight.value, bias: bias.value, eps: eps, activation: activation)
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] { [("weight", weight), ("bias", bias)] }
}

/// `nn.LayerNorm` over the last dimension: `weight` and `bias` (D).
public final class LayerNorm: Layer {
    public let eps: Float
    public let weight: Parameter, bias: Parameter

    /// Layer norm over a last dimension of size `dim`.
    public init(_ dim: Int, eps: Float = 1e-5) {
        self.eps = eps
        weight = Parameter(Tensor(repeating: 1, shape: [dim]))
        bias = Parameter(Tensor(zeros: [dim]))
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try Tensor.layerNorm(x, weight: weight.value, bias: bias.value, eps: eps)
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] { [("weight", weight), ("bias", bias)] }
}
