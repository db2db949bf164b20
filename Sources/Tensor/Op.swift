/// The closed set of differentiable primitives, each with what it saved for backward.
/// Composite operations (softmax, losses, dropout) are built from these and have no backward rule of their own.
/// Attention and layer norm are fused primitives whose composites stay as their readable references.
enum Op {
    case leaf
    case released                                       // backward ran and freed the saved data
    case unary(UnaryKind, output: Tensor?)              // inputs: x; output kept only when the rule reads it
    case binary(BinaryKind)                             // inputs: a, b (broadcast)
    case matmul(transA: Bool, transB: Bool)             // inputs: a (..., M, K), b (..., K, N)
    case attention(scale: Float, output: Tensor, logsumexp: Tensor) // inputs: q (..., Lq, D), k (..., Lk, D), v (..., Lk, Dv)
    case conv2d(ConvGeometry)                           // inputs: x (N, C, H, W), w (O, C/g, kh, kw)[, b (O)]
    case convTranspose2d(ConvGeometry)                  // inputs: x (N, C, H, W), w (C, O/g, kh, kw)[, b (O)]
    case groupNorm(groups: Int, mean: Tensor, rstd: Tensor) // inputs: x (N, C, *), w (C), b (C)
    case layerNorm(hasWeight: Bool, hasBias: Bool, mean: Tensor, rstd: Tensor) // inputs: x (..., d)[, w (d)][, b (d)]
    case upsampleNearest(Int)                           // inputs: x (N, C, H, W)
    case upsampleBilinear(alignCorners: Bool)           // inputs: x (N, C, H, W)
    case avgPool2d(kernel: Int, stride: Int)            // inputs: x (N, C, H, W)
    case maxPool2d(kernel: Int, stride: Int, argmax: [Int32])
    case concat(axis: Int)                              // inputs: the parts
    case slice(axis: Int, start: Int)                   // inputs: x
    case pad(left: Int, right: Int, top: Int, bottom: Int) // inputs: x (..., H, W)
    case reshape                                        // inputs: x
    case permute([Int])                                 // inputs: x
    case sum(keptShape: [Int])                          // inputs: x; output reshaped from keptShape
    case max(axis: Int, argmax: [Int32])                // inputs: x; output keeps the axis with size 1
    case checkpoint(Recompute)                          // inputs: the segment's inputs; recomputed in backward

    /// Name for messages.
    var name: String {
        switch self {
        case .leaf: return "leaf"
        case .released: return "released"
        case .unary(let k, _): return "unary \(k)"
        case .binary(let k): return "binary \(k)"
        case .matmul: return "matmul"
        case .attention: return "attention"
        case .conv2d: return "conv2d"
        case .convTranspose2d: return "convTranspose2d"
        case .groupNorm: return "groupNorm"
        case .layerNorm: return "layerNorm"
        case .upsampleNearest: return "upsampleNearest"
        case .upsampleBilinear: return "upsampleBilinear"
        case .avgPool2d: return "avgPool2d"
        case .maxPool2d: return "maxPool2d"
        case .concat: return "concat"
        case .slice: return "slice"
        case .pad: return "pad"
        case .reshape: return "reshape"
        case .permute: return "permute"
        case .sum: return "sum"
        case .max: return "max"
        case .checkpoint: return "checkpoint"
        }
    }

