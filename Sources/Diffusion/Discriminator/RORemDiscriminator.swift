import Foundation
import Imaging
import NN
import Support
import Tensor

/// RORem's discriminator (`UNet2DConditionDiscriminator` with its LoRA and `cls_pred_branch`) as a judge of
/// removals: (source, mask, result) -> the softplus score RORem computes, which is not bounded by 1 (RORem keeps
/// results at 0.9 and above).
///
/// The computation is RORem's `StableDiffusionXLDiscriminatorPipeline`: source, mask and result are resized to
/// `resolution` (the whole image, as RORem's script does with PIL's `resize([512, 512])`: bicubic, each pass rounded
/// to 8 bits as PIL does); both images go through the VAE (scaled by `scaling_factor`), the mask is binarised at 0.5 and
/// nearest-resized to the latent size; the model sees [result latents, mask, source latents] at timestep 0 with the
/// empty prompt's embeddings and time ids (512, 512, 0, 0, 512, 512). `deterministic` (the default) takes the VAE's
/// posterior mean and adds no noise; `stochastic` reproduces RORem's pipeline from a `TorchGenerator(seed)`: a
/// posterior sample of the source, then of the result, then noise added to the result's latents at timestep 0 by the
/// base folder's scheduler (`add_noise`; SDXL-inpainting's Euler scheduler adds sigma_0 = 0.029 times the noise), all
/// in that order, the noise in PyTorch's CPU layout of the latents (channels-last; see `scores`).
///
/// Loading and saving RORem's folder layout: `RORemDiscriminator+Files.swift`; training: `+Training.swift`.
public final class RORemDiscriminator: @unchecked Sendable {
    /// How scores are computed.
    public struct Settings: Equatable, Sendable {
        /// The side images are resized to (RORem: 512); the latent side is this over the VAE's factor.
        public var resolution = 512
        /// RORem's pipeline's sampling (posterior samples and timestep-0 noise) instead of the posterior mean.
        public var stochastic = false
        /// The seed of the `TorchGenerator` for `stochastic`, seeded once per `scores` call.
        public var seed: UInt64 = 0
        /// The micro-conditioning RORem's pipeline passes whatever the resolution.
        public var timeIds: [Float] = [512, 512, 0, 0, 512, 512]

        public init(resolution: Int = 512, stochastic: Bool = false, seed: UInt64 = 0) {
            self.resolution = resolution; self.stochastic = stochastic; self.seed = seed
        }
    }

    /// The encoder, adapters and head.
    public let network: RORemDiscriminatorNetwork
    /// The base folder's VAE (encoder used).
    public let vae: AutoencoderKL
    /// The empty prompt's embeddings (1, 77, D) from the base folder's two text encoders.
    public let promptEmbeds: Tensor
    /// The empty prompt's pooled projection (1, P).
    public let pooledPromptEmbeds: Tensor
    /// The base SDXL-inpainting folder.
    public let base: String
    /// The base folder's scheduler config, whose `add_noise` the stochastic mode uses.
    public let schedulerPath: String
    public var settings: Settings

    /// Wraps a built network with the base folder's VAE, scheduler and empty-prompt conditioning (the text encoders
    /// are loaded, run once and released).
    public init(network: RORemDiscriminatorNetwork, base: String, dtype: DType? = nil, variant: String? = nil,
                settings: Settings = Settings()) throws {
        let dir = URL(fileURLWithPath: base)
        self.network = network; self.base = base; self.settings = settings
        vae = try AutoencoderKL.load(folder: dir.appendingPathComponent("vae").path, variant: variant, dtype: dtype)
        schedulerPath = dir.appendingPathComponent("scheduler").appendingPathComponent("scheduler_config.json").path
        _ = try Schedulers.load(path: schedulerPath)
        let embeddings = try GradMode.noGrad {
            try SDXLPromptEncoder.load(folder: base).encode(prompt: "", guidance: false)
        }
        promptEmbeds = embeddings.promptEmbeds
        pooledPromptEmbeds = embeddings.pooledPromptEmbeds
        try validate(settings)
    }

    /// The VAE's spatial factor (8 for SDXL).
    public var vaeScaleFactor: Int { vae.config.downsamplingFactor }

