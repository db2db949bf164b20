import Foundation
import NN
import Tensor

/// `nn.Embedding` for inference: `weight` (V, D); looks up rows by id without recording a graph.
public final class TokenEmbedding: Module {
    /// The table (V, D), in any storage dtype.
    public let weight: Parameter

    /// A table of `count` rows of width `dim`, drawn N(0, 1) as PyTorch does (or uninitialised when deferred).
    public init(_ count: Int, _ dim: Int, rng: inout RNG) {
        weight = Parameter(Initializer.isDeferred ? Tensor.empty([count, dim]) : Tensor.randn([count, dim], rng: &rng))
    }

    /// Rows `ids` (N, L) -> (N, L, D), in f32 whatever the table's storage dtype. Throws on an id outside the table.
    public func callAsFunction(_ ids: [[Int]]) throws -> Tensor {
        let rows = weight.shape[0], dim = weight.shape[1]
        let n = ids.count, l = ids.first?.count ?? 0
        guard ids.allSatisfy({ $0.count == l }) else { throw TensorError("embedding", "the id rows differ in length") }
        for row in ids {
            if let bad = row.first(where: { $0 < 0 || $0 >= rows }) {
                throw TensorError("embedding", "id \(bad) is outside the table of \(rows) rows")
            }
        }
        let table = weight.value
        let size = table.dtype.size, rowBytes = dim * size
        var gathered = [UInt8](repeating: 0, count: n * l * rowBytes)
        table.withRawBytes { src in
            gathered.withUnsafeMutableBytes { dst in
                var k = 0
                for row in ids {
                    for id in row {
                        dst.baseAddress!.advanced(by: k * rowBytes)
                            .copyMemory(from: src.baseAddress!.advanced(by: id * rowBytes), byteCount: rowBytes)
                        k += 1
                    }
                }
            }
        }
        return try gathered.withUnsafeBytes { raw in
            try Tensor(converting: raw.baseAddress!, from: ElementType(table.dtype), shape: [n, l, dim], to: .f32)
        }
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] { [("weight", weight)] }
}

/// `CLIPTextEmbeddings`: `token_embedding` (V, D) and `position_embedding` (P, D), added.
public final class CLIPTextEmbeddings: Module {
    /// `token_embedding` (V, D).
    public let tokenEmbedding: TokenEmbedding
    /// `position_embedding` (P, D).
    public let positionEmbedding: TokenEmbedding

    init(_ config: CLIPTextConfig, rng: inout RNG) {
        tokenEmbedding = TokenEmbedding(config.vocabSize, config.hiddenSize, rng: &rng)
        positionEmbedding = TokenEmbedding(config.maxPositionEmbeddings, config.hiddenSize, rng: &rng)
    }

    /// ids (N, L) -> (N, L, D): token rows plus the rows of positions 0..<L.
    func callAsFunction(_ ids: [[Int]]) throws -> Tensor {
        let l = ids.first?.count ?? 0
        let positions = try positionEmbedding([Array(0..<l)])          // (1, L, D)
        return try tokenEmbedding(ids) + positions                      // (N, L, D)
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        scoped("token_embedding", tokenEmbedding) + scoped("position_embedding", positionEmbedding)
    }
}

/// `CLIPAttention`: multi-head self-attention with `q_proj`, `k_proj`, `v_proj`, `out_proj`, under CLIP's causal mask.
public final class CLIPAttention: Module {
    /// The query, key, value and output projections, (D, D) with bias.
    public let qProj: Linear, kProj: Linear, vProj: Linear, outProj: Linear
    let heads: Int

    init(_ config: CLIPTextConfig, rng: inout RNG) {
        let d = config.hiddenSize
        kProj = Linear(d, d, rng: &rng)
        vProj = Linear(d, d, rng: &rng)
        qProj = Linear(d, d, rng: &rng)
        outProj = Linear(d, d, rng: &rng)
        heads = config.numAttentionHeads
    }

    /// x (N, L, D) -> (N, L, D); `mask` (L, L) is added to the scores (0 where allowed, a large negative elsewhere).
    ///
    /// `Tensor.scaledDotProductAttention` takes no mask, so the masked form is composed here from the same
    /// primitives (matmul, softmax); the scale is 1/sqrt(head dim) as there.
    func callAsFunction(_ x: Tensor, mask: Tensor) throws -> Tensor {
        let n = x.shape[0], l = x.shape[1], d = x.shape[2], dh = d / heads
        func split(_ t: Tensor) throws -> Tensor {                     // (N, L, D) -> (N, H, L, Dh)
            try t.reshaped([n, l, heads, dh]).permuted([0, 2, 1, 3])
        }
        let q = try split(qProj(x)), k = try split(kProj(x)), v = try split(vProj(x))
        let scores = try Tensor.matmul(q, k, transposeB: true) * (1 / Float(dh).squareRoot()) + mask   // (N, H, L, L)
        let attended = try Tensor.matmul(scores.softmax(axis: -1), v)                                // (N, H, L, Dh)
        return try outProj(attended.permuted([0, 2, 1, 3]).reshaped([n, l, d]))
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        scoped("k_proj", kProj) + scoped("v_proj", vProj) + scoped("q_proj", qProj) + scoped("out_proj", outProj)
    }
}

/// `CLIPMLP`: `fc1`, the activation, `fc2`.
public final class CLIPMLP: Module {
    /// (I, D) and (D, I), with bias.
    public let fc1: Linear, fc2: Linear
    let activation: CLIPTextConfig.Activation

    init(_ config: CLIPTextConfig, rng: inout RNG) {
        fc1 = Linear(config.hiddenSize, config.intermediateSize, rng: &rng)
        fc2 = Linear(config.intermediateSize, config.hiddenSize, rng: &rng)
        activation = config.hiddenAct
    }

    /// x (N, L, D) -> (N, L, D).
    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let h = try fc1(x)                                              // (N, L, I)
        switch activation {
        case .gelu: return try fc2(h.gelu())
        case .quickGELU: return try fc2(h * (h * 1.702).sigmoid())
        }
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        scoped("fc1", fc1) + scoped("fc2", fc2)
    }
}

/// `CLIPEncoderLayer`: pre-norm self-attention and MLP, each with a residual.
public final class CLIPEncoderLayer: Module {
    /// `self_attn`.
    public let selfAttn: CLIPAttention
    /// `layer_norm1` (before attention) and `layer_norm2` (before the MLP).
    public let layerNorm1: LayerNorm, layerNorm2: LayerNorm
    /// `mlp`.
    public let mlp: CLIPMLP

    init(_ config: CLIPTextConfig, rng: inout RNG) {
        selfAttn = CLIPAttention(config, rng: &rng)
        layerNorm1 = LayerNorm(config.hiddenSize, eps: config.layerNormEps)
        mlp = CLIPMLP(config, rng: &rng)
        layerNorm2 = LayerNorm(config.hiddenSize, eps: config.layerNormEps)
    }

    /// x (N, L, D) -> (N, L, D).
    func callAsFunction(_ x: Tensor, mask: Tensor) throws -> Tensor {
        let h = try x + selfAttn(layerNorm1(x), mask: mask)
        return try h + mlp(layerNorm2(h))
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        scoped("self_attn", selfAttn) + scoped("layer_norm1", layerNorm1) + scoped("mlp", mlp)
            + scoped("layer_norm2", layerNorm2)
    }
}
