import Tensor

/// A low-rank update attached by name to a `Linear` or `Conv2d` of a built model: y = base(x) + scale * up(down(x)),
/// with `down.weight` (r, in[, kh, kw]) and `up.weight` (out, r[, 1, 1]), so under the module its parameters are
/// `<module>.lora.down.weight` and `<module>.lora.up.weight`: the canonical names `NameMap.loraName` gives kohya,
/// PEFT and diffusers LoRA files, which therefore load with `model.load(from:strict: false)`.
/// `up` starts at zero, so a fresh adapter leaves the model's output unchanged.
public final class LoRAAdapter: Module {
    public let down: Parameter, up: Parameter
    /// alpha / rank.
    public let scale: Float

    /// An adapter of `rank` for a weight of shape `weightShape` ((out, in) or (out, in, kh, kw)).
    public init(weightShape w: [Int], rank: Int, alpha: Float? = nil, rng: inout RNG) {
        let fanIn = w.dropFirst().reduce(1, *)
        down = Parameter(Initializer.defaultWeight([rank] + w.dropFirst(), fanIn: fanIn, rng: &rng))
        up = Parameter(Tensor(zeros: w.count == 4 ? [w[0], rank, 1, 1] : [w[0], rank]))
        scale = (alpha ?? Float(rank)) / Float(max(rank, 1))
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] { [("down.weight", down), ("up.weight", up)] }

    /// x (..., in) -> scale * up(down(x)) (..., out).
    func linear(_ x: Tensor) throws -> Tensor {
        try Tensor.linear(Tensor.linear(x, weight: down.value), weight: up.value) * scale
    }

    /// x (N, C, H, W) -> scale * up(down(x)) with the base convolution's geometry for `down`.
    func convolved(_ x: Tensor, geometry: ConvGeometry) throws -> Tensor {
        let low = try Tensor.conv2d(x, weight: down.value, geometry: geometry)     // (N, r, H', W')
        return try Tensor.conv2d(low, weight: up.value) * scale
    }

    /// scale * up @ down in the weight's shape.
    func delta(weightShape w: [Int]) throws -> Tensor {
        let r = down.shape[0]
        return try GradMode.noGrad {
            try Tensor.matmul(up.value.reshaped([w[0], r]), down.value.reshaped([r, -1])).reshaped(w) * scale
        }
    }
}

/// Attaching and folding `LoRAAdapter`s by module name.
public enum LoRA {
    /// Attaches a rank-`rank` adapter to every `Linear` and (ungrouped) `Conv2d` of `model` whose dotted name
    /// satisfies `matching`, freezing its base weight and bias, and returns the names adapted. Modules that already
    /// have an adapter are left alone.
    @discardableResult
    public static func wrap(_ model: Module, rank: Int, alpha: Float? = nil, rng: inout RNG,
                            matching: (String) -> Bool) throws -> [String] {
        guard rank >= 1 else { throw TensorError("LoRA.wrap", "rank \(rank) must be at least 1") }
        var names: [String] = []
        for (name, m) in model.namedModules() where matching(name) {
            if let l = m as? Linear, l.lora == nil {
                l.lora = LoRAAdapter(weightShape: l.weight.shape, rank: rank, alpha: alpha, rng: &rng)
                l.weight.isFrozen = true; l.bias?.isFrozen = true
                names.append(name)
            } else if let c = m as? Conv2d, c.lora == nil, c.geometry.groups == 1 {
                c.lora = LoRAAdapter(weightShape: c.weight.shape, rank: rank, alpha: alpha, rng: &rng)
                c.weight.isFrozen = true; c.bias?.isFrozen = true
                names.append(name)
            }
        }
        return names
    }

    /// Folds every attached adapter into its base weight (keeping the weight's dtype) and removes it; returns the
    /// names folded.
    @discardableResult
    public static func fold(_ model: Module) throws -> [String] {
        var names: [String] = []
        for (name, m) in model.namedModules() {
            let target: (Parameter, LoRAAdapter)?
            if let l = m as? Linear, let a = l.lora { target = (l.weight, a) } else if let c = m as? Conv2d, let a = c.lora { target = (c.weight, a) } else { target = nil }
            guard let (weight, adapter) = target else { continue }
            let merged = try GradMode.noGrad { try (weight.value.detached.to(.f32) + adapter.delta(weightShape: weight.shape)).to(weight.dtype) }
            try weight.replace(with: merged, name: name)
            (m as? Linear)?.lora = nil
            (m as? Conv2d)?.lora = nil
            names.append(name)
        }
        return names
    }
}
