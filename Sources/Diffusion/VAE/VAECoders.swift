import Tensor
import NN

/// The VAE's `Encoder`: `conv_in`, `down_blocks.i` (DownEncoderBlock2D), `mid_block` (UNetMidBlock2D),
/// `conv_norm_out`, SiLU, `conv_out` to 2 x latent channels (mean and log-variance).
public final class VAEEncoder: Module {
    public let convIn: Conv2d
    public let downBlocks: [DownEncoderBlock2D]
    public let midBlock: UNetMidBlock2D
    public let convNormOut: GroupNorm
    public let convOut: Conv2d

    /// The encoder an `AutoencoderKL` with `config` has.
    public init(_ config: AutoencoderKLConfig, rng: inout RNG) throws {
        let widths = config.blockOutChannels, groups = config.normNumGroups
        convIn = Conv2d(config.inChannels, widths[0], kernelSize: 3, padding: 1, rng: &rng)
        var blocks: [DownEncoderBlock2D] = []
        var previous = widths[0]
        for (i, width) in widths.enumerated() {
            blocks.append(try DownEncoderBlock2D(inChannels: previous, outChannels: width, layers: config.layersPerBlock,
                                                 groups: groups, activation: config.activation,
                                                 addDownsample: i < widths.count - 1, rng: &rng))
            previous = width
        }
        downBlocks = blocks
        let top = widths[widths.count - 1]
        midBlock = try UNetMidBlock2D(channels: top, tembChannels: nil, activation: config.activation, groups: groups,
                                      addAttention: config.midBlockAddAttention, attentionHeadDim: top, rng: &rng)
        convNormOut = GroupNorm(groups: groups, channels: top, eps: 1e-6)
        convOut = Conv2d(top, 2 * config.latentChannels, kernelSize: 3, padding: 1, rng: &rng)
    }

    /// image (N, in, H, W) -> moments (N, 2 latent, H/f, W/f) for f = 2^(levels - 1) (sides rounded up).
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        var h = try convIn(x)                                   // (N, w0, H, W)
        for block in downBlocks { h = try block(h) }            // (N, wTop, H/f, W/f)
        h = try midBlock(h)
        return try convOut(convNormOut(h, then: .silu))         // (N, 2 latent, H/f, W/f)
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        scoped("conv_in", convIn) + downBlocks.enumerated().flatMap { scoped("down_blocks.\($0.offset)", $0.element) }
            + scoped("mid_block", midBlock) + scoped("conv_norm_out", convNormOut) + scoped("conv_out", convOut)
    }
}

/// The VAE's `Decoder`: `conv_in`, `mid_block` (UNetMidBlock2D), `up_blocks.i` (UpDecoderBlock2D, widest first,
/// layers_per_block + 1 resnets each), `conv_norm_out`, SiLU, `conv_out`.
public final class VAEDecoder: Module {
    public let convIn: Conv2d
    public let midBlock: UNetMidBlock2D
    public let upBlocks: [UpDecoderBlock2D]
    public let convNormOut: GroupNorm
    public let convOut: Conv2d

    /// The decoder an `AutoencoderKL` with `config` has.
    public init(_ config: AutoencoderKLConfig, rng: inout RNG) throws {
        let widths = Array(config.blockOutChannels.reversed()), groups = config.normNumGroups
        convIn = Conv2d(config.latentChannels, widths[0], kernelSize: 3, padding: 1, rng: &rng)
        midBlock = try UNetMidBlock2D(channels: widths[0], tembChannels: nil, activation: config.activation,
                                      groups: groups, addAttention: config.midBlockAddAttention,
                                      attentionHeadDim: widths[0], rng: &rng)
        var blocks: [UpDecoderBlock2D] = []
        var previous = widths[0]
        for (i, width) in widths.enumerated() {
            blocks.append(try UpDecoderBlock2D(inChannels: previous, outChannels: width, layers: config.layersPerBlock + 1,
                                               groups: groups, activation: config.activation,
                                               addUpsample: i < widths.count - 1, rng: &rng))
            previous = width
        }
        upBlocks = blocks
        convNormOut = GroupNorm(groups: groups, channels: config.blockOutChannels[0], eps: 1e-6)
        convOut = Conv2d(config.blockOutChannels[0], config.outChannels, kernelSize: 3, padding: 1, rng: &rng)
    }

    /// latents (N, latent, h, w) -> image (N, out, h f, w f).
    public func callAsFunction(_ z: Tensor) throws -> Tensor {
        var h = try convIn(z)                                   // (N, wTop, h, w)
        h = try midBlock(h)
        for block in upBlocks { h = try block(h) }              // (N, w0, h f, w f)
        return try convOut(convNormOut(h, then: .silu))         // (N, out, h f, w f)
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        scoped("conv_in", convIn) + scoped("mid_block", midBlock)
            + upBlocks.enumerated().flatMap { scoped("up_blocks.\($0.offset)", $0.element) }
            + scoped("conv_norm_out", convNormOut) + scoped("conv_out", convOut)
    }
}
