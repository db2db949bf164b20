import Tensor

/// A diffusion sampler as diffusers' pipelines drive it, stateful like diffusers' schedulers: `setTimesteps` places
/// the inference timesteps, then the pipeline calls `scaleModelInput` and `step` once per timestep in order (the
/// scheduler keeps its step index and, for multistep solvers, earlier model outputs).
///
/// Timesteps are held as `Float`: integer for DDIM, LCM and DPM-Solver, possibly fractional for Euler with Karras
/// sigmas, exactly the values diffusers passes to the UNet.
///
/// Typical use, as StableDiffusionXLInpaintPipeline does it:
/// ```swift
/// let timesteps = try scheduler.prepare(steps: 4, strength: 0.99)
/// for t in timesteps {
///     let input = try scheduler.scaleModelInput(latents, timestep: t)
///     let eps = unet(input, t)
///     latents = try scheduler.step(modelOutput: eps, timestep: t, sample: latents, generator: g).prevSample
/// }
/// ```
public protocol Scheduler: AnyObject {
    /// The diffusers class this scheduler reproduces, e.g. `EulerDiscreteScheduler`.
    var className: String { get }
    /// Model evaluations per timestep (1 for every scheduler here); diffusers' `order`.
    var order: Int { get }
    /// The training noise schedule.
    var schedule: NoiseSchedule { get }
    /// The inference timesteps, first (noisiest) first; empty before `setTimesteps`.
    var timesteps: [Float] { get }
    /// The step count given to `setTimesteps` (diffusers' `num_inference_steps`), nil before.
    var numInferenceSteps: Int? { get }
    /// The standard deviation of the initial noise the sampler expects (latents are `noise * initNoiseSigma`).
    var initNoiseSigma: Float { get }
    /// The index of the timestep the next `step` handles; nil until the first `scaleModelInput` or `step`.
    var stepIndex: Int? { get }
    /// Where a partial schedule begins (set by `timesteps(forStrength:)`); nil for a full run.
    var beginIndex: Int? { get }
    /// Whether diffusers' class has `set_begin_index` (DDIM does not: its `add_noise` looks up timesteps directly).
    var supportsBeginIndex: Bool { get }

    /// Places `steps` inference timesteps as the configuration says, and resets the step state.
    func setTimesteps(_ steps: Int) throws
    /// Makes the first `step` handle `timesteps[index]` (diffusers' `set_begin_index`).
    func setBeginIndex(_ index: Int)
    /// The UNet input for `sample` at `timestep` (Euler divides by `sqrt(σ² + 1)`; the others return it unchanged).
    func scaleModelInput(_ sample: Tensor, timestep: Float) throws -> Tensor
    /// One sampler step from `timestep` to the next: the model's output and the current sample give the previous
    /// (less noisy) sample. Schedulers that inject noise (LCM between steps, DDIM with eta > 0) draw it from
    /// `generator` in diffusers' order; without one they throw rather than invent noise.
    func step(modelOutput: Tensor, timestep: Float, sample: Tensor, generator: TorchGenerator?) throws -> SchedulerStepOutput
    /// `original` noised to the level of `timestep` (diffusers' `add_noise`, including its use of the step or begin
    /// index instead of the timestep where diffusers does so).
    func addNoise(original: Tensor, noise: Tensor, timestep: Float) throws -> Tensor
}

/// What one `step` returns.
public struct SchedulerStepOutput {
    /// The sample at the next timestep (diffusers' `prev_sample`).
    public let prevSample: Tensor
    /// The model's estimate of the clean sample at this step (`pred_original_sample`, LCM's `denoised`), when the
    /// scheduler computes one.
    public let predictedOriginal: Tensor?
}

extension Scheduler {
    /// The timesteps a run with `strength` keeps, as StableDiffusionXLInpaintPipeline's `get_timesteps` chooses
    /// them after `setTimesteps(steps)`: `init = min(Int(steps * strength), steps)` steps are kept from the end,
    /// the first kept index (times `order`) becomes the begin index, and the count of kept steps is returned.
    public func timesteps(forStrength strength: Double, steps: Int) -> (timesteps: [Float], steps: Int) {
        // strengths above 1 act as 1 (as diffusers' min); NaN and negative ones keep nothing
        let clamped = strength.isNaN ? 0 : Swift.min(Swift.max(strength, 0), 1)
        let initTimestep = Swift.min(Int(Double(steps) * clamped), steps)
        let start = Swift.max(steps - initTimestep, 0)
        let first = Swift.min(start * order, timesteps.count)
        if supportsBeginIndex { setBeginIndex(first) }
        return (Array(timesteps[first...]), steps - start)
    }

