import Foundation
import NN
import Tensor

/// StableDiffusionXLInpaintPipeline's computation on the CPU, from a diffusers folder: SDXL-inpainting, RORem
/// (its UNet swapped in) and RORem-4S (an LCM LoRA fused, 4 steps). With the same folder, inputs, settings and
/// seed it gives diffusers' result, because every random number comes from a `TorchGenerator` in diffusers'
/// order: the image's VAE posterior sample (when strength < 1), the initial noise, the masked image's posterior
/// sample, then whatever the scheduler draws.
///
/// A 9-channel UNet takes [latents, mask, masked-image latents]; a 4-channel one inpaints by blending the
/// re-noised image latents outside the mask after every step, as diffusers does.
public final class SDXLInpaintPipeline {
    /// The folder the pipeline was loaded from.
    public let folder: String
    public let unet: UNet2DConditionModel
    public let vae: AutoencoderKL
    public let promptEncoder: SDXLPromptEncoder
    public let index: ModelIndex
    /// The scheduler config the runs start from (the folder's `scheduler/scheduler_config.json`).
    public let schedulerPath: String

    /// Loads `folder` (a diffusers SDXL inpainting or SDXL folder). `unet` replaces its UNet with another folder's
    /// (RORem's scripts swap RORem's `unet/` into the SDXL-inpainting pipeline); `variant: "fp16"` prefers the fp16
    /// weight files; `loras` are fused into the UNet with their scales; `dtype` stores the weights as f32, f16 or bf16
    /// (nil: as each file stores them; the text encoders keep half-precision files as they are for f32 too). With
    /// `releaseTextEncoders` (the default) the text encoders leave memory once
    /// a prompt is encoded (its encoding is cached) and are loaded again only for a new prompt.
    public static func load(folder: String, unet unetFolder: String? = nil, variant: String? = nil,
                            loras: [(path: String, scale: Float)] = [], dtype: DType? = nil,
                            releaseTextEncoders: Bool = true) throws -> SDXLInpaintPipeline {
        let index = try ModelIndex.load(folder: folder)
        try index.validateSDXL(folder: folder, replaced: unetFolder == nil ? [] : ["unet"])
        let dir = URL(fileURLWithPath: folder)
        let unetDir = unetFolder ?? dir.appendingPathComponent("unet").path
        let unetConfig = try ConfigFile.load(UNetConfig.self, path: URL(fileURLWithPath: unetDir).appendingPathComponent("config.json").path)
        guard unetConfig.inChannels == 9 || unetConfig.inChannels == 4 else {
            throw PipelineError(unetDir + "/config.json", "in_channels is \(unetConfig.inChannels); an inpainting pipeline needs 9 (inpainting UNet) or 4 (latent blending)")
        }
        var rng = RNG(seed: 0)
        let unet = try Initializer.deferred { try UNet2DConditionModel(config: unetConfig, rng: &rng) }
        try ComponentWeights.load(unet, from: try ComponentWeights.file(in: unetDir, variant: variant), dtype: dtype)
        for lora in loras { try FusedLoRA.fuse(lora.path, into: unet, scale: lora.scale) }
        let vae = try AutoencoderKL.load(folder: dir.appendingPathComponent("vae").path, variant: variant, dtype: dtype)
        // The text encoders run once per prompt: half-precision files stay half (float32 compute reads them through
        // per-call scratch, with the same results as float32 copies, which would take twice the memory).
        let text = try SDXLPromptEncoder.load(folder: folder, dtype: dtype == .f32 ? nil : dtype)
        let schedulerPath = dir.appendingPathComponent("scheduler").appendingPathComponent("scheduler_config.json").path
        _ = try Schedulers.load(path: schedulerPath)          // fail now, not at the first run
        let pipeline = SDXLInpaintPipeline(folder: folder, unet: unet, vae: vae, promptEncoder: text, index: index,
                                           schedulerPath: schedulerPath)
        text.releasesEncodersAfterEncoding = releaseTextEncoders
        return pipeline
    }

    public init(folder: String, unet: UNet2DConditionModel, vae: AutoencoderKL, promptEncoder: SDXLPromptEncoder,
                index: ModelIndex, schedulerPath: String) {
        self.folder = folder; self.unet = unet; self.vae = vae; self.promptEncoder = promptEncoder
        self.index = index; self.schedulerPath = schedulerPath
    }

    /// Stores every weight as `dtype` (computation stays f32).
    public func convert(to dtype: DType) {
        for (_, p) in unet.namedParameters() { p.convert(to: dtype) }
        for (_, p) in vae.namedParameters() { p.convert(to: dtype) }
        promptEncoder.convertEncoders(to: dtype)
    }

