import Tensor

/// diffusers' `LCMScheduler` (Luo et al. 2023, latent consistency models): RORem-4S's 4-step sampler.
///
/// `setTimesteps(n)` picks n of the `original_inference_steps` distillation timesteps `k·i - 1` (k =
/// `num_train_timesteps / original_inference_steps`), evenly by index. Each step predicts x₀, applies the
/// boundary-condition scalings `c_skip = σ_d² / ((t·s)² + σ_d²)` and `c_out = t·s / sqrt((t·s)² + σ_d²)`
/// (σ_d = 0.5, s = `timestep_scaling`), and, except on the last timestep of the schedule, re-noises the estimate
/// to the next timestep with fresh noise drawn from the generator.
///
/// Supported keys: the noise schedule keys, `original_inference_steps`, `timestep_scaling`, `clip_sample`,
/// `clip_sample_range`, `set_alpha_to_one`, `prediction_type` (epsilon, sample, v_prediction); `steps_offset` and
/// `timestep_spacing` are read by diffusers but unused by its LCM schedule. Refused: `thresholding`, zero-SNR
/// rescaling.
public final class LCMScheduler: Scheduler {
    public let className = "LCMScheduler"
    public let order = 1
    public let schedule: NoiseSchedule
    public let supportsBeginIndex = true
    public let initNoiseSigma: Float = 1

    /// The keys of diffusers' `LCMScheduler.__init__`.
    static let keys: Set<String> = [
        "num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "trained_betas",
        "original_inference_steps", "clip_sample", "clip_sample_range", "set_alpha_to_one", "steps_offset",
        "prediction_type", "thresholding", "dynamic_thresholding_ratio", "sample_max_value", "timestep_spacing",
        "timestep_scaling", "rescale_betas_zero_snr",
    ]

    let originalSteps: Int
    let timestepScaling: Float
    let predictionType: String
    let clipSample: Bool
    let clipRange: Float
    let finalAlphaCumprod: Float

    public private(set) var timesteps: [Float]
    public private(set) var numInferenceSteps: Int?
    public private(set) var stepIndex: Int?
    public private(set) var beginIndex: Int?

    /// The scheduler `config` describes (unknown or unsupported keys throw, naming the key and the file).
    public init(config: SchedulerConfig) throws {
        try config.checkKnown(Self.keys, for: className)
        schedule = try NoiseSchedule(config: config, defaultSchedule: "scaled_linear", defaultStart: 0.00085, defaultEnd: 0.012)
        originalSteps = try config.int("original_inference_steps", default: 50)
        guard originalSteps >= 1, originalSteps <= schedule.count else {
            throw SchedulerError(config.label, "original_inference_steps must be in 1...\(schedule.count), found \(originalSteps)")
        }
        timestepScaling = Float(try config.double("timestep_scaling", default: 10))
        predictionType = try config.string("prediction_type", default: "epsilon", allowed: ["epsilon", "sample", "v_prediction"])
        try config.refuse("thresholding", unless: .bool(false), why: "dynamic thresholding is not implemented")
        clipSample = try config.bool("clip_sample", default: false)
        clipRange = Float(try config.double("clip_sample_range", default: 1))
        finalAlphaCumprod = try config.bool("set_alpha_to_one", default: true) ? 1 : schedule.alphasCumprod[0]
        _ = try config.int("steps_offset", default: 0)
        _ = try config.string("timestep_spacing", default: "leading", allowed: ["leading", "trailing", "linspace"])
        timesteps = (0..<schedule.count).reversed().map { Float($0) }
    }

    /// LCM's inference schedule for a full-strength run (the SDXL pipelines apply `strength` afterwards, through
    /// `timesteps(forStrength:steps:)`, as they do for every scheduler).
    public func setTimesteps(_ steps: Int) throws {
        let place = "\(className).setTimesteps"
        guard steps >= 1, steps <= originalSteps else {
            throw SchedulerError(place, "steps must be in 1...\(originalSteps) (original_inference_steps), found \(steps)")
        }
        let k = schedule.count / originalSteps
        // (original_steps) distillation timesteps k·i - 1, noisiest first
        let origin = (1...originalSteps).map { $0 * k - 1 }.reversed() as [Int]
        let indices = NumpySpacing.linspace(0, Double(origin.count), steps, endpoint: false).map { Int($0.rounded(.down)) }
        timesteps = indices.map { Float(origin[$0]) }
        numInferenceSteps = steps
        stepIndex = nil
        beginIndex = nil
    }

