import Foundation
import Tensor

/// diffusers' `DPMSolverMultistepScheduler` as DPM-Solver++ (Lu et al. 2022) of order 1 or 2 ("DPM++ 2M"), with
/// its SDE variant, Karras sigmas optional.
///
/// Supported keys: the noise schedule keys, `solver_order` (1, 2), `prediction_type` (epsilon, sample,
/// v_prediction), `algorithm_type` (dpmsolver++, sde-dpmsolver++), `solver_type` (midpoint, heun),
/// `lower_order_final`, `euler_at_final`, `use_karras_sigmas` (with `sigma_min` / `sigma_max` if the file has
/// them), `final_sigmas_type` (zero, sigma_min), `lambda_min_clipped`, `timestep_spacing` (linspace, leading,
/// trailing), `steps_offset`. Refused: third order, the deprecated dpmsolver / sde-dpmsolver algorithms,
/// thresholding, learned variance, exponential / beta / lu / flow sigmas, zero-SNR rescaling.
public final class DPMSolverMultistepScheduler: Scheduler {
    public let className = "DPMSolverMultistepScheduler"
    public let order = 1
    public let schedule: NoiseSchedule
    public let supportsBeginIndex = true
    public let initNoiseSigma: Float = 1

    /// The keys of diffusers' `DPMSolverMultistepScheduler.__init__`, plus `sigma_min` / `sigma_max`, which its
    /// Karras conversion reads when a file carries them.
    static let keys: Set<String> = [
        "num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "trained_betas", "solver_order",
        "prediction_type", "thresholding", "dynamic_thresholding_ratio", "sample_max_value", "algorithm_type",
        "solver_type", "lower_order_final", "euler_at_final", "use_karras_sigmas", "use_exponential_sigmas",
        "use_beta_sigmas", "use_lu_lambdas", "use_flow_sigmas", "flow_shift", "final_sigmas_type",
        "lambda_min_clipped", "variance_type", "timestep_spacing", "steps_offset", "rescale_betas_zero_snr",
        "use_dynamic_shifting", "time_shift_type", "sigma_min", "sigma_max",
    ]

    let solverOrder: Int
    let predictionType: String
    let stochastic: Bool
    let heun: Bool
    let lowerOrderFinal: Bool
    let eulerAtFinal: Bool
    let useKarras: Bool
    let sigmaMin: Double?
    let sigmaMax: Double?
    let finalSigmaIsMin: Bool
    let lambdaMinClipped: Double
    let spacing: String
    let stepsOffset: Int

    public private(set) var timesteps: [Float]
    /// σ for each timestep, then the final σ: `timesteps.count + 1` values.
    public private(set) var sigmas: [Float]
    public private(set) var numInferenceSteps: Int?
    public private(set) var stepIndex: Int?
    public private(set) var beginIndex: Int?
    /// The converted model outputs (x₀ estimates) of the last `solver_order` steps, oldest first.
    private var modelOutputs: [Tensor?]
    private var lowerOrderNums = 0

