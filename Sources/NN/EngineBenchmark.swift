import Foundation
import Support
import Tensor

/// The engine benchmark behind `rorem bench engine`: SGEMM throughput, a 3x3 convolution, SDXL-sized kernels
/// (a 3x3 conv 320 -> 320 at 64x64, attention over 4096 tokens with 10 heads of 64, with its peak memory), and
/// the reference inpainting UNet (forward, and a training step at batch 8 with L1 loss and Adam), plus peak memory,
/// and the SDXL UNet's two commonest Linear products with their weights in fp16 as published checkpoints store them
/// (PyTorch runs them on the float32 weights, as diffusers does on the CPU).
/// `Scripts/bench/engine.py` measures the same in PyTorch. Each timing is the median of `runs` after one warm-up.
/// Peak memory is the kernel's peak resident set (VmHWM, reset before the first training step) during that
/// step: `unet_train_peak_rss_mb` for the whole process and `unet_train_peak_delta_mb` above the resident set
/// just before it. `unet_train_step_cpu_ms` is the CPU time (all threads) per step: a figure that other load
/// on the machine disturbs much less than wall time.
public enum EngineBenchmark {
    /// The groups of measurements, in the order they run (`rorem bench engine --parts`).
    public enum Part: String, CaseIterable, Sendable {
        case sgemm, conv, bf16, conv320, attention, unet, linear
    }