    /// Checks that `settings` fit the model: the resolution a multiple of the VAE's factor and the mid block's
    /// output 16 to 31 pixels (what the head's strides reduce to 1x1).
    public func validate(_ s: Settings) throws {
        let f = vaeScaleFactor, levels = network.encoder.config.blockOutChannels.count
        guard s.resolution >= f, s.resolution % f == 0, s.resolution <= 4096 else {
            throw PipelineError("resolution", "\(s.resolution) must be a multiple of the VAE's factor \(f) up to 4096")
        }
        let mid = s.resolution / f / (1 << (levels - 1))
        guard (16...31).contains(mid) else {
            throw PipelineError("resolution", "\(s.resolution) px gives a \(mid)x\(mid) mid block; the head needs 16 to 31 (SDXL: 512 px gives 16)")
        }
        guard s.timeIds.count == 6 else { throw PipelineError("time ids", "need 6 values, got \(s.timeIds.count)") }
    }

    // MARK: Inputs

    /// `image` as the model input (1, 3, R, R) in [-1, 1]: RGB, resized to the resolution (bicubic, rounded to 8 bits).
    public func pixels(_ image: Image) throws -> Tensor {
        let r = settings.resolution
        let rgb = try Self.pilResized(image.converted(toChannels: 3), side: r)
        var values = [Float](repeating: 0, count: 3 * r * r)
        rgb.pixels.withUnsafeBufferPointer { p in
            for y in 0..<r { for x in 0..<r { for c in 0..<3 { values[(c * r + y) * r + x] = p[(y * r + x) * 3 + c] * 2 - 1 } } }
        }
        return try Tensor(values, shape: [1, 3, r, r])
    }

    /// `mask` as the model input (1, 1, h, w) at latent size: resized to the resolution (bicubic, 8 bits), binarised
    /// at 0.5 (diffusers' mask processor), then nearest-resized as `torch.nn.functional.interpolate` does.
    public func maskLatents(for mask: Mask) throws -> Tensor {
        let r = settings.resolution, l = r / vaeScaleFactor
        let gray = try Self.pilResized(Image(width: mask.width, height: mask.height, channels: 1, pixels: mask.values), side: r)
        let binary = try Tensor(gray.pixels.map { $0 >= 0.5 ? 1 : 0 }, shape: [1, 1, r, r])
        return try SDXLInpaintPipeline.nearest(binary, height: l, width: l)
    }

    /// The deterministic latents of `image` (1, 4, h, w): the VAE posterior's mean times `scaling_factor`. Training
    /// can cache these (the deterministic scores use exactly them).
    public func latents(for image: Image) throws -> Tensor {
        try GradMode.noGrad { try vae.encode(pixels(image)).mean * vae.config.scalingFactor }
    }

    /// The model input (1, 9, h, w) = [result latents, mask, source latents] from latents already computed.
    public static func input(resultLatents: Tensor, mask: Tensor, sourceLatents: Tensor) throws -> Tensor {
        guard resultLatents.rank == 4, resultLatents.shape == sourceLatents.shape, mask.rank == 4,
              mask.shape[0] == resultLatents.shape[0], mask.shape[1] == 1, Array(mask.shape[2...]) == Array(resultLatents.shape[2...]) else {
            throw PipelineError("discriminator input", "result latents \(resultLatents.shape), mask \(mask.shape) and source latents \(sourceLatents.shape) should be (N, C, h, w), (N, 1, h, w), (N, C, h, w)")
        }
        return try Tensor.concat([resultLatents, mask, sourceLatents], axis: 1)
    }

    // MARK: Scores

    /// The score of one example.
    public func score(source: Image, mask: Mask, result: Image) throws -> Double {
        try scores([(source, mask, result)], batchSize: 1)[0]
    }