    /// The gradients with respect to `inputs` given the gradient `grad` of the output (nil: not needed).
    /// Runs with recording off.
    func backward(inputs: [Tensor], grad g: Tensor) throws -> [Tensor?] {
        let need = inputs.map { $0.node != nil }
        switch self {
        case .leaf, .released:
            return []
        case .unary(let kind, let output):
            return [inputs[0].unaryBackward(kind, output: output, grad: g)]
        case .binary(let kind):
            let a = inputs[0], b = inputs[1]
            switch kind {
            case .add:
                return [need[0] ? g.reduced(to: a.shape) : nil, need[1] ? g.reduced(to: b.shape) : nil]
            case .sub:
                return [need[0] ? g.reduced(to: a.shape) : nil, need[1] ? (-g).reduced(to: b.shape) : nil]
            case .mul:
                return [need[0] ? try (g * b.detached).reduced(to: a.shape) : nil,
                        need[1] ? try (g * a.detached).reduced(to: b.shape) : nil]
            case .div:
                let bd = b.detached
                return [need[0] ? try (g / bd).reduced(to: a.shape) : nil,
                        need[1] ? try (-(g * a.detached) / (bd * bd)).reduced(to: b.shape) : nil]
            }
        case .matmul(let ta, let tb):
            let a = inputs[0].detached, b = inputs[1].detached
            var ga: Tensor? = nil, gb: Tensor? = nil
            switch (ta, tb) {
            case (false, false):
                if need[0] { ga = try Tensor.matmul(g, b, transposeB: true) }
                if need[1] { gb = try Tensor.matmul(a, g, transposeA: true) }
            case (false, true):
                if need[0] { ga = try Tensor.matmul(g, b) }
                if need[1] { gb = try Tensor.matmul(g, a, transposeA: true) }
            case (true, false):
                if need[0] { ga = try Tensor.matmul(b, g, transposeB: true) }
                if need[1] { gb = try Tensor.matmul(a, g) }
            case (true, true):
                if need[0] { ga = try Tensor.matmul(b, g, transposeA: true, transposeB: true) }
                if need[1] { gb = try Tensor.matmul(g, a, transposeA: true, transposeB: true) }
            }
            return [ga, gb]
        case .attention(let scale, let output, let lse):
            return Tensor.attentionBackward(inputs: inputs, grad: g, scale: scale, output: output, logsumexp: lse, need: need)
        case .conv2d(let geo):
            return Conv.backward(x: inputs[0], w: inputs[1], hasBias: inputs.count > 2, grad: g, geo: geo, need: need)
        case .convTranspose2d(let geo):
            return Conv.transposeBackward(x: inputs[0], w: inputs[1], hasBias: inputs.count > 2, grad: g, geo: geo, need: need)
        case .groupNorm(let groups, let mean, let rstd):
            return Norm.groupNormBackward(x: inputs[0], w: inputs[1], grad: g, groups: groups, mean: mean, rstd: rstd)
        case .layerNorm(let hasWeight, let hasBias, let mean, let rstd):
            return Tensor.layerNormBackward(inputs: inputs, grad: g, hasWeight: hasWeight, hasBias: hasBias, mean: mean,
                                            rstd: rstd, need: need)
        case .upsampleNearest(let s):
            return [Resample.nearestBackward(g, scale: s, inputShape: inputs[0].shape)]
        case .upsampleBilinear(let ac):
            return [Resample.bilinearBackward(g, inputShape: inputs[0].shape, alignCorners: ac)]
        case .avgPool2d(let k, let s):
            return [Resample.avgPoolBackward(g, inputShape: inputs[0].shape, kernel: k, stride: s)]
        case .maxPool2d(_, _, let argmax):
            return [Resample.maxPoolBackward(g, inputShape: inputs[0].shape, argmax: argmax)]
        case .concat(let axis):
            var start = 0
            return try inputs.map { part in
                defer { start += part.shape[axis] }
                return try g.slice(axis: axis, start, start + part.shape[axis])
            }
        case .slice(let axis, let start):
            return [Shapes.sliceBackward(g, inputShape: inputs[0].shape, axis: axis, start: start)]
        case .pad(let l, let r, let t, let b):
            let h = g.shape[g.rank - 2], w = g.shape[g.rank - 1]
            return [try g.slice(axis: g.rank - 2, t, h - b).slice(axis: g.rank - 1, l, w - r)]
        case .reshape:
            return [try g.reshaped(inputs[0].shape)]
        case .permute(let perm):
            var inverse = perm
            for (i, p) in perm.enumerated() { inverse[p] = i }
            return [try g.permuted(inverse)]
        case .sum(let kept):
            return [try g.reshaped(kept).expanded(to: inputs[0].shape)]
        case .max(let axis, let argmax):
            return [Shapes.maxBackward(g, inputShape: inputs[0].shape, axis: axis, argmax: argmax)]
        case .checkpoint(let recompute):
            return try recompute.backward(inputs: inputs, grad: g)
        }
    }
}
