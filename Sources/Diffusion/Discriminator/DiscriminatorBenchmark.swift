import Foundation
import Support
import Imaging
import Tensor

/// Timings of RORem's discriminator for `rorem bench discriminator` and Docs/BENCHMARKS.md (Scripts/bench/
/// discriminator.py runs the same work with RORem's model code in PyTorch): seconds per scored triplet (both VAE
/// encodes, the mask, the encoder and the head; no latent reuse), one training step from cached latents at each
/// batch size (MSE, AdamW, gradient checkpointing), and the peak resident memory.
public enum DiscriminatorBenchmark {
    /// Medians in milliseconds, and the process's peak resident memory.
    public struct Result {
        public var scoreMs = 0.0
        /// (batch size, milliseconds per step).
        public var trainStepMs: [(batch: Int, ms: Double)] = []
        public var peakRSSMB = 0.0
        public var lines: [String] {
            ["score_ms=\(String(format: "%.1f", scoreMs))"]
                + trainStepMs.map { "train_step_b\($0.batch)_ms=\(String(format: "%.1f", $0.ms))" }
                + ["peak_rss_mb=\(String(format: "%.0f", peakRSSMB))"]
        }
    }

    /// Warms up once, then times `runs` runs of each part on `discriminator` at its resolution. Training steps run
    /// with learning rate 0 (AdamW's decay then also leaves the weights), so the model is unchanged afterwards.
    public static func run(_ discriminator: RORemDiscriminator, batches: [Int] = [1, 4], runs: Int = 1, seed: UInt64 = 0,
                           log: (String) -> Void = { _ in }) throws -> Result {
        guard batches.allSatisfy({ $0 >= 1 && $0 <= 64 }) else { throw PipelineError("batch", "sizes must be 1...64, got \(batches)") }
        let r0 = discriminator.settings.resolution
        let generator = TorchGenerator(seed: seed)
        func image() throws -> Image {
            try Image(width: r0, height: r0, channels: 3, pixels: generator.rand(count: 3 * r0 * r0))
        }
        var maskValues = [Float](repeating: 0, count: r0 * r0)
        for y in r0 / 4..<(3 * r0 / 4) { for x in r0 / 4..<(3 * r0 / 4) { maskValues[y * r0 + x] = 1 } }
        let mask = try Mask(width: r0, height: r0, values: maskValues)
        var result = Result()
        func median(_ name: String, _ body: () throws -> Void) rethrows -> Double {
            let times = try Timing.milliseconds(runs: runs, body)
            log("\(name): \(times.map { String(format: "%.0f", $0) }.joined(separator: ", ")) ms")
            return Timing.median(times)
        }
        result.scoreMs = try median("score (batch 1)") {
            _ = try discriminator.score(source: image(), mask: mask, result: image())
        }
        let l = r0 / discriminator.vaeScaleFactor
        let c = discriminator.vae.config.latentChannels
        let optimizer = discriminator.makeOptimizer(learningRate: 0, weightDecay: 0)
        for b in batches {
            let examples = try (0..<b).map { i in
                RORemDiscriminator.Example(resultLatents: generator.randn([1, c, l, l]), mask: try discriminator.maskLatents(for: mask),
                                           sourceLatents: generator.randn([1, c, l, l]), label: Float(i % 2))
            }
            let ms = try median("train step (batch \(b))") { _ = try discriminator.trainStep(batch: examples, optimizer: optimizer) }
            result.trainStepMs.append((b, ms))
        }
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        result.peakRSSMB = Double(usage.ru_maxrss) / 1024
        return result
    }
}
