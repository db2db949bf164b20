import Tensor
import NN

/// Runs `body` on `inputs`, as a gradient-checkpointed segment when `checkpointing` (only matters while a graph is
/// recorded: the segment's activations are recomputed in backward instead of kept).
@inline(__always)
func segment(_ checkpointing: Bool, _ inputs: [Tensor], _ body: @escaping ([Tensor]) throws -> Tensor) throws -> Tensor {
    checkpointing && GradMode.isEnabled ? try Tensor.checkpoint(inputs, body) : try body(inputs)
}

/// The settings every resnet of a UNet shares (from its config).
struct UNetResnetSettings {
    let tembChannels: Int
    let groups: Int
    let eps: Float
    let activation: Activation
    let timeEmbeddingNorm: ResnetBlock2D.TimeEmbeddingNorm

    init(_ config: UNetConfig) {
        tembChannels = config.timeEmbedDim; groups = config.normNumGroups; eps = config.normEps
        activation = config.activation; timeEmbeddingNorm = config.resnetTimeScaleShift
    }

    func make(_ inChannels: Int, _ outChannels: Int, outputScaleFactor: Float = 1, rng: inout RNG) throws -> ResnetBlock2D {
        try ResnetBlock2D(.init(inChannels: inChannels, outChannels: outChannels, tembChannels: tembChannels, groups: groups,
                                eps: eps, activation: activation, outputScaleFactor: outputScaleFactor,
                                timeEmbeddingNorm: timeEmbeddingNorm), rng: &rng)
    }
}

/// diffusers' `DownBlock2D` (no `attentions`) and `CrossAttnDownBlock2D` (a `Transformer2DModel` after each resnet):
/// `resnets.i`, `attentions.i`, and `downsamplers.0` (a stride-2 3x3 convolution) unless it is the last block.
/// It returns its output and the skip tensors the up path concatenates: each resnet's (or attention's) output,
/// then the downsampler's.
public final class UNetDownBlock: Module {
    public let resnets: [ResnetBlock2D]
    /// Empty for a `DownBlock2D`.
    public let attentions: [Transformer2DModel]
    public let downsampler: Downsample2D?

    /// Down block `index` of `config`, from `inChannels` to `block_out_channels[index]`.
    init(config: UNetConfig, index i: Int, inChannels: Int, settings: UNetResnetSettings, rng: inout RNG) throws {
        let out = config.blockOutChannels[i]
        var resnets: [ResnetBlock2D] = [], attentions: [Transformer2DModel] = []
        for layer in 0..<config.layersPerBlock[i] {
            resnets.append(try settings.make(layer == 0 ? inChannels : out, out, rng: &rng))
            if config.downBlockTypes[i] == .crossAttention {
                attentions.append(try Transformer2DModel(
                    heads: config.attentionHeads[i], headDim: config.headDim(block: i), inChannels: out,
                    layers: config.transformerLayersPerBlock[i][layer], crossAttentionDim: config.crossAttentionDim[i],
                    normGroups: config.normNumGroups, useLinearProjection: config.useLinearProjection, rng: &rng))
            }
        }
        self.resnets = resnets; self.attentions = attentions
        let isLast = i == config.blockOutChannels.count - 1
        downsampler = isLast ? nil : try Downsample2D(channels: out, useConv: true, outChannels: out,
                                                     padding: config.downsamplePadding, rng: &rng)
    }

    /// x (N, C, H, W), temb (N, T), context (N, L, D) -> the output (N, out, H', W') and the skips.
    func callAsFunction(_ x: Tensor, temb: Tensor, context: Tensor, projections: ContextProjections?, checkpointing: Bool) throws -> (Tensor, [Tensor]) {
        var h = x
        var skips: [Tensor] = []
        for (layer, resnet) in resnets.enumerated() {
            h = try segment(checkpointing, [h, temb]) { try resnet($0[0], temb: $0[1]) }
            if !attentions.isEmpty {
                let attention = attentions[layer]
                h = try segment(checkpointing, [h, context]) { try attention($0[0], context: $0[1], projections: projections) }
            }
            skips.append(h)
        }
        if let downsampler {
            h = try downsampler(h)
            skips.append(h)
        }
        return (h, skips)
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        var out: [(name: String, parameter: Parameter)] = []
        for (i, a) in attentions.enumerated() { out += scoped("attentions.\(i)", a) }
        for (i, r) in resnets.enumerated() { out += scoped("resnets.\(i)", r) }
        return out + scoped("downsamplers.0", downsampler)
    }
}

/// diffusers' `UNetMidBlock2DCrossAttn`: `resnets.0`, then for each layer `attentions.i` and `resnets.i+1`, at the
/// width of the last down block; the resnets divide by `mid_block_scale_factor`.
public final class UNetMidBlock2DCrossAttn: Module {
    public let resnets: [ResnetBlock2D]
    public let attentions: [Transformer2DModel]

    /// The mid block of `config` (one attention layer, as diffusers builds it for the UNet).
    init(config: UNetConfig, settings: UNetResnetSettings, rng: inout RNG) throws {
        let last = config.blockOutChannels.count - 1
        let channels = config.blockOutChannels[last], scale = config.midBlockScaleFactor
        var resnets = [try settings.make(channels, channels, outputScaleFactor: scale, rng: &rng)]
        // diffusers gives the mid block the last down block's first per-resnet transformer depth.
        let depth = config.transformerLayersPerBlock[last].first ?? 1
        let attentions = [try Transformer2DModel(
            heads: config.attentionHeads[last], headDim: config.headDim(block: last), inChannels: channels, layers: depth,
            crossAttentionDim: config.crossAttentionDim[last], normGroups: config.normNumGroups,
            useLinearProjection: config.useLinearProjection, rng: &rng)]
        resnets.append(try settings.make(channels, channels, outputScaleFactor: scale, rng: &rng))
        self.resnets = resnets; self.attentions = attentions
    }