    /// The scheduler `config` describes (unknown or unsupported keys throw, naming the key and the file).
    public init(config: SchedulerConfig) throws {
        try config.checkKnown(Self.keys, for: className)
        schedule = try NoiseSchedule(config: config, defaultSchedule: "linear", defaultStart: 0.0001, defaultEnd: 0.02)
        solverOrder = try config.int("solver_order", default: 2)
        guard solverOrder == 1 || solverOrder == 2 else {
            throw SchedulerError(config.label, "solver_order \(solverOrder) is not supported (supported: 1, 2)")
        }
        predictionType = try config.string("prediction_type", default: "epsilon", allowed: ["epsilon", "sample", "v_prediction"])
        try config.refuse("thresholding", unless: .bool(false), why: "dynamic thresholding is not implemented")
        let algorithm = try config.string("algorithm_type", default: "dpmsolver++", allowed: ["dpmsolver++", "sde-dpmsolver++", "deis"])
        stochastic = algorithm == "sde-dpmsolver++"
        // diffusers maps the solver types of related schedulers (logrho, bh1, bh2) to midpoint
        heun = try config.string("solver_type", default: "midpoint", allowed: ["midpoint", "heun", "logrho", "bh1", "bh2"]) == "heun"
        lowerOrderFinal = try config.bool("lower_order_final", default: true)
        eulerAtFinal = try config.bool("euler_at_final", default: false)
        useKarras = try config.bool("use_karras_sigmas", default: false)
        for key in ["use_exponential_sigmas", "use_beta_sigmas", "use_lu_lambdas", "use_flow_sigmas"] {
            try config.refuse(key, unless: .bool(false), why: "only the default and Karras sigmas are implemented")
        }
        _ = try config.double("flow_shift", default: 1)  // used only with flow sigmas
        _ = try config.bool("use_dynamic_shifting", default: false)  // used only with set_timesteps(mu:)
        _ = try config.string("time_shift_type", default: "exponential", allowed: ["exponential"])
        try config.refuse("variance_type", unless: .null, why: "learned variance is not implemented")
        sigmaMin = try config.optionalDouble("sigma_min")
        sigmaMax = try config.optionalDouble("sigma_max")
        for (key, value) in [("sigma_min", sigmaMin), ("sigma_max", sigmaMax)] {
            if let value, !(value > 0 && value.isFinite) { throw SchedulerError(config.label, "\(key) must be positive, found \(value)") }
        }
        finalSigmaIsMin = try config.string("final_sigmas_type", default: "zero", allowed: ["zero", "sigma_min"]) == "sigma_min"
        lambdaMinClipped = try config.double("lambda_min_clipped", default: -Double.infinity)
        spacing = try config.string("timestep_spacing", default: "linspace", allowed: ["linspace", "leading", "trailing"])
        stepsOffset = try config.int("steps_offset", default: 0)
        timesteps = (0..<schedule.count).reversed().map { Float($0) }
        sigmas = schedule.sigmas
        modelOutputs = Array(repeating: nil, count: solverOrder)
    }

    public func setTimesteps(_ steps: Int) throws {
        let place = "\(className).setTimesteps"
        let trainCount = schedule.count
        guard steps >= 1, steps <= trainCount else {
            throw SchedulerError(place, "steps must be in 1...\(trainCount), found \(steps)")
        }
        // Timesteps whose λ(t) = log α_t - log σ_t falls below lambda_min_clipped are cut off the top.
        let lambdas = schedule.alphasCumprod.map { Foundation.log($0.squareRoot()) - Foundation.log((1 - $0).squareRoot()) }
        let clipped = Array(lambdas.reversed()).firstIndex { Double($0) >= lambdaMinClipped } ?? lambdas.count
        let lastTimestep = trainCount - clipped
        var values: [Double]
        switch spacing {
        case "linspace":
            values = Array(NumpySpacing.linspace(0, Double(lastTimestep - 1), steps + 1).map(NumpySpacing.round).reversed().dropLast())
        case "leading":
            let ratio = lastTimestep / (steps + 1)
            values = (0...steps).reversed().dropLast().map { Double($0 * ratio + stepsOffset) }
        default:  // trailing
            let ratio = Double(trainCount) / Double(steps)
            values = NumpySpacing.arange(Double(lastTimestep), 0, -ratio).map { NumpySpacing.round($0) - 1 }
        }
        guard !values.isEmpty else { throw SchedulerError(place, "the \(spacing) spacing gives no timesteps for \(steps) steps") }
        let trainSigmas = schedule.sigmas
        var stepSigmas: [Double]
        if useKarras {
            let low = sigmaMin ?? Double(trainSigmas.first ?? 0), high = sigmaMax ?? Double(trainSigmas.last ?? 0)
            stepSigmas = NumpySpacing.karrasSigmas(sigmaMin: low, sigmaMax: high, count: steps)
            let logSigmas = trainSigmas.map { Foundation.log($0) }
            values = stepSigmas.map { NumpySpacing.sigmaToT($0, logSigmas: logSigmas) }
            if !isCosineSchedule { values = values.map(NumpySpacing.round) }
        } else {
            stepSigmas = values.map { NumpySpacing.interp($0, trainSigmas) }
        }
        guard values.allSatisfy({ $0.isFinite && abs($0) < 1e9 }) else {
            throw SchedulerError(place, "the schedule gives non-finite timesteps \(values.prefix(4))")
        }
        let last: Float = finalSigmaIsMin ? ((1 - schedule.alphasCumprod[0]) / schedule.alphasCumprod[0]).squareRoot() : 0
        sigmas = stepSigmas.map { Float($0) } + [last]
        // diffusers casts to int64, truncating the fractional timesteps of a cosine schedule with Karras sigmas
        timesteps = values.map { Float($0.rounded(.towardZero)) }
        numInferenceSteps = timesteps.count
        modelOutputs = Array(repeating: nil, count: solverOrder)
        lowerOrderNums = 0
        stepIndex = nil
        beginIndex = nil
    }

