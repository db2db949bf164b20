import ArgumentParser
import Diffusion
import Foundation
import Tensor

/// `rorem bench discriminator --base DIR [--lora DIR] [--resolution 512] [--batch 1,4]`.
struct BenchDiscriminator: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "discriminator",
        abstract: "Time RORem's discriminator and print score_ms, train_step_b<N>_ms, peak_rss_mb.",
        discussion: """
        score_ms is one (source, mask, result) triplet scored at batch 1 with both VAE encodes; train_step_b<N>_ms one
        AdamW step on N cached triplets with gradient checkpointing. Without --lora a fresh discriminator (rank-4 LoRA,
        head as wide as the mid block) is timed. Scripts/bench/discriminator.py runs the same in PyTorch.
        Example: rorem bench discriminator --base models/sdxl-inpainting --lora models/RORem-Discriminator
        """
    )

    @Option(name: .long, help: "A diffusers SDXL-inpainting folder.") var base: String
    @Option(name: .long, help: "A RORem discriminator folder (pytorch_lora_weights.safetensors, cls_pred_branch.pt).") var lora: String?
    @Option(name: .long, help: "Weight storage of the frozen base: fp32, fp16 or bf16 (default: as stored).") var dtype: String?
    @Option(name: .long, help: "Weights variant to prefer, e.g. fp16.") var variant: String?
    @Option(name: .long, help: "Hidden width of a fresh head (default: the mid block's width).") var headWidth: Int?
    @Option(name: .long, help: "Image side in pixels.") var resolution: Int = 512
    @Option(name: .long, help: "Training batch sizes, comma-separated.") var batch: String = "1,4"
    @Option(name: .long, help: "Timed runs after one warm-up.") var runs: Int = 1

    func run() throws {
        var storage: DType?
        if let dtype {
            guard let d = DType(name: dtype) else { throw ValidationError("--dtype must be fp32, fp16 or bf16") }
            storage = d
        }
        let sizes = batch.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) >= 1 }) else { throw ValidationError("--batch must be positive integers, e.g. 1,4") }
        do {
            let started = Date()
            let settings = RORemDiscriminator.Settings(resolution: resolution)
            let d = try lora.map { try RORemDiscriminator.load(folder: $0, base: base, dtype: storage, variant: variant, settings: settings) }
                ?? RORemDiscriminator.fresh(base: base, headWidth: headWidth, dtype: storage, variant: variant, settings: settings)
            print("load_ms=\(String(format: "%.0f", Date().timeIntervalSince(started) * 1000))")
            let result = try DiscriminatorBenchmark.run(d, batches: sizes.compactMap { $0 }, runs: runs) { printError("bench: \($0)") }
            print("resolution=\(resolution)")
            print("dtype=\(dtype ?? "as-stored")")
            print("threads=\(Parallel.threads)")
            print("params=\(d.network.parameterCount)")
            print("trainable_params=\(d.trainableParameters.reduce(0) { $0 + $1.value.count })")
            for line in result.lines { print(line) }
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
    }
}