    /// Scores of `examples` in order, `batchSize` at a time through the network. Deterministically, each distinct
    /// image is encoded once per call (latents cached by content); stochastically, one `TorchGenerator(seed)` serves
    /// the whole call, example after example, in RORem's order.
    public func scores(_ examples: [(source: Image, mask: Mask, result: Image)], batchSize: Int = 4) throws -> [Double] {
        try validate(settings)
        var cache = LatentCache()
        let generator = settings.stochastic ? TorchGenerator(seed: settings.seed) : nil
        let scheduler = settings.stochastic ? try Schedulers.load(path: schedulerPath) : nil
        var out: [Double] = []
        out.reserveCapacity(examples.count)
        var start = 0
        while start < examples.count {
            let chunk = examples[start..<min(examples.count, start + max(1, batchSize))]
            let inputs: [Tensor] = try chunk.map { e in
                try checkSizes(e.source, e.mask, e.result, index: out.count)
                let source: Tensor, result: Tensor
                if let generator, let scheduler {
                    source = try sampledLatents(e.source, generator)
                    let edited = try sampledLatents(e.result, generator)
                    // PyTorch's VAE returns channels-last latents on the CPU (the posterior's mean and std are
                    // slices of a channels-last conv output), and `randn_like` keeps that layout, so torch fills the
                    // noise with its serial kernel in (N, h, w, C) order.
                    let noise = try generator.randnSerial(edited.shape, memoryOrder: [0, 2, 3, 1])
                    result = try scheduler.addNoise(original: edited, noise: noise, timestep: 0)
                } else {
                    source = try cache.latents(e.source) { try latents(for: $0) }
                    result = try cache.latents(e.result) { try latents(for: $0) }
                }
                return try Self.input(resultLatents: result, mask: maskLatents(for: e.mask), sourceLatents: source)
            }
            let batch = try Tensor.concat(inputs, axis: 0)                     // (n, 9, h, w)
            out += try GradMode.noGrad { try forward(batch) }.values.map(Double.init)
            start += chunk.count
        }
        return out
    }

    /// Scores (N) for a prepared input (N, 9, h, w) with the empty prompt's conditioning; records a graph when
    /// `GradMode` is on.
    public func forward(_ input: Tensor) throws -> Tensor {
        let (context, added) = try conditioning(batch: input.shape[0])
        return try network.forward(input, context: context, added: added)
    }

    /// The empty prompt's context (N, 77, D) and added conditions for a batch of `n`.
    func conditioning(batch n: Int) throws -> (Tensor, AddedConditions) {
        let context = try Tensor.concat(Array(repeating: promptEmbeds, count: n), axis: 0)
        let pooled = try Tensor.concat(Array(repeating: pooledPromptEmbeds, count: n), axis: 0)
        let ids = try Tensor(Array((0..<n).map { _ in settings.timeIds }.joined()), shape: [n, settings.timeIds.count])
        return (context, AddedConditions(textEmbeds: pooled, timeIds: ids))
    }

    private func sampledLatents(_ image: Image, _ generator: TorchGenerator) throws -> Tensor {
        try GradMode.noGrad {
            let posterior = try vae.encode(pixels(image))
            return try posterior.sample(noise: generator.randn(posterior.mean.shape)) * vae.config.scalingFactor
        }
    }

    private func checkSizes(_ source: Image, _ mask: Mask, _ result: Image, index: Int) throws {
        guard source.width == result.width, source.height == result.height, mask.width == source.width, mask.height == source.height else {
            throw PipelineError("example \(index)", "source \(source.width)x\(source.height), mask \(mask.width)x\(mask.height) and result \(result.width)x\(result.height) must have one size")
        }
    }

    /// `image` resized to `side` x `side` as PIL resizes an 8-bit image with BICUBIC: the horizontal pass, rounded
    /// to 8 bits, then the vertical pass, rounded to 8 bits (each pass only when that side changes).
    static func pilResized(_ image: Image, side: Int) throws -> Image {
        var out = image
        if out.width != side { out = try quantized(out.resized(width: side, height: out.height, filter: .bicubic)) }
        if out.height != side { out = try quantized(out.resized(width: side, height: side, filter: .bicubic)) }
        return out
    }

    /// Values rounded to 8 bits, as PIL stores a resized 8-bit image.
    static func quantized(_ image: Image) throws -> Image {
        try Image(width: image.width, height: image.height, channels: image.channels,
                  pixels: image.pixels.map { ($0 * 255).rounded() / 255 })
    }

    /// Latents of the images seen in one call, by content.
    struct LatentCache {
        private var entries: [Int: [(Image, Tensor)]] = [:]

        mutating func latents(_ image: Image, _ compute: (Image) throws -> Tensor) rethrows -> Tensor {
            var h = Hasher()
            h.combine(image.width); h.combine(image.height); h.combine(image.channels)
            image.pixels.withUnsafeBytes { h.combine(bytes: $0) }
            let key = h.finalize()
            if let hit = entries[key]?.first(where: { $0.0 == image }) { return hit.1 }
            let z = try compute(image)
            entries[key, default: []].append((image, z))
            return z
        }
    }
}
