import NN
import Foundation
import Tensor
import XCTest
@testable import Diffusion

/// Every scheduler against diffusers 0.42.1 run as StableDiffusionXLInpaintPipeline drives it
/// (Fixtures/sched/schedulers.json + .safetensors, Scripts/fixtures/make_diffusion_sched_fixtures.py): the
/// timesteps exactly, sigmas and every step's tensors within 1e-5 relative.
final class SchedulerParityTests: XCTestCase {
    struct Case: Decodable {
        let name: String
        let `class`: String
        let config: SchedulerConfigValue
        let steps: Int
        let strength: Double
        let eta: Double?
        let timesteps: [Double]
        let kept_timesteps: [Double]
        let kept_steps: Int
        let sigmas: [Double]?
        let init_noise_sigma: Double
        let begin_index: Int?
        let shape: [Int]
    }
    struct File: Decodable { let diffusers: String; let cases: [Case] }

    static let tolerance: Float = 1e-5

    static func load() throws -> (File, SafeTensorsFile) {
        let data = try Data(contentsOf: URL(fileURLWithPath: DiffusionFixtures.path("sched/schedulers.json")))
        let file = try JSONDecoder().decode(File.self, from: data)
        return (file, try SafeTensorsFile(path: DiffusionFixtures.path("sched/schedulers.safetensors")))
    }

    static func config(_ c: Case) throws -> SchedulerConfig {
        guard case .object(let dictionary) = c.config else { throw SchedulerError(c.name, "config is not an object") }
        return try SchedulerConfig(dictionary: dictionary, label: "fixture \(c.name)")
    }

    /// The largest |a - b| / (1 + |b|) over the elements; fails beyond the tolerance.
    @discardableResult
    func assertClose(_ a: Tensor, _ b: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) -> Float {
        XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
        guard a.shape == b.shape else { return .infinity }
        var worst: Float = 0
        for (x, y) in zip(a.values, b.values) { worst = max(worst, abs(x - y) / (1 + abs(y))) }
        XCTAssertLessThanOrEqual(worst, Self.tolerance, "\(what): relative error \(worst)", file: file, line: line)
        return worst
    }

    func testEveryCaseMatchesDiffusers() throws {
        let (file, tensors) = try Self.load()
        XCTAssertEqual(file.diffusers, Diffusion.referenceDiffusersVersion)
        XCTAssertEqual(file.cases.count, 13)
        let imageLatents = try tensors.tensor("inputs/image_latents")
        var worst: Float = 0
        var report: [String] = []
        for c in file.cases {
            let worstBefore = worst
            worst = 0
            let scheduler = try Schedulers.make(config: Self.config(c), className: c.class)
            XCTAssertEqual(scheduler.className, c.class)
            if let ddim = scheduler as? DDIMScheduler, let eta = c.eta { ddim.eta = Float(eta) }
            try scheduler.setTimesteps(c.steps)

            // Timesteps: exact, except Euler's fractional Karras ones, interpolated in float32 log-sigma (numpy's
            // float32 log and the platform's differ in the last bit now and then): within 1e-5 relative.
            let fractional = c.timesteps.contains { $0 != $0.rounded() }
            XCTAssertEqual(scheduler.timesteps.count, c.timesteps.count, c.name)
            for (mine, theirs) in zip(scheduler.timesteps, c.timesteps) {
                if fractional { XCTAssertEqual(Double(mine), theirs, accuracy: 1e-5 * max(1, theirs), "\(c.name) fractional timesteps") }
                else { XCTAssertEqual(Double(mine), theirs, "\(c.name): timesteps \(scheduler.timesteps) vs \(c.timesteps)") }
            }
            if let sigmas = c.sigmas {
                let mine = (scheduler as? EulerDiscreteScheduler)?.sigmas ?? (scheduler as? DPMSolverMultistepScheduler)?.sigmas
                let values = try XCTUnwrap(mine, c.name)
                XCTAssertEqual(values.count, sigmas.count, c.name)
                for (m, s) in zip(values, sigmas) { XCTAssertEqual(Double(m), s, accuracy: 1e-5 * (1 + s), "\(c.name) sigmas") }
            }
            XCTAssertEqual(Double(scheduler.initNoiseSigma), c.init_noise_sigma, accuracy: 1e-5 * (1 + c.init_noise_sigma), c.name)

            let (kept, count) = scheduler.timesteps(forStrength: c.strength, steps: c.steps)
            XCTAssertEqual(count, c.kept_steps, c.name)
            XCTAssertEqual(kept.count, c.kept_timesteps.count, c.name)
            XCTAssertEqual(scheduler.beginIndex, c.begin_index, c.name)

            // The run: noise first, then every draw the scheduler makes, from one generator.
            let g = TorchGenerator(seed: 2024)
            let noise = g.randn(c.shape)
            var latents = try scheduler.initialLatents(noise: noise, imageLatents: imageLatents, firstTimestep: kept[0], strength: c.strength)
            worst = max(worst, assertClose(latents, try tensors.tensor("\(c.name)/latents_0"), "\(c.name) initial latents"))
            for (i, t) in kept.enumerated() {
                let scaled = try scheduler.scaleModelInput(latents, timestep: t)
                let output = try tensors.tensor("inputs/model_output_\(i)")
                latents = try scheduler.step(modelOutput: output, timestep: t, sample: latents, generator: g).prevSample
                worst = max(worst, assertClose(scaled, try tensors.tensor("\(c.name)/scaled_\(i)"), "\(c.name) scaled input \(i)"))
                worst = max(worst, assertClose(latents, try tensors.tensor("\(c.name)/prev_\(i)"), "\(c.name) step \(i)"))
                if i < kept.count - 1 {
                    let renoised = try scheduler.addNoise(original: imageLatents, noise: noise, timestep: kept[i + 1])
                    worst = max(worst, assertClose(renoised, try tensors.tensor("\(c.name)/renoised_\(i)"), "\(c.name) add_noise after step \(i)"))
                }
            }
            report.append("\(c.name) \(worst)")
            worst = max(worst, worstBefore)
        }
        print("SchedulerParityTests: worst relative error per case: " + report.joined(separator: ", "))
    }

