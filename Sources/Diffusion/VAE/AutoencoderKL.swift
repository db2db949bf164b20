import Foundation
import Tensor
import NN

/// diffusers' `AutoencoderKL` (the SD / SDXL VAE), built from its `config.json`: `encoder`, `quant_conv`
/// (`use_quant_conv`), `post_quant_conv` (`use_post_quant_conv`), `decoder`. Images are (N, 3, H, W) in [-1, 1];
/// latents (N, latent_channels, H/f, W/f) with f = `config.downsamplingFactor`.
///
/// `encode` and `decode` are inference: they record no autodiff graph, so activations are freed as soon as the next
/// layer has read them. With `tiling` set, images (latents) larger than a tile are processed tile by tile with
/// diffusers' overlap blending, so the peak activation memory is that of one tile whatever the image size.
public final class AutoencoderKL: Module {
    public let config: AutoencoderKLConfig
    public let encoder: VAEEncoder
    public let decoder: VAEDecoder
    public let quantConv: Conv2d?
    public let postQuantConv: Conv2d?
    /// Tiled encode and decode for inputs larger than a tile; nil (the default, as in diffusers) for none.
    public var tiling: Tiling?

    /// diffusers' tiling settings (`enable_tiling()`): tiles of `sampleMinSize` pixels (`latentMinSize` latents)
    /// that overlap by `overlapFactor` and are blended linearly over the overlap.
    public struct Tiling: Equatable, Sendable {
        /// `tile_sample_min_size`: the tile side in pixels.
        public var sampleMinSize: Int
        /// `tile_latent_min_size`: the tile side in latents.
        public var latentMinSize: Int
        /// `tile_overlap_factor`.
        public var overlapFactor: Double

        /// Explicit tile sizes (the sides must be positive and the overlap in [0, 1)).
        public init(sampleMinSize: Int, latentMinSize: Int, overlapFactor: Double = 0.25) {
            self.sampleMinSize = sampleMinSize; self.latentMinSize = latentMinSize; self.overlapFactor = overlapFactor
        }

        /// diffusers' defaults for `config`: `sample_size` pixels, `sample_size / f` latents, overlap 0.25.
        public init(for config: AutoencoderKLConfig, sampleMinSize: Int? = nil, overlapFactor: Double = 0.25) {
            let side = sampleMinSize ?? config.sampleSize
            self.init(sampleMinSize: side, latentMinSize: Int(Double(side) / Double(config.downsamplingFactor)),
                      overlapFactor: overlapFactor)
        }

        func validate() throws {
            guard sampleMinSize > 0, latentMinSize > 0, overlapFactor >= 0, overlapFactor < 1,
                  Int(Double(sampleMinSize) * (1 - overlapFactor)) > 0, Int(Double(latentMinSize) * (1 - overlapFactor)) > 0 else {
                throw TensorError("AutoencoderKL tiling", "tile sizes \(sampleMinSize) px / \(latentMinSize) latents with overlap \(overlapFactor) do not make progress")
            }
        }
    }

    /// Builds the model for `config` with weights drawn from `rng` (inside `Initializer.deferred`, uninitialised
    /// weights for a loader to fill). Throws on a config this implementation does not support.
    public init(config: AutoencoderKLConfig, rng: inout RNG) throws {
        try config.validate()
        self.config = config
        encoder = try VAEEncoder(config, rng: &rng)
        decoder = try VAEDecoder(config, rng: &rng)
        let z = config.latentChannels
        quantConv = config.useQuantConv ? Conv2d(2 * z, 2 * z, kernelSize: 1, rng: &rng) : nil
        postQuantConv = config.usePostQuantConv ? Conv2d(z, z, kernelSize: 1, rng: &rng) : nil
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        scoped("encoder", encoder) + scoped("decoder", decoder) + scoped("quant_conv", quantConv)
            + scoped("post_quant_conv", postQuantConv)
    }

    // MARK: Encode and decode

