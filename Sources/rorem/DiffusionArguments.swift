import ArgumentParser
import Diffusion
import Foundation

/// Set by the SIGINT handler a diffusion removal installs: the run stops between denoising steps.
nonisolated(unsafe) private var interruptRequested = false

/// `rorem remove --method diffusion` options: the model files and the run's settings (RORem's defaults: 512 px crop,
/// guidance 1, strength 0.99, 50 steps).
struct DiffusionArguments: ParsableArguments {
    @Option(name: .long, help: "A diffusers folder: SDXL-inpainting, or one with RORem's unet.")
    var model: String?

    @Option(name: .long, help: "A UNet folder to use instead of the model's (RORem's unet/ over SDXL-inpainting).")
    var unet: String?

    @Option(name: .long, help: "A LoRA file fused into the UNet (RORem-4S's LCM LoRA).")
    var lora: String?

    @Option(name: .customLong("lora-scale"), help: "The LoRA's scale.")
    var loraScale: Double = 1

    @Option(name: .long, help: "euler, ddim, lcm, dpmpp2m or dpmpp2m-karras (default: the folder's).")
    var scheduler: String?

    @Option(name: .long, help: "Denoising steps before --strength cuts them.")
    var steps: Int = 50

    @Option(name: .long, help: "How far the masked area is noised, in (0, 1].")
    var strength: Double = 0.99

    @Option(name: .long, help: "Classifier-free guidance scale (runs only above 1).")
    var guidance: Double = 1

    @Option(name: .long, help: "The prompt (RORem's scripts use an empty one).")
    var prompt: String = ""

    @Option(name: .customLong("negative-prompt"), help: "The negative prompt (with --guidance above 1).")
    var negativePrompt: String?

    @Option(name: .long, help: "Seed of the torch.Generator(\"cpu\")-compatible noise: same seed, diffusers' image.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "crop (around the mask), resize (the whole image to --resolution) or whole.")
    var strategy: String = "crop"

    @Option(name: .long, help: "The side the model works at.")
    var resolution: Int = 512

    @Option(name: .long, help: "Weight storage: fp32, fp16 or bf16 (default: as the files store them).")
    var dtype: String?

    @Option(name: .long, help: "fp16 prefers the folder's *.fp16.safetensors files.")
    var variant: String?

    @Option(name: .customLong("denoising-start"), help: "diffusers' denoising_start in (0, 1): continue from the image's latents (refiner-style).")
    var denoisingStart: Double?

    @Option(name: .customLong("vae-tiling"), help: "auto (tiled VAE above 1024 px), on or off.")
    var vaeTiling: String = "auto"

    /// The remover these options describe; a SIGINT stops it between denoising steps.
    func remover() throws -> DiffusionRemover {
        guard let model else { throw ValidationError("--method diffusion needs --model DIR (a diffusers folder)") }
        var o = DiffusionOptions(folder: model)
        o.unet = unet; o.lora = lora; o.loraScale = loraScale; o.scheduler = scheduler; o.steps = steps
        o.strength = strength; o.guidance = guidance; o.prompt = prompt; o.negativePrompt = negativePrompt; o.seed = seed
        o.resolution = resolution; o.variant = variant
        try o.set("strategy", strategy)
        try o.set("vae_tiling", vaeTiling)
        o.denoisingStart = denoisingStart
        if let dtype { try o.set("dtype", dtype) }
        signal(SIGINT) { _ in
            if interruptRequested { Foundation.exit(130) }
            interruptRequested = true
        }
        return try DiffusionRemovers.make(o, progress: .terminalOnly, shouldStop: { interruptRequested })
    }
}
