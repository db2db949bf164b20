import Foundation
import Tensor

/// diffusers' `EulerDiscreteScheduler` (Karras et al. 2022, Algorithm 2 without churn): SDXL's default sampler.
///
/// Supported keys: `num_train_timesteps`, `beta_start`, `beta_end`, `beta_schedule` (linear, scaled_linear,
/// squaredcos_cap_v2), `trained_betas`, `prediction_type` (epsilon, v_prediction, sample), `interpolation_type`
/// (linear), `use_karras_sigmas` (with `sigma_min` / `sigma_max`), `timestep_spacing` (linspace, leading,
/// trailing), `steps_offset`, `final_sigmas_type` (zero, sigma_min). Refused: exponential or beta sigmas,
/// log-linear interpolation, continuous timesteps, zero-SNR rescaling. `step` runs the noise-free Euler step
/// (diffusers' default `s_churn = 0`), so it never draws from the generator.
public final class EulerDiscreteScheduler: Scheduler {
    public let className = "EulerDiscreteScheduler"
    public let order = 1
    public let schedule: NoiseSchedule
    public let supportsBeginIndex = true

    /// The keys of diffusers' `EulerDiscreteScheduler.__init__`.
    static let keys: Set<String> = [
        "num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "trained_betas", "prediction_type",
        "interpolation_type", "use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas", "sigma_min",
        "sigma_max", "timestep_spacing", "timestep_type", "steps_offset", "rescale_betas_zero_snr", "final_sigmas_type",
    ]

    let predictionType: String
    let spacing: String
    let stepsOffset: Int
    let useKarras: Bool
    let sigmaMin: Double?
    let sigmaMax: Double?
    let finalSigmaIsMin: Bool

    public private(set) var timesteps: [Float]
    /// σ for each timestep, then the final σ (zero or the smallest training σ): `timesteps.count + 1` values.
    public private(set) var sigmas: [Float]
    public private(set) var numInferenceSteps: Int?
    public private(set) var stepIndex: Int?
    public private(set) var beginIndex: Int?

    /// The scheduler `config` describes (unknown or unsupported keys throw, naming the key and the file).
    public init(config: SchedulerConfig) throws {
        try config.checkKnown(Self.keys, for: className)
        schedule = try NoiseSchedule(config: config, defaultSchedule: "linear", defaultStart: 0.0001, defaultEnd: 0.02)
        predictionType = try config.string("prediction_type", default: "epsilon", allowed: ["epsilon", "v_prediction", "sample", "original_sample"])
        _ = try config.string("interpolation_type", default: "linear", allowed: ["linear"])
        useKarras = try config.bool("use_karras_sigmas", default: false)
        try config.refuse("use_exponential_sigmas", unless: .bool(false), why: "exponential sigmas are not implemented")
        try config.refuse("use_beta_sigmas", unless: .bool(false), why: "beta sigmas are not implemented")
        sigmaMin = try config.optionalDouble("sigma_min")
        sigmaMax = try config.optionalDouble("sigma_max")
        for (key, value) in [("sigma_min", sigmaMin), ("sigma_max", sigmaMax)] {
            if let value, !(value > 0 && value.isFinite) { throw SchedulerError(config.label, "\(key) must be positive, found \(value)") }
        }
        spacing = try config.string("timestep_spacing", default: "linspace", allowed: ["linspace", "leading", "trailing"])
        _ = try config.string("timestep_type", default: "discrete", allowed: ["discrete"])
        stepsOffset = try config.int("steps_offset", default: 0)
        finalSigmaIsMin = try config.string("final_sigmas_type", default: "zero", allowed: ["zero", "sigma_min"]) == "sigma_min"
        // Before setTimesteps: every training timestep, as diffusers' constructor sets them.
        let n = schedule.count
        timesteps = (0..<n).reversed().map { Float($0) }
        sigmas = schedule.sigmas.reversed() + [0]
    }

    /// `max(σ)` for linspace and trailing spacing, `sqrt(max(σ)² + 1)` for leading (diffusers' `init_noise_sigma`).
    public var initNoiseSigma: Float {
        let maxSigma = sigmas.max() ?? 0
        return spacing == "leading" ? (maxSigma * maxSigma + 1).squareRoot() : maxSigma
    }

