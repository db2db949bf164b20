import Tensor

/// Two [3x3 conv -> GroupNorm -> SiLU] stages: `conv1`, `norm1`, `conv2`, `norm2`.
public final class LevelBlock: Layer {
    public let conv1: Conv2d, norm1: GroupNorm, conv2: Conv2d, norm2: GroupNorm

    /// A block from `inChannels` to `outChannels` with `groups` norm groups.
    public init(_ inChannels: Int, _ outChannels: Int, groups: Int, rng: inout RNG) {
        conv1 = Conv2d(inChannels, outChannels, kernelSize: 3, padding: 1, rng: &rng)
        norm1 = GroupNorm(groups: groups, channels: outChannels)
        conv2 = Conv2d(outChannels, outChannels, kernelSize: 3, padding: 1, rng: &rng)
        norm2 = GroupNorm(groups: groups, channels: outChannels)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let h = try norm1(conv1(x)).silu()          // (N, out, H, W)
        return try norm2(conv2(h)).silu()           // (N, out, H, W)
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        scoped("conv1", conv1) + scoped("norm1", norm1) + scoped("conv2", conv2) + scoped("norm2", norm2)
    }
}

/// Configuration of `ReferenceUNet`.
public struct ReferenceUNetConfig: Hashable, Codable {
    /// Input channels: masked RGB plus the mask.
    public var inChannels = 4
    /// Output channels (RGB).
    public var outChannels = 3
    /// Channel width per level, finest first.
    public var widths = [32, 64, 128, 256]
    /// GroupNorm groups.
    public var groups = 8

    /// The reference configuration (2,337,571 parameters).
    public init() {}
}

/// The reference inpainting UNet: per level two [3x3 conv -> GroupNorm -> SiLU]; downsampling by a 3x3 stride-2
/// conv keeping the width; upsampling by nearest x2 then a 3x3 conv to the skip's width; skip concatenation then
/// one level block; a final 1x1 conv to RGB.
///
/// Parameter names: `encoders.{l}.*`, `downsamplers.{l}.*`, `upsamplers.{i}.*`, `decoders.{i}.*`, `out.*`
/// (decoder index 0 is the coarsest), matching `Scripts/fixtures/reference_unet.py`.
public final class ReferenceUNet: Layer {
    public let config: ReferenceUNetConfig
    public let encoders: [LevelBlock], downsamplers: [Conv2d], upsamplers: [Conv2d], decoders: [LevelBlock]
    public let out: Conv2d

    /// Builds the network with PyTorch default initialisation from `rng`, creating modules in name order.
    public init(config: ReferenceUNetConfig = ReferenceUNetConfig(), rng: inout RNG) {
        self.config = config
        let w = config.widths
        var enc: [LevelBlock] = [], down: [Conv2d] = [], up: [Conv2d] = [], dec: [LevelBlock] = []
        for l in 0..<w.count {
            if l > 0 { down.append(Conv2d(w[l - 1], w[l - 1], kernelSize: 3, stride: 2, padding: 1, rng: &rng)) }
            enc.append(LevelBlock(l == 0 ? config.inChannels : w[l - 1], w[l], groups: config.groups, rng: &rng))
        }
        for l in stride(from: w.count - 2, through: 0, by: -1) {
            up.append(Conv2d(w[l + 1], w[l], kernelSize: 3, padding: 1, rng: &rng))
            dec.append(LevelBlock(2 * w[l], w[l], groups: config.groups, rng: &rng))
        }
        encoders = enc; downsamplers = down; upsamplers = up; decoders = dec
        out = Conv2d(w[0], config.outChannels, kernelSize: 1, rng: &rng)
    }

    /// (N, inChannels, H, W) -> (N, outChannels, H, W); H and W must be divisible by 2^(levels-1).
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let factor = 1 << (encoders.count - 1)
        guard x.rank == 4, x.shape[1] == config.inChannels, x.shape[2] % factor == 0, x.shape[3] % factor == 0 else {
            throw TensorError("ReferenceUNet", "input \(x.shape) should be (N, \(config.inChannels), H, W) with H, W divisible by \(factor)")
        }
        var skips: [Tensor] = []
        var h = x
        for (l, block) in encoders.enumerated() {
            if l > 0 { h = try downsamplers[l - 1](h) }   // (N, w[l-1], H/2^l, W/2^l)
            h = try block(h)                              // (N, w[l], H/2^l, W/2^l)
            skips.append(h)
        }
        for (i, block) in decoders.enumerated() {
            let skip = skips[skips.count - 2 - i]
            h = try upsamplers[i](h.upsampleNearest(scale: 2))   // (N, w[l], H/2^l, W/2^l)
            h = try block(Tensor.concat([h, skip], axis: 1))     // (N, 2 w[l]) -> (N, w[l])
        }
        return try out(h)                                        // (N, outChannels, H, W)
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        var all: [(name: String, parameter: Parameter)] = []
        for (i, m) in encoders.enumerated() { all += scoped("encoders.\(i)", m) }
        for (i, m) in downsamplers.enumerated() { all += scoped("downsamplers.\(i)", m) }
        for (i, m) in upsamplers.enumerated() { all += scoped("upsamplers.\(i)", m) }
        for (i, m) in decoders.enumerated() { all += scoped("decoders.\(i)", m) }
        return all + scoped("out", out)
    }
}
