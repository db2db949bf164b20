import Tensor

/// diffusers' `ResnetBlock2D` without time embedding: `norm1`, `conv1`, `norm2`, `conv2`, and `conv_shortcut`
/// (1x1) when the widths differ. y = shortcut(x) + conv2(silu(norm2(conv1(silu(norm1(x)))))).
public final class ResnetBlock2D: Layer {
    public let norm1: GroupNorm, conv1: Conv2d, norm2: GroupNorm, conv2: Conv2d
    public let convShortcut: Conv2d?

    /// A residual block from `inChannels` to `outChannels`.
    public init(_ inChannels: Int, _ outChannels: Int, groups: Int, eps: Float = 1e-6, rng: inout RNG) {
        norm1 = GroupNorm(groups: groups, channels: inChannels, eps: eps)
        conv1 = Conv2d(inChannels, outChannels, kernelSize: 3, padding: 1, rng: &rng)
        norm2 = GroupNorm(groups: groups, channels: outChannels, eps: eps)
        conv2 = Conv2d(outChannels, outChannels, kernelSize: 3, padding: 1, rng: &rng)
        convShortcut = inChannels == outChannels ? nil : Conv2d(inChannels, outChannels, kernelSize: 1, rng: &rng)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let h = try conv1(norm1(x).silu())          // (N, out, H, W)
        let h2 = try conv2(norm2(h).silu())         // (N, out, H, W)
        return try (convShortcut?(x) ?? x) + h2
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        scoped("norm1", norm1) + scoped("conv1", conv1) + scoped("norm2", norm2) + scoped("conv2", conv2)
            + scoped("conv_shortcut", convShortcut)
    }
}

/// Multi-head attention over the pixels of a feature map with a residual connection, named as diffusers'
/// `Attention` in UNet mid-blocks: `group_norm`, `to_q`, `to_k`, `to_v`, `to_out.0`. With a context
/// (N, L, contextDim) it is cross-attention: keys and values come from the context.
public final class AttentionBlock: Module {
    public let heads: Int
    public let groupNorm: GroupNorm
    public let toQ: Linear, toK: Linear, toV: Linear, toOut: Linear

    /// Attention over `channels` with `heads` heads; `contextDim` nil for self-attention.
    public init(channels: Int, heads: Int = 1, groups: Int = 32, contextDim: Int? = nil, eps: Float = 1e-6, rng: inout RNG) {
        self.heads = heads
        groupNorm = GroupNorm(groups: groups, channels: channels, eps: eps)
        toQ = Linear(channels, channels, rng: &rng)
        toK = Linear(contextDim ?? channels, channels, rng: &rng)
        toV = Linear(contextDim ?? channels, channels, rng: &rng)
        toOut = Linear(channels, channels, rng: &rng)
    }

    /// x (N, C, H, W), optional context (N, L, contextDim) -> (N, C, H, W).
    public func callAsFunction(_ x: Tensor, context: Tensor? = nil) throws -> Tensor {
        guard x.rank == 4, x.shape[1] == groupNorm.weight.shape[0] else {
            throw TensorError("AttentionBlock", "input \(x.shape) should be (N, \(groupNorm.weight.shape[0]), H, W)")
        }
        if let context, context.rank != 3 || context.shape[0] != x.shape[0] {
            throw TensorError("AttentionBlock", "context \(context.shape) should be (\(x.shape[0]), L, contextDim)")
        }
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        guard c % heads == 0 else { throw TensorError("AttentionBlock", "\(c) channels do not split into \(heads) heads") }
        let d = c / heads
        let seq = try groupNorm(x).reshaped([n, c, h * w]).permuted([0, 2, 1])   // (N, HW, C)
        let ctx = context ?? seq                                                  // (N, L, Cctx)
        func split(_ t: Tensor) throws -> Tensor {                                // (N, L, C) -> (N, heads, L, d)
            try t.reshaped([n, t.shape[1], heads, d]).permuted([0, 2, 1, 3])
        }
        let q = try split(toQ(seq)), k = try split(toK(ctx)), v = try split(toV(ctx))
        let o = try Tensor.scaledDotProductAttention(query: q, key: k, value: v)  // (N, heads, HW, d)
        let merged = try o.permuted([0, 2, 1, 3]).reshaped([n, h * w, c])         // (N, HW, C)
        let projected = try toOut(merged).permuted([0, 2, 1]).reshaped([n, c, h, w])
        return try projected + x
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        scoped("group_norm", groupNorm) + scoped("to_q", toQ) + scoped("to_k", toK) + scoped("to_v", toV) + scoped("to_out.0", toOut)
    }
}