    public func setBeginIndex(_ index: Int) { beginIndex = index }

    public func scaleModelInput(_ sample: Tensor, timestep: Float) throws -> Tensor { sample }


    /// The boundary-condition scalings (c_skip, c_out) at integer timestep `t`, in float32 as torch computes them.
    func boundaryScalings(_ t: Int) -> (skip: Float, out: Float) {
        let sigmaData: Float = 0.25  // σ_d² with σ_d = 0.5
        let scaled = Float(t) * timestepScaling
        // Python's `0.25 / tensor` is torch's `reciprocal(tensor) * 0.25`: two roundings
        let skip = (1 / (scaled * scaled + sigmaData)) * sigmaData
        let out = scaled / (scaled * scaled + sigmaData).squareRoot()
        return (skip, out)
    }

    public func step(modelOutput: Tensor, timestep: Float, sample: Tensor, generator: TorchGenerator?) throws -> SchedulerStepOutput {
        let place = "\(className).step"
        guard let steps = numInferenceSteps else { throw SchedulerError(place, "setTimesteps must run before step") }
        try SampleArithmetic.checkShapes([("sample", sample), ("model output", modelOutput)], place: place)
        let t = try integerTimestep(timestep, place: place)
        if stepIndex == nil { stepIndex = try beginIndex ?? indexForTimestep(timestep, place: place) }
        let index = stepIndex ?? 0
        guard index >= 0, index < timesteps.count else {
            throw SchedulerError(place, "step index \(index) is outside the \(timesteps.count) timesteps")
        }
        let prevT = index + 1 < timesteps.count ? try integerTimestep(timesteps[index + 1], place: place) : t
        let alphaT = try schedule.alphaCumprod(at: t, place: place)
        let alphaPrev = prevT >= 0 ? try schedule.alphaCumprod(at: prevT, place: place) : finalAlphaCumprod
        let betaT: Float = 1 - alphaT, betaPrev: Float = 1 - alphaPrev
        let (cSkip, cOut) = boundaryScalings(t)
        let sqrtAlpha = alphaT.squareRoot(), sqrtBeta = betaT.squareRoot()

        var original: Tensor
        switch predictionType {
        case "epsilon": original = SampleArithmetic.map(sample, modelOutput) { x, e in (x - sqrtBeta * e) / sqrtAlpha }
        case "sample": original = modelOutput
        default: original = SampleArithmetic.map(sample, modelOutput) { x, v in sqrtAlpha * x - sqrtBeta * v }
        }
        if clipSample {
            let r = clipRange
            original = SampleArithmetic.map(original) { Swift.min(Swift.max($0, -r), r) }
        }
        let denoised = SampleArithmetic.map(original, sample) { x0, x in cOut * x0 + cSkip * x }
        let prev: Tensor
        if index != steps - 1 {
            let noise = try SampleArithmetic.noise(like: modelOutput.shape, generator: generator, place: place)
            let a = alphaPrev.squareRoot(), b = betaPrev.squareRoot()
            prev = SampleArithmetic.map(denoised, noise) { d, n in a * d + b * n }
        } else {
            prev = denoised
        }
        stepIndex = index + 1
        return SchedulerStepOutput(prevSample: prev, predictedOriginal: denoised)
    }

    /// `sqrt(ᾱ_t) x + sqrt(1 - ᾱ_t) noise` at the integer timestep `timestep`.
    public func addNoise(original: Tensor, noise: Tensor, timestep: Float) throws -> Tensor {
        let place = "\(className).addNoise"
        try SampleArithmetic.checkShapes([("original", original), ("noise", noise)], place: place)
        let alpha = try schedule.alphaCumprod(at: integerTimestep(timestep, place: place), place: place)
        let a = alpha.squareRoot(), b = (1 - alpha).squareRoot()
        return SampleArithmetic.map(original, noise) { x, n in a * x + b * n }
    }
}