    /// x (N, C, H, W), temb (N, T), context (N, L, D) -> (N, C, H, W).
    func callAsFunction(_ x: Tensor, temb: Tensor, context: Tensor, projections: ContextProjections?, checkpointing: Bool) throws -> Tensor {
        let first = resnets[0]
        var h = try segment(checkpointing, [x, temb]) { try first($0[0], temb: $0[1]) }
        for (attention, resnet) in zip(attentions, resnets.dropFirst()) {
            h = try segment(checkpointing, [h, context]) { try attention($0[0], context: $0[1], projections: projections) }
            h = try segment(checkpointing, [h, temb]) { try resnet($0[0], temb: $0[1]) }
        }
        return h
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        var out: [(name: String, parameter: Parameter)] = []
        for (i, a) in attentions.enumerated() { out += scoped("attentions.\(i)", a) }
        for (i, r) in resnets.enumerated() { out += scoped("resnets.\(i)", r) }
        return out
    }
}

/// diffusers' `UpBlock2D` (no `attentions`) and `CrossAttnUpBlock2D`: `layers_per_block + 1` resnets, each taking
/// the previous output concatenated (on channels) with the next skip tensor from the down path, a
/// `Transformer2DModel` after each resnet for the cross-attention kind, and `upsamplers.0` (nearest x2 + 3x3
/// convolution) unless it is the last block.
public final class UNetUpBlock: Module {
    public let resnets: [ResnetBlock2D]
    /// Empty for an `UpBlock2D`.
    public let attentions: [Transformer2DModel]
    public let upsampler: Upsample2D?

    /// Up block `index` of `config` (index 0 works at the lowest resolution).
    init(config: UNetConfig, index i: Int, settings: UNetResnetSettings, rng: inout RNG) throws {
        let levels = config.blockOutChannels.count
        let reversedChannels = Array(config.blockOutChannels.reversed())
        let down = levels - 1 - i                                            // the down block it mirrors
        let out = reversedChannels[i]
        let previous = reversedChannels[max(i - 1, 0)]                       // the width coming from below
        let skipIn = reversedChannels[min(i + 1, levels - 1)]                 // the width of the mirrored block's input
        let count = config.layersPerBlock[down] + 1
        var resnets: [ResnetBlock2D] = [], attentions: [Transformer2DModel] = []
        for layer in 0..<count {
            let skip = layer == count - 1 ? skipIn : out
            let input = layer == 0 ? previous : out
            resnets.append(try settings.make(input + skip, out, rng: &rng))
            if config.upBlockTypes[i] == .crossAttention {
                attentions.append(try Transformer2DModel(
                    heads: config.attentionHeads[down], headDim: out / config.attentionHeads[down], inChannels: out,
                    layers: config.reverseTransformerLayersPerBlock[i][layer], crossAttentionDim: config.crossAttentionDim[down],
                    normGroups: config.normNumGroups, useLinearProjection: config.useLinearProjection, rng: &rng))
            }
        }
        self.resnets = resnets; self.attentions = attentions
        upsampler = i == levels - 1 ? nil : try Upsample2D(channels: out, useConv: true, outChannels: out, rng: &rng)
    }

    /// How many skip tensors the block consumes.
    var skipCount: Int { resnets.count }

    /// x (N, C, H, W) and this block's skips (taken from the end, as diffusers pops them) -> (N, out, H', W'); the
    /// upsampler resizes to `outputSize` (the next skip's size) when given.
    func callAsFunction(_ x: Tensor, skips: [Tensor], temb: Tensor, context: Tensor, projections: ContextProjections?,
                        outputSize: (Int, Int)?, checkpointing: Bool) throws -> Tensor {
        var h = x
        var pending = skips
        for (layer, resnet) in resnets.enumerated() {
            guard let skip = pending.popLast() else { throw TensorError("UNetUpBlock", "ran out of skip tensors") }
            guard skip.shape[0] == h.shape[0], skip.shape[2] == h.shape[2], skip.shape[3] == h.shape[3] else {
                throw TensorError("UNetUpBlock", "skip \(skip.shape) does not match \(h.shape)")
            }
            let joined = try Tensor.concat([h, skip], axis: 1)               // (N, C + Cskip, H, W)
            h = try segment(checkpointing, [joined, temb]) { try resnet($0[0], temb: $0[1]) }
            if !attentions.isEmpty {
                let attention = attentions[layer]
                h = try segment(checkpointing, [h, context]) { try attention($0[0], context: $0[1], projections: projections) }
            }
        }
        if let upsampler {
            h = try upsampler(h, outputSize: outputSize.map { (height: $0.0, width: $0.1) })
        }
        return h
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        var out: [(name: String, parameter: Parameter)] = []
        for (i, a) in attentions.enumerated() { out += scoped("attentions.\(i)", a) }
        for (i, r) in resnets.enumerated() { out += scoped("resnets.\(i)", r) }
        return out + scoped("upsamplers.0", upsampler)
    }
}