    public func setTimesteps(_ steps: Int) throws {
        let place = "\(className).setTimesteps"
        let trainCount = schedule.count
        guard steps >= 1, steps <= trainCount else {
            throw SchedulerError(place, "steps must be in 1...\(trainCount), found \(steps)")
        }
        var times: [Double]
        switch spacing {
        case "linspace":
            times = NumpySpacing.linspace(0, Double(trainCount - 1), steps).reversed().map { Double(Float($0)) }
        case "leading":
            let ratio = trainCount / steps
            times = (0..<steps).reversed().map { Double(Float(NumpySpacing.round(Double($0 * ratio))) + Float(stepsOffset)) }
        default:  // trailing
            let ratio = Double(trainCount) / Double(steps)
            times = NumpySpacing.arange(Double(trainCount), 0, -ratio).map { Double(Float(NumpySpacing.round($0)) - 1) }
        }
        guard !times.isEmpty else { throw SchedulerError(place, "the \(spacing) spacing gives no timesteps for \(steps) steps") }
        let trainSigmas = schedule.sigmas
        var stepSigmas = times.map { NumpySpacing.interp($0, trainSigmas) }
        if useKarras {
            let low = sigmaMin ?? stepSigmas.last ?? 0, high = sigmaMax ?? stepSigmas.first ?? 0
            stepSigmas = NumpySpacing.karrasSigmas(sigmaMin: low, sigmaMax: high, count: steps)
            let logSigmas = trainSigmas.map { Foundation.log($0) }
            times = stepSigmas.map { NumpySpacing.sigmaToT($0, logSigmas: logSigmas) }
        }
        let last: Float = finalSigmaIsMin ? ((1 - schedule.alphasCumprod[0]) / schedule.alphasCumprod[0]).squareRoot() : 0
        sigmas = stepSigmas.map { Float($0) } + [last]
        timesteps = times.map { Float($0) }
        numInferenceSteps = steps
        stepIndex = nil
        beginIndex = nil
    }

    public func setBeginIndex(_ index: Int) { beginIndex = index }

    private func initStepIndex(_ timestep: Float, place: String) throws {
        if stepIndex == nil { stepIndex = try beginIndex ?? indexForTimestep(timestep, place: place) }
    }

    /// `sample / sqrt(σ² + 1)` with the σ of the current step.
    public func scaleModelInput(_ sample: Tensor, timestep: Float) throws -> Tensor {
        let place = "\(className).scaleModelInput"
        try initStepIndex(timestep, place: place)
        let sigma = try currentSigma(place: place)
        let scale = (sigma * sigma + 1).squareRoot()
        return SampleArithmetic.map(sample) { $0 / scale }
    }

    private func currentSigma(place: String) throws -> Float {
        guard let index = stepIndex, index >= 0, index + 1 < sigmas.count else {
            throw SchedulerError(place, "no step left: the schedule has \(timesteps.count) timesteps")
        }
        return sigmas[index]
    }

    public func step(modelOutput: Tensor, timestep: Float, sample: Tensor, generator: TorchGenerator?) throws -> SchedulerStepOutput {
        let place = "\(className).step"
        guard numInferenceSteps != nil else { throw SchedulerError(place, "setTimesteps must run before step") }
        try SampleArithmetic.checkShapes([("sample", sample), ("model output", modelOutput)], place: place)
        try initStepIndex(timestep, place: place)
        let sigma = try currentSigma(place: place)
        let index = stepIndex ?? 0
        let sigmaHat = sigma  // γ = 0: no churn
        let original: Tensor
        switch predictionType {
        case "epsilon":
            original = SampleArithmetic.map(sample, modelOutput) { x, e in x - sigmaHat * e }
        case "v_prediction":
            let outScale = -sigma / (sigma * sigma + 1).squareRoot()
            let inDivisor = sigma * sigma + 1
            original = SampleArithmetic.map(sample, modelOutput) { x, v in v * outScale + x / inDivisor }
        default:
            original = modelOutput
        }
        let dt = sigmas[index + 1] - sigmaHat
        let prev = SampleArithmetic.map(sample, original) { x, x0 in
            let derivative = (x - x0) / sigmaHat
            return x + derivative * dt
        }
        stepIndex = index + 1
        return SchedulerStepOutput(prevSample: prev, predictedOriginal: original)
    }

    /// `original + noise * σ`, with σ of the current step index (or the begin index before the first step), or of
    /// `timestep`'s position for a full run, as diffusers chooses.
    public func addNoise(original: Tensor, noise: Tensor, timestep: Float) throws -> Tensor {
        let place = "\(className).addNoise"
        try SampleArithmetic.checkShapes([("original", original), ("noise", noise)], place: place)
        let index: Int
        if beginIndex == nil { index = try indexForTimestep(timestep, place: place) }
        else { index = stepIndex ?? beginIndex ?? 0 }
        guard index >= 0, index < sigmas.count else { throw SchedulerError(place, "step index \(index) is outside the schedule") }
        let sigma = sigmas[index]
        return SampleArithmetic.map(original, noise) { x, n in x + n * sigma }
    }
}