    func testNoiseSchedulesMatchDiffusers() throws {
        let (_, tensors) = try Self.load()
        let configs: [(String, [String: SchedulerConfigValue], String)] = [
            ("scaled_linear", ["beta_schedule": .string("scaled_linear"), "beta_start": .number(0.00085), "beta_end": .number(0.012)], "EulerDiscreteScheduler"),
            ("linear", [:], "DDIMScheduler"),
            ("cosine", ["beta_schedule": .string("squaredcos_cap_v2")], "DPMSolverMultistepScheduler"),
        ]
        for (label, values, className) in configs {
            let scheduler = try Schedulers.make(config: SchedulerConfig(dictionary: values), className: className)
            let betas = try tensors.tensor("schedule/\(label)/betas").values
            let cumprod = try tensors.tensor("schedule/\(label)/alphas_cumprod").values
            XCTAssertEqual(scheduler.schedule.betas.count, betas.count)
            // bit for bit: torch.linspace's fused multiply-adds, cumprod accumulated in float64
            XCTAssertEqual(scheduler.schedule.betas, betas, "\(label) betas")
            XCTAssertEqual(scheduler.schedule.alphasCumprod, cumprod, "\(label) alphas_cumprod")
        }
    }
}

/// The committed tiny SDXL-inpainting folder's scheduler, switched as its pipeline fixture switches it
/// (Scripts/fixtures/make_diffusion_pipeline_fixtures.py), gives the timesteps that fixture recorded.
final class SchedulerTinyFolderTests: XCTestCase {
    struct Setting: Decodable { let scheduler: String; let num_inference_steps: Int; let strength: Double }

    func testTinyFolderSchedulesMatchThePipelineFixture() throws {
        let reference = try SafeTensorsFile(path: DiffusionFixtures.path("pipeline_reference.safetensors"))
        let cases = try JSONDecoder().decode([String: Setting].self, from: Data(try XCTUnwrap(reference.metadata["cases"]).utf8))
        XCTAssertGreaterThanOrEqual(cases.count, 9)
        let folder = DiffusionFixtures.path("tiny-sdxl-inpaint")
        let choices: [String: (String, [String: SchedulerConfigValue])] = [
            "euler": ("EulerDiscreteScheduler", [:]),
            "euler_trailing": ("EulerDiscreteScheduler", ["timestep_spacing": .string("trailing")]),
            "ddim": ("ddim", [:]), "lcm": ("lcm", [:]), "dpmpp2m": ("dpmpp2m", [:]), "dpmpp2m_karras": ("dpmpp2m-karras", [:]),
        ]
        var compared = 0
        for (name, setting) in cases.sorted(by: { $0.key < $1.key }) {
            guard let expected = try? reference.tensor("\(name).timesteps") else { continue }
            compared += 1
            let (choice, overrides) = try XCTUnwrap(choices[setting.scheduler], setting.scheduler)
            let scheduler: Scheduler
            if overrides.isEmpty {
                scheduler = try Schedulers.load(path: folder, choice: choice)
            } else {
                let config = try SchedulerConfig(path: "\(folder)/scheduler/scheduler_config.json").with(overrides)
                scheduler = try Schedulers.make(config: config, className: choice)
            }
            let kept = try scheduler.prepare(steps: setting.num_inference_steps, strength: setting.strength)
            XCTAssertEqual(scheduler.timesteps, expected.values, name)
            XCTAssertFalse(kept.isEmpty, name)
        }
        XCTAssertGreaterThanOrEqual(compared, 9)
    }
}