    private var isCosineSchedule: Bool { schedule.betaSchedule == "squaredcos_cap_v2" }

    public func setBeginIndex(_ index: Int) { beginIndex = index }

    public func scaleModelInput(_ sample: Tensor, timestep: Float) throws -> Tensor { sample }

    /// DPM-Solver's index lookup: the second match of a repeated timestep, the last index for an unknown one.
    private func dpmIndex(_ timestep: Float) -> Int {
        let matches = timesteps.indices.filter { timesteps[$0] == timestep }
        if matches.isEmpty { return timesteps.count - 1 }
        return matches.count > 1 ? matches[1] : matches[0]
    }

    /// (α_t, σ_t) of the variance-preserving process for a Karras σ: α = 1 / sqrt(σ² + 1), σ_t = σ α.
    private func alphaSigma(_ sigma: Float) -> (alpha: Float, sigma: Float) {
        let alpha = 1 / (sigma * sigma + 1).squareRoot()
        return (alpha, sigma * alpha)
    }

    private func lambda(_ pair: (alpha: Float, sigma: Float)) -> Float {
        Foundation.log(pair.alpha) - Foundation.log(pair.sigma)
    }

    public func step(modelOutput: Tensor, timestep: Float, sample: Tensor, generator: TorchGenerator?) throws -> SchedulerStepOutput {
        let place = "\(className).step"
        guard numInferenceSteps != nil else { throw SchedulerError(place, "setTimesteps must run before step") }
        try SampleArithmetic.checkShapes([("sample", sample), ("model output", modelOutput)], place: place)
        if stepIndex == nil { stepIndex = beginIndex ?? dpmIndex(timestep) }
        let index = stepIndex ?? 0
        guard index >= 0, index + 1 < sigmas.count else {
            throw SchedulerError(place, "step index \(index) is outside the schedule of \(timesteps.count) timesteps")
        }
        let count = timesteps.count
        let finalLower = index == count - 1 && (eulerAtFinal || (lowerOrderFinal && count < 15) || !finalSigmaIsMin)
        let secondLower = index == count - 2 && lowerOrderFinal && count < 15

        // x₀ estimate from the model output
        let current = alphaSigma(sigmas[index])
        let x0: Tensor
        switch predictionType {
        case "epsilon": x0 = SampleArithmetic.map(sample, modelOutput) { x, e in (x - current.sigma * e) / current.alpha }
        case "sample": x0 = modelOutput
        default: x0 = SampleArithmetic.map(sample, modelOutput) { x, v in current.alpha * x - current.sigma * v }
        }
        modelOutputs.removeFirst()
        modelOutputs.append(x0)
        let noise = stochastic ? try SampleArithmetic.noise(like: modelOutput.shape, generator: generator, place: place) : nil

        let prev: Tensor
        if solverOrder == 1 || lowerOrderNums < 1 || finalLower {
            prev = firstOrderUpdate(x0, sample: sample, noise: noise, index: index)
        } else {
            _ = secondLower  // with order ≤ 2 both branches of diffusers' second test lead here
            guard index >= 1, let previous = modelOutputs[modelOutputs.count - 2] else {
                throw SchedulerError(place, "the second-order update is missing the previous model output")
            }
            prev = secondOrderUpdate(x0, previous, sample: sample, noise: noise, index: index)
        }
        if lowerOrderNums < solverOrder { lowerOrderNums += 1 }
        stepIndex = index + 1
        return SchedulerStepOutput(prevSample: prev, predictedOriginal: x0)
    }

