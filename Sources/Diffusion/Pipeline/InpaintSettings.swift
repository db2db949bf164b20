/// How one inpainting run is set up: the settings of StableDiffusionXLInpaintPipeline's `__call__` that rorem
/// exposes, with diffusers' defaults where RORem's scripts use them.
public struct InpaintSettings: Equatable, Sendable {
    /// The prompt (RORem's scripts use an empty one).
    public var prompt = ""
    /// The negative prompt; nil uses zeros when the folder forces them for an empty negative prompt.
    public var negativePrompt: String? = nil
    /// Inference steps before `strength` cuts them.
    public var steps = 50
    /// How far the masked area is noised, in (0, 1]; 1 starts from pure noise.
    public var strength = 0.9999
    /// Classifier-free guidance scale; guidance runs only above 1.
    public var guidance = 7.5
    /// The seed of the `torch.Generator("cpu")` every random number is drawn from, in diffusers' order.
    public var seed: UInt64 = 0
    /// A scheduler to use instead of the folder's (`euler`, `ddim`, `lcm`, `dpmpp2m`, `dpmpp2m-karras` or a
    /// diffusers class name); nil keeps the folder's.
    public var scheduler: String? = nil
    /// SDXL's aesthetic scores, used when the folder's `requires_aesthetics_score` is set.
    public var aestheticScore = 6.0, negativeAestheticScore = 2.5
    /// diffusers' `denoising_start`, in (0, 1): the run starts this far into the noise schedule from the image's
    /// latents without adding noise (a refiner continuing another model's run), and `strength` no longer chooses
    /// the timesteps. nil (the default) for a normal run.
    public var denoisingStart: Double? = nil
    /// Whether the VAE encodes and decodes in tiles (see `VAETiling`).
    public var vaeTiling = VAETiling.auto

    /// When the pipeline's VAE works tile by tile, with diffusers' tiling (`enable_tiling()`: tiles of the VAE
    /// config's `sample_size` pixels, overlapping by a quarter, blended linearly; the activations of one tile
    /// alive at a time). A tiled result differs slightly from a whole one near the tile seams.
    public enum VAETiling: String, CaseIterable, Sendable {
        /// Tiled when the image's longer side exceeds `VAETiling.autoSide` (1024 px, SDXL's native size), whole
        /// otherwise: large images under strategy `whole` do not need the memory of a whole-image VAE pass.
        case auto
        /// Always as diffusers after `enable_tiling()` (only images larger than a tile are cut).
        case on
        /// Never (diffusers' default).
        case off

        /// The longest side `auto` still processes whole.
        public static let autoSide = 1024

        /// Whether an image of `width` x `height` pixels goes through the tiled path.
        public func tiles(width: Int, height: Int) -> Bool {
            switch self {
            case .on: return true
            case .off: return false
            case .auto: return Swift.max(width, height) > Self.autoSide
            }
        }
    }

    public init(prompt: String = "", negativePrompt: String? = nil, steps: Int = 50, strength: Double = 0.9999,
                guidance: Double = 7.5, seed: UInt64 = 0, scheduler: String? = nil) {
        self.prompt = prompt; self.negativePrompt = negativePrompt; self.steps = steps; self.strength = strength
        self.guidance = guidance; self.seed = seed; self.scheduler = scheduler
    }

    /// RORem-4S's setting: LCM, 4 steps, strength 0.99, no guidance.
    public static let rorem4S = InpaintSettings(steps: 4, strength: 0.99, guidance: 1, scheduler: "lcm")

    /// Checks the values, naming the bad one.
    public func validate() throws {
        guard steps >= 1, steps <= 1000 else { throw PipelineError("steps", "must be in 1...1000, got \(steps)") }
        guard strength > 0, strength <= 1, strength.isFinite else { throw PipelineError("strength", "must be in (0, 1], got \(strength)") }
        guard guidance.isFinite, guidance >= 0 else { throw PipelineError("guidance", "must be a finite number >= 0, got \(guidance)") }
        if let denoisingStart, !(denoisingStart > 0 && denoisingStart < 1) {
            throw PipelineError("denoising_start", "must be in (0, 1), got \(denoisingStart)")
        }
    }
}
