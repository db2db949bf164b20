import Foundation
import Imaging
import Tensor

/// Training speed of the learned models on synthetic data, for `rorem bench train` and Docs/learning.md:
/// remover steps per second at batch 8 on 64 and 128 px crops, and discriminator steps per second at batch 8.
/// Each figure is steps / wall time over `steps` steps after `warmup` steps, and the process CPU time per step
/// (user + system, all threads), which other load on the machine disturbs less than wall time.
public enum TrainingBenchmark {
    /// Runs the measurements and returns `name=value` pairs in a fixed order; `progress` gets one line each.
    public static func run(remover: UNetRemoverConfig = UNetRemoverConfig(),
                           discriminator: DiscriminatorConfig = DiscriminatorConfig(),
                           sizes: [Int] = [64, 128], batchSize: Int = 8, steps: Int = 10, warmup: Int = 2,
                           progress: (String) -> Void = { _ in }) throws -> [(name: String, value: Double)] {
        var results: [(name: String, value: Double)] = []
        results.append(("unet_params", Double(try UNetRemover(config: remover).network.parameterCount)))
        progress("threads: \(Parallel.threads); remover widths \(remover.widths), discriminator widths \(discriminator.widths)")
        for size in sizes {
            let data = InMemoryRemovalData(try samples(count: 2 * batchSize, size: size, seed: UInt64(size)))
            let model = try UNetRemover(config: remover, seed: 0)
            let (rate, cpu) = try timed(steps: steps, warmup: warmup) { n in
                let config = TrainingConfig(steps: n, batchSize: batchSize, warmupSteps: 0, cropSize: size)
                _ = try Trainer(config: config).train(model, on: data)
            }
            results.append(("unet_train_\(size)px_b\(batchSize)_steps_per_s", rate))
            results.append(("unet_train_\(size)px_b\(batchSize)_cpu_s_per_step", cpu))
            progress("UNet remover, \(size) px, batch \(batchSize): \(format(rate)) steps/s, \(format(cpu)) CPU s/step")
        }
        let judged = try samples(count: 2 * batchSize, size: 128, seed: 1).enumerated().map { i, s in
            JudgedSample(source: s.source, mask: s.mask, result: i % 2 == 0 ? s.target : s.source, label: i % 2 == 0 ? 1 : 0)
        }
        let judge = try Discriminator(config: discriminator, seed: 0)
        results.append(("discriminator_params", Double(judge.network.parameterCount)))
        let (rate, cpu) = try timed(steps: steps, warmup: warmup) { n in
            let config = TrainingConfig(steps: n, batchSize: batchSize, warmupSteps: 0)
            _ = try Trainer(config: config).train(judge, on: InMemoryJudgedData(judged))
        }
        results.append(("discriminator_train_\(discriminator.resolution)px_b\(batchSize)_steps_per_s", rate))
        results.append(("discriminator_train_\(discriminator.resolution)px_b\(batchSize)_cpu_s_per_step", cpu))
        progress("discriminator, \(discriminator.resolution) px, batch \(batchSize): \(format(rate)) steps/s, \(format(cpu)) CPU s/step")
        return results
    }

    /// Steps per wall-clock second and CPU seconds per step of `body(steps)`, after a warm-up call `body(warmup)`.
    static func timed(steps: Int, warmup: Int, _ body: (Int) throws -> Void) throws -> (stepsPerSecond: Double, cpuPerStep: Double) {
        if warmup > 0 { try body(warmup) }
        let n = max(1, steps)
        let start = DispatchTime.now().uptimeNanoseconds, cpuStart = cpuSeconds()
        try body(n)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return (Double(n) / seconds, (cpuSeconds() - cpuStart) / Double(n))
    }

    /// User + system CPU time of the process so far, in seconds.
    static func cpuSeconds() -> Double {
        Double(clock()) / Double(CLOCKS_PER_SEC)
    }

    private static func format(_ v: Double) -> String { String(format: "%.2f", v) }

    /// Noisy gradient images with a box "object" of a flat colour; the target is the image without it.
    static func samples(count: Int, size: Int, seed: UInt64) throws -> [RemovalSample] {
        var rng = RNG(seed: seed)
        return try (0..<count).map { _ in
            var target = try Image(width: size, height: size, channels: 3)
            for y in 0..<size {
                for x in 0..<size {
                    for c in 0..<3 { target[x, y, c] = 0.2 + 0.3 * Float(x + c * y) / Float(2 * size) + 0.1 * rng.nextFloat() }
                }
            }
            let side = size / 4 + rng.nextInt(size / 4)
            let rect = PixelRect(x: rng.nextInt(size - side), y: rng.nextInt(size - side), width: side, height: side)
            let mask = try Mask.box(width: size, height: size, rect: rect)
            var source = target
            for i in 0..<mask.pixelCount where mask.isMasked(i) { for c in 0..<3 { source.pixels[i * 3 + c] = 0.9 } }
            return RemovalSample(source: source, mask: mask, target: target)
        }
    }
}