    /// DPM-Solver++ first order (DDIM in λ): x_t = (σ_t/σ_s) x - α_t (e^{-h} - 1) x₀.
    private func firstOrderUpdate(_ x0: Tensor, sample: Tensor, noise: Tensor?, index: Int) -> Tensor {
        let t = alphaSigma(sigmas[index + 1]), s = alphaSigma(sigmas[index])
        let h = lambda(t) - lambda(s)
        if let noise {
            let a = t.sigma / s.sigma * Foundation.exp(-h)
            let b = t.alpha * (1 - Foundation.exp(-2 * h))
            let c = t.sigma * (1 - Foundation.exp(-2 * h)).squareRoot()
            return SampleArithmetic.map(sample, x0, noise) { x, d, n in a * x + b * d + c * n }
        }
        let a = t.sigma / s.sigma
        let b = t.alpha * (Foundation.exp(-h) - 1)
        return SampleArithmetic.map(sample, x0) { x, d in a * x - b * d }
    }

    /// DPM-Solver++ 2M: the first-order update plus a correction from the last two x₀ estimates (midpoint or Heun).
    private func secondOrderUpdate(_ m0: Tensor, _ m1: Tensor, sample: Tensor, noise: Tensor?, index: Int) -> Tensor {
        let t = alphaSigma(sigmas[index + 1]), s0 = alphaSigma(sigmas[index]), s1 = alphaSigma(sigmas[index - 1])
        let lambdaT = lambda(t), lambdaS0 = lambda(s0), lambdaS1 = lambda(s1)
        let h = lambdaT - lambdaS0, h0 = lambdaS0 - lambdaS1
        let r0 = h0 / h
        let inverseR0 = 1 / r0
        // D1 = (1 / r0) (m0 - m1)
        let d1 = SampleArithmetic.map(m0, m1) { a, b in inverseR0 * (a - b) }
        if let noise {
            let a = t.sigma / s0.sigma * Foundation.exp(-h)
            let b = t.alpha * (1 - Foundation.exp(-2 * h))
            let c: Float = heun ? t.alpha * ((1 - Foundation.exp(-2 * h)) / (-2 * h) + 1) : 0.5 * b
            let e = t.sigma * (1 - Foundation.exp(-2 * h)).squareRoot()
            let partial = SampleArithmetic.map(sample, m0, d1) { x, d0, dd in a * x + b * d0 + c * dd }
            return SampleArithmetic.map(partial, noise) { p, n in p + e * n }
        }
        let a = t.sigma / s0.sigma
        let b = t.alpha * (Foundation.exp(-h) - 1)
        if heun {
            let c = t.alpha * ((Foundation.exp(-h) - 1) / h + 1)
            return SampleArithmetic.map(sample, m0, d1) { x, d0, dd in a * x - b * d0 + c * dd }
        }
        let c: Float = 0.5 * b
        return SampleArithmetic.map(sample, m0, d1) { x, d0, dd in a * x - b * d0 - c * dd }
    }

    /// `α_t x + σ_t noise` at the σ of the current step index (or the begin index before the first step), or of
    /// `timestep`'s position for a full run, as diffusers chooses.
    public func addNoise(original: Tensor, noise: Tensor, timestep: Float) throws -> Tensor {
        let place = "\(className).addNoise"
        try SampleArithmetic.checkShapes([("original", original), ("noise", noise)], place: place)
        let index = beginIndex == nil ? dpmIndex(timestep) : (stepIndex ?? beginIndex ?? 0)
        guard index >= 0, index < sigmas.count else { throw SchedulerError(place, "step index \(index) is outside the schedule") }
        let pair = alphaSigma(sigmas[index])
        return SampleArithmetic.map(original, noise) { x, n in pair.alpha * x + pair.sigma * n }
    }
}
