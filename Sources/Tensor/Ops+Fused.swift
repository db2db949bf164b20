import Foundation

/// An activation that inference kernels apply in the same pass that produces its input.
public enum Activation: String, Sendable, CaseIterable {
    /// No activation.
    case identity
    /// x * sigmoid(x).
    case silu
    /// 0.5 x (1 + erf(x / sqrt 2)), PyTorch's default GELU.
    case gelu
    /// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), PyTorch's `gelu(approximate="tanh")`.
    case geluTanh

    /// The activation on eight lanes (the fused kernels' inner loop).
    @inline(__always) func apply8(_ v: SIMD8<Float>) -> SIMD8<Float> {
        switch self {
        case .identity: return v
        case .silu: return FastMath.silu8(v)
        case .gelu: return FastMath.gelu8(v)
        case .geluTanh: return FastMath.geluTanh8(v)
        }
    }

    /// The activation on one value (tails of rows), lane-for-lane equal to `apply8`.
    @inline(__always) func apply(_ v: Float) -> Float { apply8(SIMD8(repeating: v))[0] }
}

/// `Activation` under a name that modules with an activation enum of their own (Diffusion's) can still spell:
/// `Tensor.Activation` would name a member of the `Tensor` struct, not this module's type.
public typealias FusedActivation = Activation

