import Foundation
import Support
import Tensor

/// Everything `remover("diffusion", ...)` and `rorem remove --method diffusion` can set, with RORem's defaults
/// (512 px, guidance 1, strength 0.99).
public struct DiffusionOptions: Hashable, Sendable {
    /// The diffusers folder (SDXL-inpainting, or RORem's).
    public var folder: String
    /// A UNet folder to use instead of the folder's (RORem's `unet/` over SDXL-inpainting).
    public var unet: String? = nil
    /// A LoRA file fused into the UNet (RORem-4S's LCM LoRA), and its scale.
    public var lora: String? = nil
    public var loraScale: Double = 1
    /// `variant: "fp16"` prefers the fp16 weight files.
    public var variant: String? = nil
    /// Weights' storage dtype; nil keeps the files'.
    public var dtype: DType? = nil
    public var scheduler: String? = nil
    public var steps = 50
    public var strength = 0.99
    public var guidance = 1.0
    public var prompt = ""
    public var negativePrompt: String? = nil
    public var seed: UInt64 = 0
    public var strategy = DiffusionRemover.Strategy.crop
    public var resolution = 512
    public var dilate = 0
    /// diffusers' `denoising_start` (a refiner-style run from the image's latents); nil for none.
    public var denoisingStart: Double? = nil
    /// Tiled VAE: `auto` (above 1024 px), `on` or `off`.
    public var vaeTiling = InpaintSettings.VAETiling.auto

    public init(folder: String) { self.folder = folder }

    /// The names `set(_:_:)` accepts.
    public static let names = ["unet", "lora", "lora_scale", "variant", "dtype", "scheduler", "steps", "strength", "guidance",
                               "prompt", "negative_prompt", "seed", "strategy", "resolution", "dilate", "denoising_start",
                               "vae_tiling"]

    /// Sets option `name` from text (the CLI) or a number's text; throws naming the option and the accepted values.
    public mutating func set(_ name: String, _ text: String) throws {
        func number() throws -> Double {
            guard let v = Double(text), v.isFinite else { throw PipelineError(name, "must be a number, got '\(text)'") }
            return v
        }
        func integer() throws -> Int {
            let v = try number()
            guard v == v.rounded(), abs(v) < 1e15 else { throw PipelineError(name, "must be a whole number, got '\(text)'") }
            return Int(v)
        }
        switch name {
        case "unet": unet = text
        case "lora": lora = text
        case "lora_scale": loraScale = try number()
        case "variant": variant = text.isEmpty ? nil : text
        case "dtype":
            guard let d = DType(name: text) else { throw PipelineError(name, "must be fp32, fp16 or bf16, got '\(text)'") }
            dtype = d
        case "scheduler": scheduler = text
        case "steps": steps = try integer()
        case "strength": strength = try number()
        case "guidance": guidance = try number()
        case "prompt": prompt = text
        case "negative_prompt": negativePrompt = text
        case "seed":
            let v = try integer()
            guard v >= 0 else { throw PipelineError(name, "must be >= 0, got \(v)") }
            seed = UInt64(v)
        case "strategy":
            guard let s = DiffusionRemover.Strategy(rawValue: text) else {
                throw PipelineError(name, "must be crop, resize or whole, got '\(text)'")
            }
            strategy = s
        case "resolution": resolution = try integer()
        case "dilate": dilate = try integer()
        case "denoising_start": denoisingStart = text.isEmpty ? nil : try number()
        case "vae_tiling":
            guard let t = InpaintSettings.VAETiling(rawValue: text) else {
                throw PipelineError(name, "must be auto, on or off, got '\(text)'")
            }
            vaeTiling = t
        default:
            throw PipelineError(name, "is not a diffusion option (options: \(Self.names.joined(separator: ", ")))")
        }
    }

    /// The per-run settings.
    public var settings: InpaintSettings {
        var s = InpaintSettings(prompt: prompt, negativePrompt: negativePrompt, steps: steps, strength: strength,
                                guidance: guidance, seed: seed, scheduler: scheduler)
        s.denoisingStart = denoisingStart
        s.vaeTiling = vaeTiling
        return s
    }
}

/// Builds diffusion removers, keeping loaded pipelines (by folder, UNet, LoRA and dtype) so that several removers
/// over the same weights, or a REPL session's repeated calls, load them once.
public enum DiffusionRemovers {
    private struct Key: Hashable { var folder: String, unet: String?, lora: String?, scale: Double, variant: String?, dtype: DType? }
    nonisolated(unsafe) private static var cache: [Key: SDXLInpaintPipeline] = [:]
    private static let lock = NSLock()

    /// The pipeline for `o`'s weights, loaded on first use.
    public static func pipeline(_ o: DiffusionOptions) throws -> SDXLInpaintPipeline {
        let key = Key(folder: o.folder, unet: o.unet, lora: o.lora, scale: o.loraScale, variant: o.variant, dtype: o.dtype)
        lock.lock()
        defer { lock.unlock() }
        if let hit = cache[key] { return hit }
        let loaded = try SDXLInpaintPipeline.load(folder: o.folder, unet: o.unet, variant: o.variant,
                                                  loras: o.lora.map { [($0, Float(o.loraScale))] } ?? [], dtype: o.dtype)
        if cache.count >= 2 { cache.removeAll() }          // full-size pipelines are large: keep at most two
        cache[key] = loaded
        return loaded
    }

    /// A remover for `o`.
    public static func make(_ o: DiffusionOptions, progress: ProgressBar.Mode = .terminalOnly,
                            shouldStop: @escaping @Sendable () -> Bool = { false }) throws -> DiffusionRemover {
        try o.settings.validate()
        return try DiffusionRemover(pipeline: pipeline(o), settings: o.settings, strategy: o.strategy, resolution: o.resolution,
                                    dilate: o.dilate, progressMode: progress, shouldStop: shouldStop)
    }

    /// Forgets every loaded pipeline.
    public static func clear() {
        lock.lock(); cache.removeAll(); lock.unlock()
    }
}