    /// Runs the measurements of `parts` and returns `name=value` pairs in a fixed order; `progress` gets one line
    /// per step. Each part draws its inputs from its own seed, so a part measures the same data alone or in the
    /// whole run.
    public static func run(runs: Int = 5, parts: Set<Part> = Set(Part.allCases),
                           progress: (String) -> Void = { _ in }) throws -> [(name: String, value: Double)] {
        let runs = max(1, runs)
        var results: [(name: String, value: Double)] = []
        progress("BLAS kernels: \(BLAS.coreName), convolution: \(ConvBackend.status), 3x3 stride 1: \(Winograd.status), bf16 matmul: \(OneDNN.bf16MatmulStatus), f16/bf16 Linear weights: \(BLAS.halfWeightStatus), threads: \(Parallel.threads)")
        results.append(("threads", Double(Parallel.threads)))

        if parts.contains(.sgemm) {
            var rng = RNG(seed: 0)
            // SGEMM 1024^3.
            let n = 1024
            let a = Tensor.randn([n, n], rng: &rng), b = Tensor.randn([n, n], rng: &rng)
            let gemmMs = try median(runs) { _ = try Tensor.matmul(a, b) }
            results.append(("sgemm_1024_gflops", 2 * Double(n * n * n) / (gemmMs * 1e6)))
            progress("sgemm 1024: \(format(results.last?.value)) GFLOP/s")
        }

        if parts.contains(.conv) {
            var rng = RNG(seed: 1)
            // 3x3 conv 64 -> 64 on 1x64x128x128.
            let x = Tensor.randn([1, 64, 128, 128], rng: &rng)
            let conv = Conv2d(64, 64, kernelSize: 3, padding: 1, rng: &rng)
            let convMs = try GradMode.noGrad { try median(runs) { _ = try conv(x) } }
            results.append(("conv3x3_fwd_ms", convMs))
            progress("conv3x3 forward: \(format(convMs)) ms")
        }

        if parts.contains(.bf16) {
            var rng = RNG(seed: 2)
            // bf16 GEMM: both operands bf16, converted into scratch float32 per call (no native bf16 path here).
            for size in [512, 4096] {
                let a16 = Tensor.randn([size, size], rng: &rng).to(.bf16), b16 = Tensor.randn([size, size], rng: &rng).to(.bf16)
                let ms = try median(size >= 4096 ? min(runs, 3) : runs) { _ = try Tensor.matmul(a16, b16) }
                results.append(("bf16_gemm_\(size)_gflops", 2 * Double(size * size * size) / (ms * 1e6)))
                progress("bf16 GEMM \(size): \(format(results.last?.value)) GFLOP/s")
            }
        }

        if parts.contains(.conv320) {
            var rng = RNG(seed: 3)
            // SDXL-sized kernels: a 3x3 conv 320 -> 320 on 1x320x64x64 (the UNet's first level at 512 px), fp32.
            let x320 = Tensor.randn([1, 320, 64, 64], rng: &rng)
            let conv320 = Conv2d(320, 320, kernelSize: 3, padding: 1, rng: &rng)
            let conv320Ms = try GradMode.noGrad { try median(runs) { _ = try conv320(x320) } }
            results.append(("conv3x3_320_fp32_ms", conv320Ms))
            progress("conv3x3 320->320 64x64 fp32: \(format(conv320Ms)) ms")
            let x320h = x320.to(.bf16)
            let w320h = conv320.weight.value.to(.bf16), b320h = conv320.bias?.value.to(.bf16)
            let conv320hMs = try GradMode.noGrad {
                try median(runs) { _ = try Tensor.conv2d(x320h, weight: w320h, bias: b320h, geometry: ConvGeometry(padding: 1)) }
            }
            results.append(("conv3x3_320_bf16_ms", conv320hMs))
            progress("conv3x3 320->320 64x64 bf16: \(format(conv320hMs)) ms")
        }

        if parts.contains(.attention) {
            var rng = RNG(seed: 4)
            // Attention at SDXL's largest 512 px shape: 4096 tokens, 10 heads of 64; time and peak memory above the
            // inputs (the score matrix alone would be 10 x 4096 x 4096 floats = 671 MB).
            let q = Tensor.randn([1, 10, 4096, 64], rng: &rng), k = Tensor.randn([1, 10, 4096, 64], rng: &rng)
            let v = Tensor.randn([1, 10, 4096, 64], rng: &rng)
            let attention = { _ = try Tensor.scaledDotProductAttention(query: q, key: k, value: v) }
            let attentionMs = try GradMode.noGrad { try median(runs, attention) }
            BufferPool.shared.trim()
            let attentionBefore = Memory.residentMB()
            Memory.resetPeak()
            try GradMode.noGrad { try attention() }
            let attentionPeak = Memory.peakMB() - attentionBefore
            results.append(("attention_4096_ms", attentionMs))
            results.append(("attention_4096_peak_delta_mb", attentionPeak))
            progress("attention 4096 tokens, 10 heads of 64: \(format(attentionMs)) ms, peak +\(format(attentionPeak)) MB")
        }

        if parts.contains(.unet) {
            var rng = RNG(seed: 5)
            // Reference UNet.
            let net = ReferenceUNet(rng: &rng)
            results.append(("unet_params", Double(net.parameterCount)))
            let image = Tensor.randn([1, 4, 128, 128], rng: &rng)
            let fwdMs = try GradMode.noGrad { try median(runs) { _ = try net(image) } }
            results.append(("unet_fwd_ms", fwdMs))
            progress("UNet forward (batch 1, 128x128): \(format(fwdMs)) ms")

            let batch = Tensor.randn([8, 4, 128, 128], rng: &rng), target = Tensor.randn([8, 3, 128, 128], rng: &rng)
            let optimizer = Adam(parameters: net.parameters, learningRate: 1e-4)
            let step = {
                optimizer.zeroGrad()
                let loss = try Tensor.l1Loss(net(batch), target)
                try loss.backward()
                optimizer.step()
            }
            BufferPool.shared.trim()
            let before = Memory.residentMB()
            Memory.resetPeak()
            try step()
            let peak = Memory.peakMB()
            let cpuBefore = Memory.cpuMilliseconds()
            let trainMs = try median(runs, warmup: false) { try step() }
            let trainCPU = (Memory.cpuMilliseconds() - cpuBefore) / Double(runs)
            results.append(("unet_train_step_ms", trainMs))
            results.append(("unet_train_step_cpu_ms", trainCPU))
            results.append(("unet_train_peak_rss_mb", peak))
            results.append(("unet_train_peak_delta_mb", peak - before))
            progress("UNet train step (batch 8, L1, Adam): \(format(trainMs)) ms, peak RSS \(format(peak)) MB (+\(format(peak - before)) MB)")
        }
        if parts.contains(.linear) {
            var rng = RNG(seed: 6)
            // The SDXL UNet's Linear products at 512 px (256 tokens of 1280 at its 16x16 level): an attention
            // projection (1280 -> 1280) and the GEGLU feed-forward's input (1280 -> 10240), weights in fp16.
            let x = Tensor.randn([256, 1280], rng: &rng)
            for outputs in [1280, 10240] {
                let weight = (Tensor.randn([outputs, 1280], rng: &rng) * 0.02).to(.f16)
                let ms = try GradMode.noGrad { try median(runs) { _ = try Tensor.linear(x, weight: weight) } }
                results.append(("linear_f16_256x\(outputs)x1280_ms", ms))
                progress("linear 256 x 1280 -> \(outputs), fp16 weight: \(format(ms)) ms")
            }
        }
        return results
    }

    /// Median wall time in milliseconds of `runs` calls of `body`, after one warm-up call.
    static func median(_ runs: Int, warmup: Bool = true, _ body: () throws -> Void) throws -> Double {
        Timing.median(try Timing.milliseconds(runs: runs, warmup: warmup, body))
    }

    private static func format(_ v: Double?) -> String { String(format: "%.1f", v ?? .nan) }
}

/// Resident-set readings from /proc (Linux; zero elsewhere) and process CPU time.
enum Memory {
    /// User + system CPU time of the process so far, in milliseconds (all threads).
    static func cpuMilliseconds() -> Double {
        var usage = rusage()
        #if canImport(Glibc)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        let us = (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1_000_000 + Int(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
        return Double(us) / 1000
    }

    /// Current resident set in MB.
    static func residentMB() -> Double { statusField("VmRSS:") }
    /// Peak resident set since start or the last `resetPeak`, in MB.
    static func peakMB() -> Double { statusField("VmHWM:") }
    /// Resets the kernel's peak-RSS mark (writes 5 to /proc/self/clear_refs).
    static func resetPeak() { try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8) }

    private static func statusField(_ key: String) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(key) {
            let kb = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Double($0) } ?? 0
            return kb / 1024
        }
        return 0
    }
}
