import Tensor
import NN

/// diffusers' `Attention` with its default processor (`AttnProcessor2_0`): `group_norm` (optional), `to_q`,
/// `to_k`, `to_v`, `to_out.0`. Self-attention, or cross-attention over a context of `crossAttentionDim` features.
/// The input is a sequence (N, L, queryDim) or a feature map (N, queryDim, H, W) whose pixels form the sequence,
/// as the VAE's mid block uses it.
///
///     h = group_norm(x)                       (over channels, when it has one)
///     o = to_out.0(sdpa(to_q(h), to_k(ctx ?? h), to_v(ctx ?? h)))     heads of dim_head, scale 1/sqrt(dim_head)
///     y = (o + (residual_connection ? x : 0)) / rescale_output_factor
public final class Attention: Module {
    /// The layer's hyper-parameters, named and defaulted as diffusers' constructor arguments.
    public struct Options: Sendable {
        /// Width of the input features (`query_dim`).
        public var queryDim: Int
        /// Width of the context for cross-attention; nil for self-attention.
        public var crossAttentionDim: Int?
        /// Number of heads (`heads`).
        public var heads: Int
        /// Width of each head (`dim_head`); the scores are scaled by 1/sqrt(dim_head).
        public var dimHead: Int
        /// Whether `to_q`, `to_k`, `to_v` have biases (`bias`).
        public var bias: Bool
        /// Whether `to_out.0` has a bias (`out_bias`).
        public var outBias: Bool
        /// Groups of the input group norm (`norm_num_groups`); nil for none.
        public var normNumGroups: Int?
        /// Epsilon of that group norm.
        public var eps: Float
        /// The output is divided by it (`rescale_output_factor`).
        public var rescaleOutputFactor: Float
        /// Whether the input is added to the output (`residual_connection`).
        public var residualConnection: Bool
        /// Options with diffusers' defaults.
        public init(queryDim: Int, crossAttentionDim: Int? = nil, heads: Int = 8, dimHead: Int = 64, bias: Bool = false,
                    outBias: Bool = true, normNumGroups: Int? = nil, eps: Float = 1e-5, rescaleOutputFactor: Float = 1,
                    residualConnection: Bool = false) {
            self.queryDim = queryDim; self.crossAttentionDim = crossAttentionDim; self.heads = heads
            self.dimHead = dimHead; self.bias = bias; self.outBias = outBias; self.normNumGroups = normNumGroups
            self.eps = eps; self.rescaleOutputFactor = rescaleOutputFactor; self.residualConnection = residualConnection
        }

        /// heads * dimHead, the width of the projections.
        public var innerDim: Int { heads * dimHead }
    }

    /// The hyper-parameters the layer was built with.
    public let options: Options
    public let groupNorm: GroupNorm?
    public let toQ: Linear, toK: Linear, toV: Linear, toOut: Linear

    /// Builds the layer; throws on widths that do not fit.
    public init(_ options: Options, rng: inout RNG) throws {
        let o = options
        guard o.queryDim > 0, o.heads > 0, o.dimHead > 0, (o.crossAttentionDim ?? 1) > 0 else {
            throw TensorError("Attention", "invalid sizes: query_dim \(o.queryDim), heads \(o.heads), dim_head \(o.dimHead)")
        }
        if let g = o.normNumGroups, g <= 0 || o.queryDim % g != 0 {
            throw TensorError("Attention", "norm_num_groups \(g) does not divide query_dim \(o.queryDim)")
        }
        guard o.rescaleOutputFactor != 0 else { throw TensorError("Attention", "rescale_output_factor must not be 0") }
        self.options = o
        groupNorm = o.normNumGroups.map { GroupNorm(groups: $0, channels: o.queryDim, eps: o.eps) }
        let contextDim = o.crossAttentionDim ?? o.queryDim
        toQ = Linear(o.queryDim, o.innerDim, bias: o.bias, rng: &rng)
        toK = Linear(contextDim, o.innerDim, bias: o.bias, rng: &rng)
        toV = Linear(contextDim, o.innerDim, bias: o.bias, rng: &rng)
        toOut = Linear(o.innerDim, o.queryDim, bias: o.outBias, rng: &rng)
    }

    /// x (N, L, queryDim) or (N, queryDim, H, W); context (N, Lc, crossAttentionDim) or nil -> the shape of x.
    /// With `projections`, cross-attention takes `to_k(context)` and `to_v(context)` from that memo when no graph is
    /// recorded and neither projection has an unfused LoRA adapter (the same values, computed once per context).
    public func callAsFunction(_ x: Tensor, context: Tensor? = nil, projections: ContextProjections? = nil) throws -> Tensor {
        let o = options
        let spatial = x.rank == 4
        guard (spatial && x.shape[1] == o.queryDim) || (x.rank == 3 && x.shape[2] == o.queryDim) else {
            throw TensorError("Attention", "input \(x.shape) should be (N, L, \(o.queryDim)) or (N, \(o.queryDim), H, W)")
        }
        let n = x.shape[0]
        if let context {
            let width = o.crossAttentionDim ?? o.queryDim
            guard context.rank == 3, context.shape[0] == n, context.shape[2] == width else {
                throw TensorError("Attention", "context \(context.shape) should be (\(n), L, \(width))")
            }
        }
        // The sequence (N, L, C) and, for a feature map, its pixels in row-major order.
        let seq = spatial ? try x.reshaped([n, o.queryDim, x.shape[2] * x.shape[3]]).permuted([0, 2, 1]) : x
        var h = seq
        if let groupNorm {                                                   // over channels: (N, C, L) layout
            let normed = try groupNorm(spatial ? x.reshaped([n, o.queryDim, x.shape[2] * x.shape[3]]) : seq.permuted([0, 2, 1]))
            h = try normed.permuted([0, 2, 1])                               // (N, L, C)
        }
        let ctx = context ?? h                                               // (N, Lc, Cctx)
        // Flash attention with or without a graph: memory of a few score tiles, never (N, heads, L, Lc); the heads
        // are read in place from the projections (N, L, heads x dimHead).
        let key: Tensor, value: Tensor                                       // (N, Lc, inner) each
        if let projections, let context, !GradMode.isEnabled, toK.lora == nil, toV.lora == nil {
            (key, value) = try projections.projections(of: self, context: context)
        } else {
            (key, value) = (try toK(ctx), try toV(ctx))
        }
        let merged = try Tensor.multiHeadAttention(query: toQ(h), key: key, value: value, heads: o.heads)
        var y = try toOut(merged)                                            // (N, L, queryDim)
        if spatial { y = try y.permuted([0, 2, 1]).reshaped(x.shape) }       // (N, C, H, W)
        if o.residualConnection { y = try y.plus(x) }
        return o.rescaleOutputFactor == 1 ? y : y / o.rescaleOutputFactor
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        scoped("group_norm", groupNorm) + scoped("to_q", toQ) + scoped("to_k", toK) + scoped("to_v", toV)
            + scoped("to_out.0", toOut)
    }
}