/// Fused inference kernels: one pass over memory for norm + affine + activation.
enum Fused {
    /// o[i] = act(x[i] * scale + shift) for i in 0..<n (o may equal x).
    @inline(__always)
    static func affine(_ x: UnsafeMutablePointer<Float>, _ o: UnsafeMutablePointer<Float>, _ n: Int,
                       scale: Float, shift: Float, _ act: Activation) {
        var i = 0
        while i + 8 <= n {
            let v = act.apply8(x.loadV(i) * scale + shift)
            UnsafeMutableRawPointer(o + i).storeBytes(of: v, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { o[i] = act.apply(x[i] * scale + shift); i += 1 }
    }

    /// o[i] = act(x[i]) over `range` (o may equal x).
    static func activate(_ x: UnsafeMutablePointer<Float>, _ o: UnsafeMutablePointer<Float>, _ range: Range<Int>, _ act: Activation) {
        affine(x + range.lowerBound, o + range.lowerBound, range.count, scale: 1, shift: 0, act)
    }

    /// Group norm statistics and output, one (sample, group) per task: mean and 1/sqrt(var + eps) in double
    /// over shifted values, then y = act(x * (rstd w) + (b - mean rstd w)) per channel.
    static func groupNorm(x: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, n: Int, c: Int, spatial s: Int,
                          groups: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, eps: Float, _ act: Activation) {
        let cg = c / groups
        Parallel.forEach(n * groups) { ng in
            let b = ng / groups, gi = ng % groups
            let base = (b * c + gi * cg) * s, m = cg * s
            let mu = Norm.sum(x + base, m, shift: 0) / Double(m)
            let sq = Norm.sumOfSquares(x + base, m, shift: Float(mu))
            let rs = Float(1 / (sq / Double(m) + Double(eps)).squareRoot()), muF = Float(mu)
            for ci in (gi * cg)..<((gi + 1) * cg) {
                let scale = rs * weight[ci], shift = bias[ci] - muF * scale
                let cb = (b * c + ci) * s
                affine(x + cb, out + cb, s, scale: scale, shift: shift, act)
            }
        }
    }

    /// Layer norm over rows of length d: y = (x - mean) rstd * w + b.
    static func layerNorm(x: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, rows: Int, d: Int,
                          weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, eps: Float) {
        Parallel.forChunks(rows, grain: Swift.max(1, Parallel.grain / Swift.max(1, d))) { range in
            for r in range {
                let xr = x + r * d, orow = out + r * d
                let mu = Norm.sum(xr, d, shift: 0) / Double(d)
                let sq = Norm.sumOfSquares(xr, d, shift: Float(mu))
                let rs = Float(1 / (sq / Double(d) + Double(eps)).squareRoot()), muF = Float(mu)
                if let weight {
                    for j in 0..<d { orow[j] = (xr[j] - muF) * rs * weight[j] + (bias?[j] ?? 0) }
                } else if let bias {
                    for j in 0..<d { orow[j] = (xr[j] - muF) * rs + bias[j] }
                } else {
                    for j in 0..<d { orow[j] = (xr[j] - muF) * rs }
                }
            }
        }
    }
}

extension Tensor {
    /// Where an inference kernel may write its result: this tensor's own buffer when nothing else holds it
    /// (the caller handed over its last reference), else a new buffer.
    mutating func inferenceOutput() -> Tensor {
        if storage.dtype == .f32 && !storage.isReadOnly && isKnownUniquelyReferenced(&storage) {
            return Tensor(storage: storage, shape: shape)
        }
        return Tensor.empty(shape)
    }

    /// The values as float32 for the duration of `body`: the buffer itself for f32, a scratch conversion for f16
    /// and bf16 (never the storage's kept float32 copy, so large half-precision weights cost no lasting memory).
    @inline(__always)
    func withF32<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        try withFloat32Values { try body($0.baseAddress ?? UnsafePointer(storage.pointer)) }
    }

    /// `activation(self)`. Without a graph to record: one vectorised pass, written into this tensor's buffer when
    /// the caller passes its last reference (`x.activated(.silu)` on a temporary); with one: the primitives
    /// (`silu`, `gelu`, and the tanh form composed from `tanh`), which have gradients.
    public consuming func activated(_ activation: Activation) throws -> Tensor {
        var x = self   // an ordinary (copyable) binding that holds the caller's reference
        if Tensor.recording(x) {
            switch activation {
            case .identity: return x
            case .silu: return x.silu()
            case .gelu: return x.gelu()
            case .geluTanh: return try x.geluTanhComposite()
            }
        }
        if activation == .identity { return x }
        let out = x.inferenceOutput()
        x.withF32 { xp in Fused.activate(UnsafeMutablePointer(mutating: xp), out.storage.pointer, 0..<x.count, activation) }
        return out
    }

    /// `self + other` for a residual connection. Without a graph to record and with equal shapes, the sum is written
    /// into this tensor's buffer when the caller hands over its last reference (`attn(x).plus(x)`), saving a
    /// buffer and a pass; otherwise it is the broadcasting primitive `+`.
    public consuming func plus(_ other: Tensor) throws -> Tensor {
        var x = self   // an ordinary (copyable) binding that holds the caller's reference
        guard !Tensor.recording(x, other), x.shape == other.shape else { return try x + other }
        let out = x.inferenceOutput()
        let n = x.count, o = out.storage.pointer
        x.withF32 { xp in other.withF32 { yp in
            Parallel.forChunks(n) { range in
                for i in range { o[i] = xp[i] + yp[i] }
            }
        } }
        return out
    }

    /// diffusers' GEGLU gate on the last axis: x (..., 2D) -> (..., D), the first half times the exact GELU of the
    /// second. Without a graph to record: one pass over x into a new (..., D) tensor; recording: slices, `gelu`
    /// and a product, which have gradients.
    public func gatedGELU() throws -> Tensor {
        guard rank >= 1, shape[rank - 1] % 2 == 0 else {
            throw TensorError("gatedGELU", "the last axis of \(shapeText(shape)) must have an even size")
        }
        let d = shape[rank - 1] / 2
        if Tensor.recording(self) {
            return try slice(axis: rank - 1, 0, d) * slice(axis: rank - 1, d, 2 * d).gelu()
        }
        let rows = d == 0 ? 0 : count / (2 * d)
        let out = Tensor.empty(Array(shape.dropLast()) + [d])
        let o = out.storage.pointer
        withF32 { xp in
            let x = UnsafeMutablePointer(mutating: xp)
            Parallel.forChunks(rows, grain: Swift.max(1, Parallel.grain / Swift.max(1, 2 * d))) { range in
                for r in range {
                    let value = x + r * 2 * d, gate = value + d, orow = o + r * d
                    var j = 0
                    while j + 8 <= d {
                        let y = value.loadV(j) * FastMath.gelu8(gate.loadV(j))
                        UnsafeMutableRawPointer(orow + j).storeBytes(of: y, as: SIMD8<Float>.self)
                        j += 8
                    }
                    while j < d { orow[j] = value[j] * FastMath.gelu8(SIMD8(repeating: gate[j]))[0]; j += 1 }
                }
            }
        }
        return out
    }

    /// GELU, tanh form, from primitives (the training path of `activated(.geluTanh)`).
    func geluTanhComposite() throws -> Tensor {
        // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        let inner = try (self + self * self * self * 0.044715) * 0.7978845608028654
        return try self * (inner.tanh() + 1) * 0.5
    }
}

/// `body` with `tensor`'s float32 values (see `Tensor.withF32`), or with nil when there is no tensor.
@inline(__always)
func withOptionalF32<R>(_ tensor: Tensor?, _ body: (UnsafePointer<Float>?) throws -> R) rethrows -> R {
    if let tensor { return try tensor.withF32 { try body($0) } }
    return try body(nil)
}