    /// The timesteps a run that starts at `denoisingStart` (in (0, 1): the fraction of the noise schedule already
    /// denoised, e.g. by a base model before a refiner) keeps, as `get_timesteps(denoising_start=)` chooses them
    /// after `setTimesteps`: those below the cutoff `round(T - denoisingStart T)` (T training timesteps, Python's
    /// round half to even), one more for a second-order scheduler when the count is even, taken from the end; the
    /// first kept index becomes the begin index. Strength plays no part.
    public func timesteps(forDenoisingStart denoisingStart: Double) -> (timesteps: [Float], steps: Int) {
        let total = Double(schedule.count)
        let cutoff = Float((total - denoisingStart * total).rounded(.toNearestOrEven))
        var count = timesteps.filter { $0 < cutoff }.count
        if order == 2, count % 2 == 0 { count += 1 }
        let start = Swift.max(timesteps.count - Swift.min(count, timesteps.count), 0)
        if supportsBeginIndex { setBeginIndex(start) }
        return (Array(timesteps[start...]), count)
    }

    /// `setTimesteps(steps)` followed by `timesteps(forStrength:steps:)`, or by `timesteps(forDenoisingStart:)`
    /// when `denoisingStart` is given; throws, as the pipeline does, when no step is left, for a strength outside
    /// [0, 1] and for a `denoisingStart` outside (0, 1).
    public func prepare(steps: Int, strength: Double = 1, denoisingStart: Double? = nil) throws -> [Float] {
        guard strength >= 0, strength <= 1 else {
            throw SchedulerError(className, "strength must be in [0, 1], found \(strength)")
        }
        if let denoisingStart, !(denoisingStart > 0 && denoisingStart < 1) {
            throw SchedulerError(className, "denoising_start must be in (0, 1), found \(denoisingStart)")
        }
        try setTimesteps(steps)
        let (kept, count) = denoisingStart.map { timesteps(forDenoisingStart: $0) } ?? timesteps(forStrength: strength, steps: steps)
        guard count >= 1, !kept.isEmpty else {
            let cause = denoisingStart.map { "denoising_start \($0)" } ?? "strength \(strength)"
            throw SchedulerError(className, "\(cause) with \(steps) steps leaves \(count) steps; at least 1 is needed")
        }
        return kept
    }

    /// The starting latents as StableDiffusionXLInpaintPipeline's `prepare_latents` makes them from the noise it
    /// draws: `noise * initNoiseSigma` at strength 1, otherwise the image latents noised to the first kept timestep.
    public func initialLatents(noise: Tensor, imageLatents: Tensor?, firstTimestep: Float, strength: Double) throws -> Tensor {
        if strength == 1 {
            let sigma = initNoiseSigma
            return SampleArithmetic.map(noise) { $0 * sigma }
        }
        guard let imageLatents else {
            throw SchedulerError(className, "strength \(strength) < 1 starts from the image latents, and none were given")
        }
        return try addNoise(original: imageLatents, noise: noise, timestep: firstTimestep)
    }

    /// The sigma-free position of `timestep` in `timesteps`, as diffusers' `index_for_timestep` finds it: the
    /// second match when the value occurs more than once, so that a run started mid-schedule skips no sigma.
    func indexForTimestep(_ timestep: Float, place: String) throws -> Int {
        let matches = timesteps.indices.filter { timesteps[$0] == timestep }
        guard let first = matches.first else {
            throw SchedulerError(place, "timestep \(timestep) is not in the schedule \(Self.preview(timesteps))")
        }
        return matches.count > 1 ? matches[1] : first
    }

    /// `timestep` as the integer training timestep it must be for the ᾱ-indexed schedulers.
    func integerTimestep(_ timestep: Float, place: String) throws -> Int {
        guard timestep.isFinite, timestep == timestep.rounded(), abs(timestep) < 1e9 else {
            throw SchedulerError(place, "timestep \(timestep) is not an integer training timestep")
        }
        return Int(timestep)
    }

    static func preview(_ values: [Float]) -> String {
        let shown = values.prefix(8).map { $0 == $0.rounded() ? String(Int($0)) : String($0) }
        return "[" + shown.joined(separator: ", ") + (values.count > 8 ? ", …]" : "]")
    }
}
