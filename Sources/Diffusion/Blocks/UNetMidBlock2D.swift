import Tensor
import NN

/// diffusers' `UNetMidBlock2D` (the VAE encoder's and decoder's middle): `resnets.0`, then per layer
/// `attentions.i` (one-head-per-`attention_head_dim` spatial self-attention with group norm and a residual, when
/// `add_attention`) and `resnets.i+1`. Time embeddings are optional (the VAE passes none).
public final class UNetMidBlock2D: Module {
    public let resnets: [ResnetBlock2D]
    /// One per layer; empty when the block has no attention.
    public let attentions: [Attention]

    /// A mid block over `channels` features with `layers` attention + resnet pairs.
    public init(channels: Int, tembChannels: Int?, layers: Int = 1, eps: Float = 1e-6, activation: Activation = .silu,
                groups: Int = 32, addAttention: Bool = true, attentionHeadDim: Int? = nil, outputScaleFactor: Float = 1,
                rng: inout RNG) throws {
        guard layers >= 0 else { throw TensorError("UNetMidBlock2D", "layers \(layers) must be >= 0") }
        let headDim = attentionHeadDim ?? channels
        guard headDim > 0, channels % headDim == 0 else {
            throw TensorError("UNetMidBlock2D", "attention_head_dim \(headDim) does not divide \(channels) channels")
        }
        let resnet = ResnetBlock2D.Options(inChannels: channels, outChannels: channels, tembChannels: tembChannels,
                                           groups: groups, eps: eps, activation: activation,
                                           outputScaleFactor: outputScaleFactor)
        var resnets = [try ResnetBlock2D(resnet, rng: &rng)]
        var attentions: [Attention] = []
        for _ in 0..<layers {
            if addAttention {
                attentions.append(try Attention(.init(queryDim: channels, heads: channels / headDim, dimHead: headDim,
                                                      bias: true, normNumGroups: groups, eps: eps,
                                                      rescaleOutputFactor: outputScaleFactor, residualConnection: true),
                                                rng: &rng))
            }
            resnets.append(try ResnetBlock2D(resnet, rng: &rng))
        }
        self.resnets = resnets
        self.attentions = attentions
    }

    /// x (N, C, H, W), temb (N, tembChannels) or nil -> (N, C, H, W).
    public func callAsFunction(_ x: Tensor, temb: Tensor? = nil) throws -> Tensor {
        var h = try resnets[0](x, temb: temb)
        for i in 1..<resnets.count {
            if !attentions.isEmpty { h = try attentions[i - 1](h) }
            h = try resnets[i](h, temb: temb)
        }
        return h
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        resnets.enumerated().flatMap { scoped("resnets.\($0.offset)", $0.element) }
            + attentions.enumerated().flatMap { scoped("attentions.\($0.offset)", $0.element) }
    }
}