    /// The VAE's spatial factor (8 for SDXL): image sides must be multiples of it.
    public var vaeScaleFactor: Int { vae.config.downsamplingFactor }

    /// Thrown when `shouldStop` asks a run to stop between denoising steps.
    public struct Stopped: Error {}

    /// What a run returns.
    public struct Output {
        /// The decoded image (1, 3, H, W) in [0, 1] (diffusers' `output_type="np"`, as NCHW).
        public var image: Tensor
        /// The final latents (1, 4, H/f, W/f) before decoding (diffusers' `output_type="latent"`).
        public var latents: Tensor
        /// The timesteps that ran.
        public var timesteps: [Float]
    }

    /// Inpaints `image` (1, 3, H, W) in [0, 1] where `mask` (1, 1, H, W) is at least 0.5, H and W multiples of
    /// `vaeScaleFactor`. `progress(done, total)` is called after every denoising step; `shouldStop` is checked
    /// before each one. With `decode: false` the VAE decode is skipped and `image` is empty.
    public func run(image: Tensor, mask: Tensor, settings s: InpaintSettings, decode: Bool = true,
                    progress: ((Int, Int) -> Void)? = nil, shouldStop: () -> Bool = { false }) throws -> Output {
        try s.validate()
        guard image.rank == 4, image.shape[0] == 1, image.shape[1] == 3 else {
            throw PipelineError("image", "must be (1, 3, H, W), got \(image.shape)")
        }
        let h = image.shape[2], w = image.shape[3], f = vaeScaleFactor
        guard mask.shape == [1, 1, h, w] else { throw PipelineError("mask", "must be (1, 1, \(h), \(w)) like the image, got \(mask.shape)") }
        guard h % f == 0, w % f == 0, h > 0, w > 0 else {
            throw PipelineError("image", "sides \(w)x\(h) must be positive multiples of the VAE's factor \(f)")
        }
        return try GradMode.noGrad { try denoise(image: image, mask: mask, s, decode: decode, progress: progress, shouldStop: shouldStop) }
    }

