import ArgumentParser
import Diffusion
import Foundation
import Tensor

/// `rorem bench diffusion --model DIR [--dtype D] [--resolution 512]`.
struct BenchDiffusion: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diffusion",
        abstract: "Time the diffusion pipeline's parts and print unet_step_ms, vae_encode_ms, vae_decode_ms, remove_4step_ms, peak_rss_mb.",
        discussion: """
        unet_step_ms is one UNet evaluation on its own (what diffusers' UNet call does); unet_loop_step_ms is one as a
        denoising loop's later steps run it, the text context's cross-attention keys and values already projected.
        remove_4step_ms is RORem-4S's setting (LCM, 4 steps, strength 0.99, guidance 1) with everything included.
        --parts encode,decode loads only the VAE (seconds instead of a minute) and times just those parts.
        Example: rorem bench diffusion --model models/sdxl-inpainting --dtype bf16 --resolution 512
        """
    )

    @Option(name: .long, help: "A diffusers SDXL inpainting folder.") var model: String
    @Option(name: .long, help: "A UNet folder to use instead of the model's.") var unet: String?
    @Option(name: .long, help: "Weight storage: fp32, fp16 or bf16 (default: as stored).") var dtype: String?
    @Option(name: .long, help: "Image side in pixels.") var resolution: Int = 512
    @Option(name: .long, help: "Timed runs after one warm-up.") var runs: Int = 1
    @Option(name: .long, help: "A LoRA file fused into the UNet first (RORem-4S's LCM LoRA).") var lora: String?
    @Option(name: .customLong("lora-scale"), help: "The LoRA's scale.") var loraScale: Double = 1
    @Option(name: .long, help: "fp16 prefers the folder's *.fp16.safetensors files.") var variant: String?
    @Option(name: .long, help: "Worker threads (default: every core).") var threads: Int?
    @Option(name: .long, help: "Comma-separated parts to time: unet, encode, decode, remove (default: all).")
    var parts: String = "unet,encode,decode,remove"

    func run() throws {
        var storage: DType?
        if let dtype {
            guard let d = DType(name: dtype) else { throw ValidationError("--dtype must be fp32, fp16 or bf16") }
            storage = d
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let threads { Parallel.threads = threads }
        var chosen = Set<DiffusionBenchmark.Part>()
        for name in parts.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
            guard let part = DiffusionBenchmark.Part(rawValue: name) else {
                throw ValidationError("--parts: unknown part '\(name)' (unet, encode, decode, remove)")
            }
            chosen.insert(part)
        }
        if chosen.isEmpty { throw ValidationError("--parts names no part (unet, encode, decode, remove)") }
        do {
            let started = Date()
            let result: DiffusionBenchmark.Result
            let log: (String) -> Void = { printError("bench: \($0)") }
            if chosen.contains(where: \.needsWholePipeline) {
                let pipeline = try SDXLInpaintPipeline.load(folder: model, unet: unet, variant: variant,
                                                            loras: lora.map { [($0, Float(loraScale))] } ?? [], dtype: storage)
                print("load_ms=\(String(format: "%.0f", Date().timeIntervalSince(started) * 1000))")
                print("rss_after_load_mb=\(String(format: "%.0f", DiffusionBenchmark.residentMB()))")
                result = try DiffusionBenchmark.run(pipeline, resolution: resolution, runs: runs, parts: chosen, log: log)
            } else {
                let vae = try AutoencoderKL.load(folder: URL(fileURLWithPath: model).appendingPathComponent("vae").path,
                                                 variant: variant, dtype: storage)
                print("load_ms=\(String(format: "%.0f", Date().timeIntervalSince(started) * 1000))")
                result = try DiffusionBenchmark.runVAE(vae, resolution: resolution, runs: runs, parts: chosen, log: log)
            }
            print("resolution=\(resolution)")
            print("dtype=\(dtype ?? "as-stored")")
            print("threads=\(Parallel.threads)")
            print("conv_winograd=\(Winograd.status)")
            print("half_weight_gemm=\(BLAS.halfWeightStatus)")
            for line in result.lines(for: chosen) { print(line) }
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
    }
}
