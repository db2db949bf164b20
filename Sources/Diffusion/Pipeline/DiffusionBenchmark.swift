import Foundation
import Support
import Tensor

/// Timings of the diffusion pipeline's parts at one resolution, for `rorem bench diffusion` and Docs/BENCHMARKS.md:
/// one UNet evaluation, the VAE encode and decode, and RORem-4S's whole removal (LCM, 4 steps at strength 0.99, no
/// guidance: 3 UNet evaluations, two encodes, one decode, prompt encoding cached after the first run).
public enum DiffusionBenchmark {
    /// Medians in milliseconds, and the process's peak resident memory.
    public struct Result {
        public var unetStepMs = 0.0, vaeEncodeMs = 0.0, vaeDecodeMs = 0.0, remove4StepMs = 0.0
        public var peakRSSMB = 0.0
        public var lines: [String] {
            ["unet_step_ms=\(String(format: "%.1f", unetStepMs))", "vae_encode_ms=\(String(format: "%.1f", vaeEncodeMs))",
             "vae_decode_ms=\(String(format: "%.1f", vaeDecodeMs))", "remove_4step_ms=\(String(format: "%.1f", remove4StepMs))",
             "peak_rss_mb=\(String(format: "%.0f", peakRSSMB))"]
        }
    }

    /// The process's resident set now (Linux `VmRSS`), in MB; 0 where /proc is missing.
    public static func residentMB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Double(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "") else { return 0 }
        return kb / 1024
    }

    /// Runs each part once to warm up, then `runs` times, on `pipeline` at `resolution` x `resolution`.
    public static func run(_ pipeline: SDXLInpaintPipeline, resolution: Int, runs: Int = 1, seed: UInt64 = 0,
                           log: (String) -> Void = { _ in }) throws -> Result {
        let f = pipeline.vaeScaleFactor
        guard resolution % f == 0, resolution >= f else { throw PipelineError("resolution", "must be a positive multiple of \(f)") }
        let generator = TorchGenerator(seed: seed)
        let image = generator.rand([1, 3, resolution, resolution])
        var maskValues = [Float](repeating: 0, count: resolution * resolution)
        for y in resolution / 4..<(3 * resolution / 4) { for x in resolution / 4..<(3 * resolution / 4) { maskValues[y * resolution + x] = 1 } }
        let mask = try Tensor(maskValues, shape: [1, 1, resolution, resolution])
        let l = resolution / f
        let unet = pipeline.unet
        let settings = InpaintSettings.rorem4S
        let embeddings = try pipeline.promptEncoder.encode(prompt: settings.prompt, guidance: false)
        let latents = generator.randn([1, unet.config.inChannels, l, l])
        let ids = try Tensor([Float(resolution), Float(resolution), 0, 0, Float(resolution), Float(resolution)], shape: [1, 6])
        let added = AddedConditions(textEmbeds: embeddings.pooledPromptEmbeds, timeIds: ids)
        var r = Result()
        func median(_ name: String, _ body: () throws -> Void) rethrows -> Double {
            let times = try Timing.milliseconds(runs: runs, body)
            log("\(name): \(times.map { String(format: "%.0f", $0) }.joined(separator: ", ")) ms")
            return Timing.median(times)
        }
        log("resident after encoding the prompt: \(String(format: "%.0f", residentMB())) MB (text encoders loaded: \(pipeline.promptEncoder.encodersAreLoaded))")
        r.unetStepMs = try median("unet step") {
            _ = try GradMode.noGrad { try unet(latents, timestep: 999, encoderHiddenStates: embeddings.promptEmbeds, added: added) }
        }
        r.vaeEncodeMs = try median("vae encode") { _ = try GradMode.noGrad { try pipeline.vae.encode(image * 2 - 1) } }
        let z = generator.randn([1, pipeline.vae.config.latentChannels, l, l])
        r.vaeDecodeMs = try median("vae decode") { _ = try GradMode.noGrad { try pipeline.vae.decode(z) } }
        r.remove4StepMs = try median("remove, 4 steps") { _ = try pipeline.run(image: image, mask: mask, settings: settings) }
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        r.peakRSSMB = Double(usage.ru_maxrss) / 1024
        return r
    }
}
