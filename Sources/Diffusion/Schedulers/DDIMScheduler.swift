import Tensor

/// diffusers' `DDIMScheduler` (Song et al. 2020): the deterministic sampler at `eta = 0`, and DDIM's stochastic
/// variant for `eta > 0` (noise from the generator).
///
/// Supported keys: the noise schedule keys, `clip_sample` and `clip_sample_range`, `set_alpha_to_one`,
/// `steps_offset`, `prediction_type` (epsilon, sample, v_prediction), `timestep_spacing` (leading, trailing,
/// linspace). Refused: `thresholding`, zero-SNR rescaling.
public final class DDIMScheduler: Scheduler {
    public let className = "DDIMScheduler"
    public let order = 1
    public let schedule: NoiseSchedule
    /// diffusers' DDIMScheduler has no `set_begin_index`: its `add_noise` indexes ᾱ by the timestep itself.
    public let supportsBeginIndex = false
    public let initNoiseSigma: Float = 1

    /// The keys of diffusers' `DDIMScheduler.__init__`.
    static let keys: Set<String> = [
        "num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "trained_betas", "clip_sample",
        "set_alpha_to_one", "steps_offset", "prediction_type", "thresholding", "dynamic_thresholding_ratio",
        "clip_sample_range", "sample_max_value", "timestep_spacing", "rescale_betas_zero_snr",
    ]

    let predictionType: String
    let clipSample: Bool
    let clipRange: Float
    let spacing: String
    let stepsOffset: Int
    /// ᾱ before the first training timestep: 1 with `set_alpha_to_one`, else ᾱ_0.
    let finalAlphaCumprod: Float
    /// DDIM's η: 0 is deterministic DDIM, 1 is DDPM-like. diffusers takes it as a `step` argument (the SDXL
    /// pipelines pass their `eta`, 0 by default).
    public var eta: Float = 0

    public private(set) var timesteps: [Float]
    public private(set) var numInferenceSteps: Int?
    public private(set) var stepIndex: Int?
    public private(set) var beginIndex: Int?

    /// The scheduler `config` describes (unknown or unsupported keys throw, naming the key and the file).
    public init(config: SchedulerConfig) throws {
        try config.checkKnown(Self.keys, for: className)
        schedule = try NoiseSchedule(config: config, defaultSchedule: "linear", defaultStart: 0.0001, defaultEnd: 0.02)
        predictionType = try config.string("prediction_type", default: "epsilon", allowed: ["epsilon", "sample", "v_prediction"])
        try config.refuse("thresholding", unless: .bool(false), why: "dynamic thresholding is not implemented")
        clipSample = try config.bool("clip_sample", default: true)
        clipRange = Float(try config.double("clip_sample_range", default: 1))
        spacing = try config.string("timestep_spacing", default: "leading", allowed: ["leading", "trailing", "linspace"])
        stepsOffset = try config.int("steps_offset", default: 0)
        finalAlphaCumprod = try config.bool("set_alpha_to_one", default: true) ? 1 : schedule.alphasCumprod[0]
        timesteps = (0..<schedule.count).reversed().map { Float($0) }
    }

    public func setTimesteps(_ steps: Int) throws {
        let trainCount = schedule.count
        guard steps >= 1, steps <= trainCount else {
            throw SchedulerError("\(className).setTimesteps", "steps must be in 1...\(trainCount), found \(steps)")
        }
        let values: [Int]
        switch spacing {
        case "linspace":
            values = NumpySpacing.linspace(0, Double(trainCount - 1), steps).map { Int(NumpySpacing.round($0)) }.reversed()
        case "leading":
            let ratio = trainCount / steps
            values = (0..<steps).reversed().map { $0 * ratio + stepsOffset }
        default:  // trailing
            let ratio = Double(trainCount) / Double(steps)
            values = NumpySpacing.arange(Double(trainCount), 0, -ratio).map { Int(NumpySpacing.round($0)) - 1 }
        }
        guard !values.isEmpty else {
            throw SchedulerError("\(className).setTimesteps", "the \(spacing) spacing gives no timesteps for \(steps) steps")
        }
        timesteps = values.map { Float($0) }
        numInferenceSteps = steps
        stepIndex = nil
        beginIndex = nil
    }

    /// Recorded for the pipeline's bookkeeping; DDIM's step and `add_noise` do not use it (as in diffusers).
    public func setBeginIndex(_ index: Int) { beginIndex = index }

    public func scaleModelInput(_ sample: Tensor, timestep: Float) throws -> Tensor { sample }


    public func step(modelOutput: Tensor, timestep: Float, sample: Tensor, generator: TorchGenerator?) throws -> SchedulerStepOutput {
        let place = "\(className).step"
        guard let steps = numInferenceSteps else { throw SchedulerError(place, "setTimesteps must run before step") }
        try SampleArithmetic.checkShapes([("sample", sample), ("model output", modelOutput)], place: place)
        let t = try integerTimestep(timestep, place: place)
        let prevT = t - schedule.count / steps
        let alphaT = try schedule.alphaCumprod(at: t, place: place)
        let alphaPrev = prevT >= 0 ? try schedule.alphaCumprod(at: prevT, place: place) : finalAlphaCumprod
        let betaT: Float = 1 - alphaT
        let sqrtAlpha = alphaT.squareRoot(), sqrtBeta = betaT.squareRoot()

        var original: Tensor
        let epsilon: Tensor
        switch predictionType {
        case "epsilon":
            original = SampleArithmetic.map(sample, modelOutput) { x, e in (x - sqrtBeta * e) / sqrtAlpha }
            epsilon = modelOutput
        case "sample":
            original = modelOutput
            epsilon = SampleArithmetic.map(sample, modelOutput) { x, x0 in (x - sqrtAlpha * x0) / sqrtBeta }
        default:  // v_prediction
            original = SampleArithmetic.map(sample, modelOutput) { x, v in sqrtAlpha * x - sqrtBeta * v }
            epsilon = SampleArithmetic.map(sample, modelOutput) { x, v in sqrtAlpha * v + sqrtBeta * x }
        }
        if clipSample {
            let r = clipRange
            original = SampleArithmetic.map(original) { Swift.min(Swift.max($0, -r), r) }
        }
        // σ_t(η) = η sqrt((1 - ᾱ_prev) / (1 - ᾱ_t)) sqrt(1 - ᾱ_t / ᾱ_prev)
        let variance = ((1 - alphaPrev) / betaT) * (1 - alphaT / alphaPrev)
        let stdDev = eta * variance.squareRoot()
        let directionScale = (1 - alphaPrev - stdDev * stdDev).squareRoot()
        let sqrtAlphaPrev = alphaPrev.squareRoot()
        var prev = SampleArithmetic.map(original, epsilon) { x0, e in sqrtAlphaPrev * x0 + directionScale * e }
        if eta > 0 {
            let noise = try SampleArithmetic.noise(like: modelOutput.shape, generator: generator, place: place)
            prev = SampleArithmetic.map(prev, noise) { x, n in x + stdDev * n }
        }
        stepIndex = (stepIndex ?? beginIndex ?? 0) + 1
        return SchedulerStepOutput(prevSample: prev, predictedOriginal: original)
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
