import Tensor
import NN

/// diffusers' `DownEncoderBlock2D`: `resnets.0..<layers` (no time embedding), then `downsamplers.0` (stride-2 conv
/// with the asymmetric (0, 1, 0, 1) pad) on every level but the last.
public final class DownEncoderBlock2D: Module {
    public let resnets: [ResnetBlock2D]
    public let downsampler: Downsample2D?

    /// A level from `inChannels` to `outChannels` with `layers` resnets.
    public init(inChannels: Int, outChannels: Int, layers: Int, groups: Int, eps: Float = 1e-6,
                activation: Activation, addDownsample: Bool, downsamplePadding: Int = 0, rng: inout RNG) throws {
        resnets = try (0..<layers).map { i in
            try ResnetBlock2D(.init(inChannels: i == 0 ? inChannels : outChannels, outChannels: outChannels,
                                    tembChannels: nil, groups: groups, eps: eps, activation: activation), rng: &rng)
        }
        downsampler = addDownsample
            ? try Downsample2D(channels: outChannels, useConv: true, padding: downsamplePadding, rng: &rng) : nil
    }

    /// x (N, in, H, W) -> (N, out, H/2, W/2) (or (N, out, H, W) on the last level).
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        var h = x
        for resnet in resnets { h = try resnet(h) }
        return try downsampler?(h) ?? h
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        resnets.enumerated().flatMap { scoped("resnets.\($0.offset)", $0.element) } + scoped("downsamplers.0", downsampler)
    }
}

/// diffusers' `UpDecoderBlock2D`: `resnets.0..<layers` (no time embedding), then `upsamplers.0` (nearest x2 + conv)
/// on every level but the last.
public final class UpDecoderBlock2D: Module {
    public let resnets: [ResnetBlock2D]
    public let upsampler: Upsample2D?

    /// A level from `inChannels` to `outChannels` with `layers` resnets.
    public init(inChannels: Int, outChannels: Int, layers: Int, groups: Int, eps: Float = 1e-6,
                activation: Activation, addUpsample: Bool, rng: inout RNG) throws {
        resnets = try (0..<layers).map { i in
            try ResnetBlock2D(.init(inChannels: i == 0 ? inChannels : outChannels, outChannels: outChannels,
                                    tembChannels: nil, groups: groups, eps: eps, activation: activation), rng: &rng)
        }
        upsampler = addUpsample ? try Upsample2D(channels: outChannels, useConv: true, rng: &rng) : nil
    }

    /// x (N, in, H, W) -> (N, out, 2H, 2W) (or (N, out, H, W) on the last level).
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        var h = x
        for resnet in resnets { h = try resnet(h) }
        return try upsampler?(h) ?? h
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        resnets.enumerated().flatMap { scoped("resnets.\($0.offset)", $0.element) } + scoped("upsamplers.0", upsampler)
    }
}
