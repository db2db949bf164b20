import Foundation
import Support
import Tensor

/// Timings of the diffusion pipeline's parts at one resolution, for `rorem bench diffusion` and Docs/BENCHMARKS.md:
/// one UNet evaluation (alone, and as a denoising loop's later steps run it, with the context's cross-attention
/// projections memoized), the VAE encode and decode, and RORem-4S's whole removal (LCM, 4 steps at strength 0.99, no
/// guidance: 3 UNet evaluations, two encodes, one decode, prompt encoding cached after the first run).
public enum DiffusionBenchmark {
    /// Medians in milliseconds, and the process's peak resident memory.
    public struct Result {
        public var unetStepMs = 0.0, unetLoopStepMs = 0.0, vaeEncodeMs = 0.0, vaeDecodeMs = 0.0, remove4StepMs = 0.0
        public var peakRSSMB = 0.0
        /// `name=value` lines for the parts timed (default: all), in a fixed order, then the peak memory.
        public func lines(for parts: Set<Part> = Set(Part.allCases)) -> [String] {
            let all: [(Part, String, Double)] = [(.unet, "unet_step_ms", unetStepMs), (.unet, "unet_loop_step_ms", unetLoopStepMs),
                                                 (.encode, "vae_encode_ms", vaeEncodeMs),
                                                 (.decode, "vae_decode_ms", vaeDecodeMs), (.remove, "remove_4step_ms", remove4StepMs)]
            return all.filter { parts.contains($0.0) }.map { "\($0.1)=\(String(format: "%.1f", $0.2))" }
                + ["peak_rss_mb=\(String(format: "%.0f", peakRSSMB))"]
        }
    }

    /// The process's resident set now (Linux `VmRSS`), in MB; 0 where /proc is missing.
    public static func residentMB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Double(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "") else { return 0 }
        return kb / 1024
    }

    /// The parts `run` can time (`rorem bench diffusion --parts`).
    public enum Part: String, CaseIterable, Sendable {
        case unet, encode, decode, remove

        /// Whether the part needs more of the pipeline than the VAE.
        public var needsWholePipeline: Bool { self == .unet || self == .remove }
    }

    /// Runs each part of `parts` once to warm up, then `runs` times, on `pipeline` at `resolution` x `resolution`.
    public static func run(_ pipeline: SDXLInpaintPipeline, resolution: Int, runs: Int = 1, seed: UInt64 = 0,
                           parts: Set<Part> = Set(Part.allCases), log: (String) -> Void = { _ in }) throws -> Result {
        let inputs = try Inputs(resolution: resolution, factor: pipeline.vaeScaleFactor, latentChannels: pipeline.vae.config.latentChannels, seed: seed)
        var r = try runVAE(pipeline.vae, inputs: inputs, runs: runs, parts: parts, log: log)
        let unet = pipeline.unet
        let settings = InpaintSettings.rorem4S
        if parts.contains(.unet) {
            let embeddings = try pipeline.promptEncoder.encode(prompt: settings.prompt, guidance: false)
            log("resident after encoding the prompt: \(String(format: "%.0f", residentMB())) MB (text encoders loaded: \(pipeline.promptEncoder.encodersAreLoaded))")
            let l = inputs.latentSide
            let latents = inputs.generator.randn([1, unet.config.inChannels, l, l])
            let ids = try Tensor([Float(resolution), Float(resolution), 0, 0, Float(resolution), Float(resolution)], shape: [1, 6])
            let added = AddedConditions(textEmbeds: embeddings.pooledPromptEmbeds, timeIds: ids)
            // One evaluation alone, and one as a loop's later steps run it (the warm-up fills the memo, the timed
            // runs reuse its projections), alternating so that a drift of the machine's speed hits both alike.
            let projections = ContextProjections()
            func step(_ memo: ContextProjections?) throws {
                _ = try unet(latents, timestep: 999, encoderHiddenStates: embeddings.promptEmbeds, added: added,
                             projections: memo)
            }
            try step(nil)
            try step(projections)
            var alone: [Double] = [], inLoop: [Double] = []
            for _ in 0..<max(1, runs) {
                alone += try Timing.milliseconds(runs: 1, warmup: false) { try step(nil) }
                inLoop += try Timing.milliseconds(runs: 1, warmup: false) { try step(projections) }
            }
            r.unetStepMs = report("unet step", alone, log: log)
            r.unetLoopStepMs = report("unet step in a loop", inLoop, log: log)
        }
        if parts.contains(.remove) {
            r.remove4StepMs = try median("remove, 4 steps", runs: runs, log: log) {
                _ = try pipeline.run(image: inputs.image, mask: inputs.mask, settings: settings)
            }
        }
        r.peakRSSMB = peakMB()
        return r
    }

    /// Times the VAE parts of `parts` (encode, decode) alone: `rorem bench diffusion --parts encode,decode` loads
    /// nothing else, so a VAE change can be measured in seconds.
    public static func runVAE(_ vae: AutoencoderKL, resolution: Int, runs: Int = 1, seed: UInt64 = 0,
                              parts: Set<Part> = [.encode, .decode], log: (String) -> Void = { _ in }) throws -> Result {
        let inputs = try Inputs(resolution: resolution, factor: vae.config.downsamplingFactor, latentChannels: vae.config.latentChannels, seed: seed)
        return try runVAE(vae, inputs: inputs, runs: runs, parts: parts, log: log)
    }

    private static func runVAE(_ vae: AutoencoderKL, inputs: Inputs, runs: Int, parts: Set<Part>,
                               log: (String) -> Void) throws -> Result {
        var r = Result()
        if parts.contains(.encode) {
            r.vaeEncodeMs = try median("vae encode", runs: runs, log: log) { _ = try GradMode.noGrad { try vae.encode(inputs.image * 2 - 1) } }
        }
        if parts.contains(.decode) {
            r.vaeDecodeMs = try median("vae decode", runs: runs, log: log) { _ = try GradMode.noGrad { try vae.decode(inputs.latents) } }
        }
        r.peakRSSMB = peakMB()
        return r
    }

    /// The benchmark's inputs, drawn from one TorchGenerator: an image in [0, 1], a centred square mask, latents.
    private struct Inputs {
        let generator: TorchGenerator
        let image: Tensor, mask: Tensor, latents: Tensor
        let latentSide: Int

        init(resolution: Int, factor f: Int, latentChannels: Int, seed: UInt64) throws {
            guard resolution % f == 0, resolution >= f else { throw PipelineError("resolution", "must be a positive multiple of \(f)") }
            generator = TorchGenerator(seed: seed)
            image = generator.rand([1, 3, resolution, resolution])
            var maskValues = [Float](repeating: 0, count: resolution * resolution)
            for y in resolution / 4..<(3 * resolution / 4) { for x in resolution / 4..<(3 * resolution / 4) { maskValues[y * resolution + x] = 1 } }
            mask = try Tensor(maskValues, shape: [1, 1, resolution, resolution])
            latentSide = resolution / f
            latents = generator.randn([1, latentChannels, latentSide, latentSide])
        }
    }

    private static func median(_ name: String, runs: Int, log: (String) -> Void, _ body: () throws -> Void) rethrows -> Double {
        report(name, try Timing.milliseconds(runs: runs, body), log: log)
    }

    /// Logs the times of `name` and returns their median.
    private static func report(_ name: String, _ times: [Double], log: (String) -> Void) -> Double {
        log("\(name): \(times.map { String(format: "%.0f", $0) }.joined(separator: ", ")) ms")
        return Timing.median(times)
    }

    /// The process's peak resident set (`ru_maxrss`) in MB.
    private static func peakMB() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}