    /// The posterior of images (N, in_channels, H, W) in [-1, 1]; tiled when `tiling` is set and a side exceeds
    /// its tile.
    public func encode(_ images: Tensor) throws -> DiagonalGaussianDistribution {
        try encode(images, tiling: tiling)
    }

    /// The posterior of images (N, in_channels, H, W) in [-1, 1], tiled with `tiling` (not the model's setting)
    /// when it is given and a side exceeds its tile.
    public func encode(_ images: Tensor, tiling: Tiling?) throws -> DiagonalGaussianDistribution {
        try checkInput(images, channels: config.inChannels, what: "images")
        return try GradMode.noGrad {
            if let tiling, images.shape[2] > tiling.sampleMinSize || images.shape[3] > tiling.sampleMinSize {
                return try DiagonalGaussianDistribution(moments: tiledMoments(images, tiling))
            }
            return try DiagonalGaussianDistribution(moments: moments(images))
        }
    }

    /// Images (N, out_channels, h f, w f) from latents (N, latent_channels, h, w) (unscaled: divide the denoiser's
    /// latents by the scaling factor first, `unscaledLatents`); tiled when `tiling` is set and a side exceeds its tile.
    public func decode(_ latents: Tensor) throws -> Tensor {
        try decode(latents, tiling: tiling)
    }

    /// Images from latents, tiled with `tiling` (not the model's setting) when it is given and a side exceeds its
    /// tile.
    public func decode(_ latents: Tensor, tiling: Tiling?) throws -> Tensor {
        try checkInput(latents, channels: config.latentChannels, what: "latents")
        return try GradMode.noGrad {
            if let tiling, latents.shape[2] > tiling.latentMinSize || latents.shape[3] > tiling.latentMinSize {
                return try tiledDecode(latents, tiling)
            }
            return try decodeWhole(latents)
        }
    }

    /// The denoiser's latents from a VAE sample: (z - shift_factor) * scaling_factor (no shift when unset).
    public func scaledLatents(_ z: Tensor) -> Tensor {
        (config.shiftFactor.map { z - $0 } ?? z) * config.scalingFactor
    }

    /// The VAE's latents from the denoiser's, as the SDXL pipelines decode them: with `latents_mean` and
    /// `latents_std`, latents * std / scaling_factor + mean per channel; otherwise latents / scaling_factor
    /// + shift_factor.
    public func unscaledLatents(_ latents: Tensor) throws -> Tensor {
        if let mean = config.latentsMean, let std = config.latentsStd {
            try checkInput(latents, channels: config.latentChannels, what: "latents")
            let c = config.latentChannels
            let m = try Tensor(mean, shape: [1, c, 1, 1]), s = try Tensor(std, shape: [1, c, 1, 1])
            return try latents * s / config.scalingFactor + m
        }
        let z = latents / config.scalingFactor
        return config.shiftFactor.map { z + $0 } ?? z
    }

    /// encoder + quant_conv on the whole image: (N, in, H, W) -> (N, 2 latent, H/f, W/f).
    func moments(_ images: Tensor) throws -> Tensor {
        let h = try encoder(images)
        return try quantConv?(h) ?? h
    }

    /// post_quant_conv + decoder on the whole latent: (N, latent, h, w) -> (N, out, h f, w f).
    func decodeWhole(_ latents: Tensor) throws -> Tensor {
        try decoder(postQuantConv?(latents) ?? latents)
    }

    private func checkInput(_ x: Tensor, channels: Int, what: String) throws {
        guard x.rank == 4, x.shape[1] == channels, x.shape[0] > 0, x.shape[2] > 0, x.shape[3] > 0 else {
            throw TensorError("AutoencoderKL", "\(what) \(x.shape) should be (N, \(channels), H, W)")
        }
        let f = config.downsamplingFactor
        if what == "images", f > 1, x.shape[2] < f || x.shape[3] < f {
            throw TensorError("AutoencoderKL", "images \(x.shape) are smaller than the downsampling factor \(f)")
        }
    }
}