    private func denoise(image: Tensor, mask: Tensor, _ s: InpaintSettings, decode: Bool,
                         progress: ((Int, Int) -> Void)?, shouldStop: () -> Bool) throws -> Output {
        let h = image.shape[2], w = image.shape[3], f = vaeScaleFactor
        let cfg = s.guidance > 1 && unet.config.timeCondProjDim == nil
        let embeddings = try promptEncoder.encode(prompt: s.prompt, negativePrompt: s.negativePrompt, guidance: cfg)
        let scheduler = try Schedulers.load(path: schedulerPath, choice: s.scheduler)
        let timesteps = try scheduler.prepare(steps: s.steps, strength: s.strength, denoisingStart: s.denoisingStart)
        let generator = TorchGenerator(seed: s.seed)
        let latentShape = [1, vae.config.latentChannels, h / f, w / f]

        // Preprocessing as VaeImageProcessor: the image to [-1, 1], the mask binarised at 0.5.
        let initImage = image * 2 - 1                                                  // (1, 3, H, W)
        let binary = Self.mapped(mask) { $0 >= 0.5 ? 1 : 0 }                                         // (1, 1, H, W)
        let masked = try initImage * Self.mapped(binary) { 1 - $0 }                                 // image * (mask < 0.5)
        let isStrengthMax = s.strength == 1.0
        let blending = unet.config.inChannels == 4
        // denoising_start: the run continues from the image's latents as they are (diffusers' add_noise=False).
        let addNoise = s.denoisingStart == nil
        let tiling = s.vaeTiling.tiles(width: w, height: h) ? AutoencoderKL.Tiling(for: vae.config) : nil

        var imageLatents: Tensor?
        if blending || !isStrengthMax || !addNoise {
            imageLatents = try encodeSample(initImage, generator, tiling: tiling)
        }
        let noise = generator.randn(latentShape)
        var latents: Tensor
        if let imageLatents, !addNoise {
            latents = imageLatents
        } else if isStrengthMax {
            latents = noise * scheduler.initNoiseSigma
        } else if let imageLatents {
            latents = try scheduler.addNoise(original: imageLatents, noise: noise, timestep: timesteps[0])
        } else {
            throw PipelineError("strength", "\(s.strength) < 1 starts from the image's latents, and none were encoded")
        }
        let maskLatents = try Self.nearest(binary, height: h / f, width: w / f)           // (1, 1, h, w)
        let maskedLatents = try encodeSample(masked, generator, tiling: tiling)            // (1, 4, h, w)

        let ids = index.requiresAestheticsScore
            ? [Float(h), Float(w), 0, 0, Float(s.aestheticScore)] : [Float(h), Float(w), 0, 0, Float(h), Float(w)]
        let negativeIds = index.requiresAestheticsScore
            ? [Float(h), Float(w), 0, 0, Float(s.negativeAestheticScore)] : ids
        var context = embeddings.promptEmbeds, pooled = embeddings.pooledPromptEmbeds
        var timeIds = try Tensor(ids, shape: [1, ids.count])
        var maskInput = maskLatents, maskedInput = maskedLatents
        if cfg, let negative = embeddings.negativePromptEmbeds, let negativePooled = embeddings.negativePooledPromptEmbeds {
            context = try Tensor.concat([negative, context], axis: 0)
            pooled = try Tensor.concat([negativePooled, pooled], axis: 0)
            timeIds = try Tensor.concat([Tensor(negativeIds, shape: [1, ids.count]), timeIds], axis: 0)
            maskInput = try Tensor.concat([maskLatents, maskLatents], axis: 0)
            maskedInput = try Tensor.concat([maskedLatents, maskedLatents], axis: 0)
        }
        let added = AddedConditions(textEmbeds: pooled, timeIds: timeIds)
        // The context is fixed for the loop: each cross-attention layer projects it to keys and values once.
        let projections = ContextProjections()

        for (i, t) in timesteps.enumerated() {
            if shouldStop() { throw Stopped() }
            var input = cfg ? try Tensor.concat([latents, latents], axis: 0) : latents
            input = try scheduler.scaleModelInput(input, timestep: t)
            if !blending { input = try Tensor.concat([input, maskInput, maskedInput], axis: 1) }
            var prediction = try unet(input, timestep: t, encoderHiddenStates: context, added: added,
                                      projections: projections)
            if cfg {
                let n = latents.shape[0]
                let uncond = try prediction.slice(axis: 0, 0, n), text = try prediction.slice(axis: 0, n, 2 * n)
                prediction = try uncond + (text - uncond) * Float(s.guidance)
            }
            latents = try scheduler.step(modelOutput: prediction, timestep: t, sample: latents, generator: generator).prevSample
            if blending, let imageLatents {
                var proper = imageLatents
                if i < timesteps.count - 1 {
                    proper = try scheduler.addNoise(original: imageLatents, noise: noise, timestep: timesteps[i + 1])
                }
                latents = try proper * Self.mapped(maskLatents) { 1 - $0 } + latents * maskLatents
            }
            progress?(i + 1, timesteps.count)
        }
        var decoded = Tensor(zeros: [0])
        if decode {
            let x = try vae.decode(vae.unscaledLatents(latents), tiling: tiling)             // (1, 3, H, W) in [-1, 1]
            decoded = Self.mapped(x) { Swift.min(Swift.max($0 / 2 + 0.5, 0), 1) }
        }
        return Output(image: decoded, latents: latents, timesteps: timesteps)
    }

    /// `scaling_factor * sample` of the VAE's posterior for `x`, the noise drawn from `generator` (diffusers'
    /// `_encode_vae_image` with `retrieve_latents(sample_mode="sample")`).
    private func encodeSample(_ x: Tensor, _ generator: TorchGenerator, tiling: AutoencoderKL.Tiling?) throws -> Tensor {
        let posterior = try vae.encode(x, tiling: tiling)
        let z = try posterior.sample(noise: generator.randn(posterior.mean.shape))
        return z * vae.config.scalingFactor
    }

    /// `f` applied to every element (a float32 copy).
    static func mapped(_ x: Tensor, _ f: (Float) -> Float) -> Tensor {
        var y = x.copy()
        y.withMutableValues { v in for i in 0..<v.count { v[i] = f(v[i]) } }
        return y
    }

    /// PyTorch's `interpolate(mode="nearest")` of (N, C, H, W) to (N, C, height, width): source index
    /// floor(dst * in / out).
    static func nearest(_ x: Tensor, height: Int, width: Int) throws -> Tensor {
        let n = x.shape[0], c = x.shape[1], ih = x.shape[2], iw = x.shape[3]
        var out = Tensor(zeros: [n, c, height, width])
        let sy = Float(ih) / Float(height), sx = Float(iw) / Float(width)
        x.withValues { src in
            out.withMutableValues { dst in
                for p in 0..<(n * c) {
                    for y in 0..<height {
                        let yy = Swift.min(Int(Float(y) * sy), ih - 1)
                        for xx in 0..<width {
                            let xs = Swift.min(Int(Float(xx) * sx), iw - 1)
                            dst[(p * height + y) * width + xx] = src[(p * ih + yy) * iw + xs]
                        }
                    }
                }
            }
        }
        return out
    }
}
