import NN
import Foundation
import Tensor
import XCTest
@testable import Diffusion

/// Reading scheduler_config.json: defaults, diffusers' key handling, and errors that name the key and the file.
final class SchedulerConfigTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("sched-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("scheduler"), withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// Writes `json` as folder/scheduler/scheduler_config.json and returns its path.
    func write(_ json: String) throws -> String {
        let path = folder.appendingPathComponent("scheduler/scheduler_config.json").path
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func assertThrows(_ body: @autoclosure () throws -> Any, mentions words: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            let text = "\(error)"
            for word in words { XCTAssertTrue(text.contains(word), "'\(text)' should mention '\(word)'", file: file, line: line) }
        }
    }

    let sdxl = """
    {"_class_name": "EulerDiscreteScheduler", "_diffusers_version": "0.19.0.dev0", "beta_end": 0.012,
     "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": false, "interpolation_type": "linear",
     "num_train_timesteps": 1000, "prediction_type": "epsilon", "sample_max_value": 1.0, "set_alpha_to_one": false,
     "skip_prk_steps": true, "steps_offset": 1, "timestep_spacing": "leading", "trained_betas": null,
     "use_karras_sigmas": false}
    """

    func testLoadsAFolderByItsClassNameAndSwitchesClassesByShortName() throws {
        let path = try write(sdxl)
        let euler = try Schedulers.load(path: folder.path)
        XCTAssertTrue(euler is EulerDiscreteScheduler)
        try euler.setTimesteps(4)
        XCTAssertEqual(euler.timesteps, [751, 501, 251, 1])  // leading, steps_offset 1
        let lcm = try Schedulers.load(path: path, choice: "lcm")
        XCTAssertTrue(lcm is LCMScheduler)
        try lcm.setTimesteps(4)
        XCTAssertEqual(lcm.timesteps, [999, 759, 499, 259])
        XCTAssertTrue(try Schedulers.load(path: folder.appendingPathComponent("scheduler").path, choice: "ddim") is DDIMScheduler)
        XCTAssertTrue(try Schedulers.load(path: path, choice: "dpmpp2m-karras") is DPMSolverMultistepScheduler)
        XCTAssertTrue(try Schedulers.load(path: path, choice: "DPMSolverMultistepScheduler") is DPMSolverMultistepScheduler)
    }

    func testStrengthKeepsThePipelinesTimesteps() throws {
        let lcm = try Schedulers.load(path: try write(sdxl), choice: "lcm")
        // RORem-4S: 4 steps at strength 0.99 keep 3 timesteps, begin index 1
        XCTAssertEqual(try lcm.prepare(steps: 4, strength: 0.99), [759, 499, 259])
        XCTAssertEqual(lcm.beginIndex, 1)
        assertThrows(try lcm.prepare(steps: 4, strength: 0.2), mentions: ["strength 0.2", "at least 1"])
        assertThrows(try lcm.prepare(steps: 4, strength: 1.5), mentions: ["strength must be in [0, 1]"])
    }

    func testUnknownKeyIsRefusedByNameAndFile() throws {
        let path = try write(#"{"_class_name": "EulerDiscreteScheduler", "timestep_spaceing": "leading"}"#)
        assertThrows(try Schedulers.load(path: path), mentions: ["timestep_spaceing", path, "unknown key"])
    }

    func testUnsupportedValuesAreRefusedByName() throws {
        let cases: [(String, String)] = [
            (#"{"_class_name": "EulerDiscreteScheduler", "timestep_spacing": "cosine"}"#, "timestep_spacing 'cosine'"),
            (#"{"_class_name": "EulerDiscreteScheduler", "use_exponential_sigmas": true}"#, "use_exponential_sigmas"),
            (#"{"_class_name": "EulerDiscreteScheduler", "interpolation_type": "log_linear"}"#, "interpolation_type"),
            (#"{"_class_name": "DDIMScheduler", "thresholding": true}"#, "thresholding"),
            (#"{"_class_name": "DPMSolverMultistepScheduler", "solver_order": 3}"#, "solver_order 3"),
            (#"{"_class_name": "DPMSolverMultistepScheduler", "algorithm_type": "dpmsolver"}"#, "algorithm_type 'dpmsolver'"),
            (#"{"_class_name": "LCMScheduler", "rescale_betas_zero_snr": true}"#, "rescale_betas_zero_snr"),
            (#"{"_class_name": "LCMScheduler", "beta_schedule": "sigmoid"}"#, "beta_schedule 'sigmoid'"),
            (#"{"_class_name": "DDIMScheduler", "steps_offset": "one"}"#, "steps_offset must be an integer"),
            (#"{"_class_name": "DDIMScheduler", "clip_sample": 1}"#, "clip_sample must be true or false"),
            (#"{"_class_name": "DDIMScheduler", "trained_betas": [0.1, 0.2]}"#, "trained_betas has 2 values"),
            (#"{"_class_name": "DDIMScheduler", "beta_start": 2.0, "beta_end": 3.0}"#, "betas must lie in (0, 1)"),
            (#"{"_class_name": 7}"#, "_class_name must be a string"),
        ]
        for (json, words) in cases {
            let path = try write(json)
            assertThrows(try Schedulers.load(path: path), mentions: [words, path])
        }
    }

    func testUnknownSchedulerMissingFilesAndBadJSON() throws {
        let path = try write(#"{"_class_name": "PNDMScheduler"}"#)
        assertThrows(try Schedulers.load(path: path), mentions: ["unknown scheduler 'PNDMScheduler'", path, "EulerDiscreteScheduler"])
        assertThrows(try Schedulers.load(path: path, choice: "heun"), mentions: ["unknown scheduler 'heun'"])
        assertThrows(try Schedulers.load(path: try write("{\"beta_start\": ")), mentions: ["is not valid JSON"])
        assertThrows(try Schedulers.load(path: try write("[1, 2]")), mentions: ["is not a JSON object"])
        assertThrows(try Schedulers.load(path: try write("{}")), mentions: ["has no _class_name"])
        assertThrows(try Schedulers.load(path: folder.appendingPathComponent("nothing").path), mentions: ["no such file or folder"])
        let empty = folder.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        assertThrows(try Schedulers.load(path: empty.path), mentions: ["holds neither scheduler_config.json"])
    }

    func testDiffusersKeyHandling() throws {
        // Keys listed in _use_default_values fall back to this scheduler's default (LCM: scaled_linear from 0.00085).
        let config = try SchedulerConfig(data: Data(#"{"_class_name": "DDIMScheduler", "beta_start": 0.5, "_use_default_values": ["beta_start"], "skip_prk_steps": true}"#.utf8), label: "test")
        XCTAssertNil(config.values["beta_start"])
        XCTAssertNil(config.values["_class_name"])
        XCTAssertEqual(config.className, "DDIMScheduler")
        let ddim = try Schedulers.make(config: config)  // skip_prk_steps (PNDM's key) is ignored, as diffusers does
        XCTAssertEqual(ddim.schedule.betas.first ?? 0, 0.0001, accuracy: 1e-9)
        // null means "the default", as Python's None
        let euler = try Schedulers.make(config: SchedulerConfig(data: Data(#"{"sigma_min": null, "trained_betas": null}"#.utf8), label: "t"), className: "EulerDiscreteScheduler")
        XCTAssertEqual(euler.schedule.count, 1000)
    }

    func testStepErrorsNameTheProblem() throws {
        let lcm = try Schedulers.load(path: try write(sdxl), choice: "lcm")
        let sample = Tensor(zeros: [1, 4, 2, 2])
        assertThrows(try lcm.step(modelOutput: sample, timestep: 999, sample: sample, generator: nil), mentions: ["setTimesteps must run before step"])
        try lcm.setTimesteps(4)
        assertThrows(try lcm.step(modelOutput: Tensor(zeros: [1, 4, 2, 3]), timestep: 999, sample: sample, generator: nil),
                     mentions: ["model output has shape [1, 4, 2, 3]", "[1, 4, 2, 2]"])
        assertThrows(try lcm.step(modelOutput: sample, timestep: 999, sample: sample, generator: nil), mentions: ["needs a generator"])
        assertThrows(try lcm.step(modelOutput: sample, timestep: 12.5, sample: sample, generator: TorchGenerator(seed: 0)), mentions: ["12.5"])
        let euler = try Schedulers.load(path: try write(sdxl))
        try euler.setTimesteps(3)
        assertThrows(try euler.scaleModelInput(sample, timestep: 500), mentions: ["timestep 500.0 is not in the schedule"])
        assertThrows(try euler.setTimesteps(0), mentions: ["steps must be in 1...1000"])
        let ddim = try Schedulers.load(path: try write(sdxl), choice: "ddim")
        try ddim.setTimesteps(2)
        assertThrows(try ddim.addNoise(original: sample, noise: sample, timestep: 1000), mentions: ["timestep 1000 is outside"])
        // A begin index outside the schedule is an error, never a trap.
        for choice in ["euler", "lcm", "dpmpp2m"] {
            let scheduler = try Schedulers.load(path: try write(sdxl), choice: choice)
            try scheduler.setTimesteps(4)
            for bad in [-3, 4, 99] {
                scheduler.setBeginIndex(bad)
                let t = scheduler.timesteps[0]
                XCTAssertThrowsError(try scheduler.step(modelOutput: sample, timestep: t, sample: sample, generator: TorchGenerator(seed: 1)), "\(choice) \(bad)")
                // Euler and DPM-Solver noise by the begin index (4 is the final sigma, valid); LCM by the timestep
                if choice != "lcm" && bad != 4 {
                    XCTAssertThrowsError(try scheduler.addNoise(original: sample, noise: sample, timestep: t), "\(choice) \(bad)")
                }
                try scheduler.setTimesteps(4)
            }
        }
        XCTAssertEqual(lcm.timesteps(forStrength: .nan, steps: 4).steps, 0)
        assertThrows(try lcm.initialLatents(noise: sample, imageLatents: nil, firstTimestep: 999, strength: 0.5), mentions: ["none were given"])
        assertThrows(try Schedulers.load(path: try write(#"{"_class_name": "EulerDiscreteScheduler", "sigma_min": -1}"#)), mentions: ["sigma_min must be positive"])
    }

    func testSchedulersSampleTheTrainingDistribution() throws {
        // A model that predicts the noise exactly turns any noised latent back into the clean one.
        let clean = try Tensor((0..<32).map { Float($0) / 32 - 0.5 }, shape: [1, 2, 4, 4])
        for choice in ["euler", "ddim", "dpmpp2m", "dpmpp2m-karras"] {
            let scheduler = try Schedulers.load(path: try write(sdxl), choice: choice)
            let g = TorchGenerator(seed: 11)
            let noise = g.randn(clean.shape)
            let timesteps = try scheduler.prepare(steps: 10, strength: 0.6)
            var latents = try scheduler.addNoise(original: clean, noise: noise, timestep: timesteps[0])
            for t in timesteps {
                _ = try scheduler.scaleModelInput(latents, timestep: t)
                latents = try scheduler.step(modelOutput: noise, timestep: t, sample: latents, generator: g).prevSample
            }
            // DDIM without set_alpha_to_one ends at ᾱ_0 < 1 rather than at the clean sample.
            var expected = clean
            if choice == "ddim" {
                let a = scheduler.schedule.alphasCumprod[0]
                expected = SampleArithmetic.map(clean, noise) { x, n in a.squareRoot() * x + (1 - a).squareRoot() * n }
            }
            let error = zip(latents.values, expected.values).map { abs($0 - $1) }.max() ?? 1
            XCTAssertLessThan(error, 1e-3, choice)
        }
    }
}
