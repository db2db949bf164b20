import Tensor
import NN

/// diffusers' `BasicTransformerBlock` as the UNet uses it (layer norms, GEGLU, no ada-norm): self-attention,
/// cross-attention over the text context, feed-forward, each pre-normed and residual.
///
///     x = x + attn1(norm1(x));  x = x + attn2(norm2(x), context);  x = x + ff(norm3(x))
public final class BasicTransformerBlock: Module {
    public let norm1: LayerNorm, attn1: Attention
    public let norm2: LayerNorm, attn2: Attention
    public let norm3: LayerNorm, ff: FeedForward

    /// A block of width `dim` with `heads` heads of `headDim` and a context of `crossAttentionDim` features.
    public init(dim: Int, heads: Int, headDim: Int, crossAttentionDim: Int, normEps: Float = 1e-5,
                attentionBias: Bool = false, rng: inout RNG) throws {
        norm1 = LayerNorm(dim, eps: normEps)
        attn1 = try Attention(.init(queryDim: dim, heads: heads, dimHead: headDim, bias: attentionBias), rng: &rng)
        norm2 = LayerNorm(dim, eps: normEps)
        attn2 = try Attention(.init(queryDim: dim, crossAttentionDim: crossAttentionDim, heads: heads, dimHead: headDim,
                                    bias: attentionBias), rng: &rng)
        norm3 = LayerNorm(dim, eps: normEps)
        ff = FeedForward(dim: dim, rng: &rng)
    }

    /// x (N, L, dim), context (N, Lc, crossAttentionDim) -> (N, L, dim); `projections` memoizes the
    /// cross-attention's key and value projections of the context (inference).
    public func callAsFunction(_ x: Tensor, context: Tensor, projections: ContextProjections? = nil) throws -> Tensor {
        var h = try attn1(norm1(x)).plus(x)
        h = try attn2(norm2(h), context: context, projections: projections).plus(h)
        return try ff(norm3(h)).plus(h)
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        scoped("norm1", norm1) + scoped("attn1", attn1) + scoped("norm2", norm2) + scoped("attn2", attn2)
            + scoped("norm3", norm3) + scoped("ff", ff)
    }
}

/// diffusers' `Transformer2DModel` on continuous input, as the UNet's cross-attention blocks use it: `norm`
/// (GroupNorm, eps 1e-6), `proj_in`, `transformer_blocks`, `proj_out`, and a residual around them all. The
/// projections are Linear layers over the pixel sequence with `use_linear_projection` (SDXL), 1x1 convolutions
/// otherwise (SD 1.x).
///
///     h = proj_in(norm(x)) as (N, HW, inner);  h = blocks(h, context);  y = proj_out(h) as (N, C, H, W) + x
public final class Transformer2DModel: Module {
    /// A projection: Linear over (N, L, C) or a 1x1 convolution over (N, C, H, W).
    public enum Projection {
        case linear(Linear)
        case conv(Conv2d)

        var module: Module {
            switch self {
            case .linear(let l): return l
            case .conv(let c): return c
            }
        }
    }

    public let inChannels: Int
    public let innerDim: Int
    public let norm: GroupNorm
    public let projIn: Projection
    public let transformerBlocks: [BasicTransformerBlock]
    public let projOut: Projection

    /// `layers` blocks over `inChannels` features, `heads` heads of `headDim` (inner width heads * headDim).
    public init(heads: Int, headDim: Int, inChannels: Int, layers: Int, crossAttentionDim: Int, normGroups: Int,
                useLinearProjection: Bool, rng: inout RNG) throws {
        guard heads > 0, headDim > 0, layers >= 0, normGroups > 0, inChannels % normGroups == 0 else {
            throw TensorError("Transformer2DModel", "invalid sizes: \(heads) heads of \(headDim), \(inChannels) channels in \(normGroups) groups, \(layers) layers")
        }
        let inner = heads * headDim
        self.inChannels = inChannels; innerDim = inner
        norm = GroupNorm(groups: normGroups, channels: inChannels, eps: 1e-6)
        projIn = useLinearProjection ? .linear(Linear(inChannels, inner, rng: &rng))
                                     : .conv(Conv2d(inChannels, inner, kernelSize: 1, rng: &rng))
        var blocks: [BasicTransformerBlock] = []
        for _ in 0..<layers {
            blocks.append(try BasicTransformerBlock(dim: inner, heads: heads, headDim: headDim,
                                                    crossAttentionDim: crossAttentionDim, rng: &rng))
        }
        transformerBlocks = blocks
        projOut = useLinearProjection ? .linear(Linear(inner, inChannels, rng: &rng))
                                      : .conv(Conv2d(inner, inChannels, kernelSize: 1, rng: &rng))
    }

    /// x (N, C, H, W), context (N, Lc, crossAttentionDim) -> (N, C, H, W); `projections` as for the blocks.
    public func callAsFunction(_ x: Tensor, context: Tensor, projections: ContextProjections? = nil) throws -> Tensor {
        guard x.rank == 4, x.shape[1] == inChannels else {
            throw TensorError("Transformer2DModel", "input \(x.shape) should be (N, \(inChannels), H, W)")
        }
        let (h, w) = (x.shape[2], x.shape[3])
        let normed = try norm(x)                                             // (N, C, H, W)
        var seq: Tensor                                                      // (N, HW, inner)
        switch projIn {
        case .linear(let l): seq = try l(Self.pixelSequence(normed))
        case .conv(let c): seq = try Self.pixelSequence(c(normed))
        }
        for block in transformerBlocks { seq = try block(seq, context: context, projections: projections) }
        let out: Tensor                                                      // (N, C, H, W)
        switch projOut {
        case .linear(let l): out = try Self.featureMap(l(seq), height: h, width: w)
        case .conv(let c): out = try c(Self.featureMap(seq, height: h, width: w))
        }
        return try out.plus(x)
    }

    /// (N, C, H, W) -> (N, HW, C).
    static func pixelSequence(_ x: Tensor) throws -> Tensor {
        try x.reshaped([x.shape[0], x.shape[1], x.shape[2] * x.shape[3]]).permuted([0, 2, 1])
    }

    /// (N, HW, C) -> (N, C, H, W).
    static func featureMap(_ x: Tensor, height: Int, width: Int) throws -> Tensor {
        try x.permuted([0, 2, 1]).reshaped([x.shape[0], x.shape[2], height, width])
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        var out = scoped("norm", norm) + scoped("proj_in", projIn.module)
        for (i, b) in transformerBlocks.enumerated() { out += scoped("transformer_blocks.\(i)", b) }
        return out + scoped("proj_out", projOut.module)
    }
}
