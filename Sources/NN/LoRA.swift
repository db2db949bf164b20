import Tensor

/// A LoRA adapter on a frozen `Linear`, named as PEFT: `base_layer.*`, `lora_A.weight` (r, in), `lora_B.weight`
/// (out, r). y = base(x) + (alpha / r) * B(A(x)); B starts at zero so the adapter starts as the identity change.
public final class LoRALinear: Layer {
    public let base: Linear
    public let loraA: Parameter, loraB: Parameter
    public let scale: Float
    /// Whether the low-rank update is currently folded into the base weight.
    public private(set) var isMerged = false

    /// Wraps `base` (freezing it) with a rank-`rank` adapter.
    public init(base: Linear, rank: Int, alpha: Float? = nil, rng: inout RNG) {
        self.base = base
        base.setFrozen(true)
        let (out, inF) = (base.weight.shape[0], base.weight.shape[1])
        loraA = Parameter(Initializer.defaultWeight([rank, inF], fanIn: inF, rng: &rng))
        loraB = Parameter(Tensor(zeros: [out, rank]))
        scale = (alpha ?? Float(rank)) / Float(rank)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let y = try base(x)
        if isMerged { return y }
        let update = try Tensor.linear(Tensor.linear(x, weight: loraA.value), weight: loraB.value)
        return try y + update * scale
    }

    /// Folds scale * B A into the base weight (inference without the extra matmuls).
    public func merge() throws {
        guard !isMerged else { return }
        try addDelta(sign: 1)
        isMerged = true
    }

    /// Removes the folded update again.
    public func unmerge() throws {
        guard isMerged else { return }
        try addDelta(sign: -1)
        isMerged = false
    }

    private func addDelta(sign: Float) throws {
        let delta = try GradMode.noGrad { try Tensor.matmul(loraB.value, loraA.value) }   // (out, in)
        base.weight.withMutableValues { w in delta.withValues { d in for i in 0..<w.count { w[i] += sign * scale * d[i] } } }
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        scoped("base_layer", base) + [("lora_A.weight", loraA), ("lora_B.weight", loraB)]
    }
}

/// A LoRA adapter on a frozen `Conv2d` (groups 1), named as PEFT: `lora_A.weight` (r, C, kh, kw) with the base
/// geometry, `lora_B.weight` (O, r, 1, 1).
public final class LoRAConv2d: Layer {
    public let base: Conv2d
    public let loraA: Parameter, loraB: Parameter
    public let scale: Float
    /// Whether the low-rank update is currently folded into the base weight.
    public private(set) var isMerged = false

    /// Wraps `base` (freezing it) with a rank-`rank` adapter; throws for grouped convolutions.
    public init(base: Conv2d, rank: Int, alpha: Float? = nil, rng: inout RNG) throws {
        guard base.geometry.groups == 1 else { throw TensorError("LoRAConv2d", "grouped convolutions (groups \(base.geometry.groups)) are not supported") }
        self.base = base
        base.setFrozen(true)
        let s = base.weight.shape   // (O, C, kh, kw)
        loraA = Parameter(Initializer.defaultWeight([rank, s[1], s[2], s[3]], fanIn: s[1] * s[2] * s[3], rng: &rng))
        loraB = Parameter(Tensor(zeros: [s[0], rank, 1, 1]))
        scale = (alpha ?? Float(rank)) / Float(rank)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let y = try base(x)
        if isMerged { return y }
        let low = try Tensor.conv2d(x, weight: loraA.value, geometry: base.geometry)   // (N, r, H', W')
        return try y + Tensor.conv2d(low, weight: loraB.value) * scale
    }

    /// Folds scale * B A into the base weight.
    public func merge() throws {
        guard !isMerged else { return }
        try addDelta(sign: 1)
        isMerged = true
    }

    /// Removes the folded update again.
    public func unmerge() throws {
        guard isMerged else { return }
        try addDelta(sign: -1)
        isMerged = false
    }

    private func addDelta(sign: Float) throws {
        let r = loraA.shape[0], o = loraB.shape[0]
        let delta = try GradMode.noGrad {
            try Tensor.matmul(loraB.value.reshaped([o, r]), loraA.value.reshaped([r, -1]))   // (O, C*kh*kw)
        }
        base.weight.withMutableValues { w in delta.withValues { d in for i in 0..<w.count { w[i] += sign * scale * d[i] } } }
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        scoped("base_layer", base) + [("lora_A.weight", loraA), ("lora_B.weight", loraB)]
    }
}
