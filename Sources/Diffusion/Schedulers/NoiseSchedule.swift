import Foundation

/// The training noise schedule shared by the discrete schedulers: betas, ᾱ (alphas_cumprod) and the Karras-style
/// sigmas `sqrt((1 - ᾱ) / ᾱ)`, computed with the precisions diffusers gets from torch (float32 tensors, a cumulative
/// product accumulated in float64 and rounded at each element).
public struct NoiseSchedule: Equatable {
    /// ᾱ at integer training timestep `t`; throws naming `place` for one outside the training schedule.
    public func alphaCumprod(at t: Int, place: String) throws -> Float {
        guard t >= 0, t < count else {
            throw SchedulerError(place, "timestep \(t) is outside the \(count) training timesteps (check steps_offset)")
        }
        return alphasCumprod[t]
    }

    /// β_t for t in 0..<numTrainTimesteps (float32, as diffusers holds them).
    public let betas: [Float]
    /// ᾱ_t = Π_{s≤t} (1 - β_s).
    public let alphasCumprod: [Float]
    /// The configuration's `beta_schedule` (kept even when `trained_betas` override it, as diffusers reads it).
    public let betaSchedule: String

    /// The schedule that `beta_schedule`, `beta_start`, `beta_end`, `num_train_timesteps` and `trained_betas` of
    /// `config` describe; `defaults` are the scheduler's own defaults for the first three.
    init(config: SchedulerConfig, defaultSchedule: String, defaultStart: Double, defaultEnd: Double) throws {
        let count = try config.int("num_train_timesteps", default: 1000)
        guard count >= 2, count <= 100_000 else {
            throw SchedulerError(config.label, "num_train_timesteps must be in 2...100000, found \(count)")
        }
        let start = try config.double("beta_start", default: defaultStart)
        let end = try config.double("beta_end", default: defaultEnd)
        try config.refuse("rescale_betas_zero_snr", unless: .bool(false), why: "zero-terminal-SNR rescaling is not implemented")
        betaSchedule = try config.string("beta_schedule", default: defaultSchedule,
                                         allowed: ["linear", "scaled_linear", "squaredcos_cap_v2"])
        if let trained = try config.numbers("trained_betas") {
            guard trained.count == count else {
                throw SchedulerError(config.label, "trained_betas has \(trained.count) values, num_train_timesteps is \(count)")
            }
            betas = trained.map { Float($0) }
        } else {
            switch betaSchedule {
            case "linear":
                betas = Self.torchLinspace(Float(start), Float(end), count)
            case "scaled_linear":
                betas = Self.torchLinspace(Float(start.squareRoot()), Float(end.squareRoot()), count).map { $0 * $0 }
            default:
                betas = Self.cosineBetas(count)
            }
        }
        guard betas.allSatisfy({ $0.isFinite && $0 > 0 && $0 < 1 }) else {
            throw SchedulerError(config.label, "betas must lie in (0, 1); check beta_start, beta_end and trained_betas")
        }
        var product = 1.0
        alphasCumprod = betas.map { beta in
            product *= Double(1 - beta)
            return Float(product)
        }
    }

    /// Number of training timesteps.
    public var count: Int { betas.count }

    /// `sqrt((1 - ᾱ_t) / ᾱ_t)` for every training timestep (float32), ascending in t.
    public var sigmas: [Float] { alphasCumprod.map { ((1 - $0) / $0).squareRoot() } }

    /// `torch.linspace(start, end, n)` in float32, bit for bit: the first half counted up from `start`, the rest
    /// down from `end`, each value one fused multiply-add (as torch's compiled kernel evaluates it).
    static func torchLinspace(_ start: Float, _ end: Float, _ n: Int) -> [Float] {
        guard n > 1 else { return [start] }
        let step = (end - start) / Float(n - 1)
        let halfway = n / 2
        return (0..<n).map { i in
            i < halfway ? start.addingProduct(step, Float(i)) : end.addingProduct(-step, Float(n - 1 - i))
        }
    }

    /// The squared-cosine ("Glide") schedule, β_t = min(1 - ᾱ(t+1)/ᾱ(t), 0.999), in float64 then float32.
    static func cosineBetas(_ n: Int) -> [Float] {
        func alphaBar(_ t: Double) -> Double {
            let c = Foundation.cos((t + 0.008) / 1.008 * Double.pi / 2)
            return c * c
        }
        return (0..<n).map { i in
            let t1 = Double(i) / Double(n), t2 = Double(i + 1) / Double(n)
            return Float(Swift.min(1 - alphaBar(t2) / alphaBar(t1), 0.999))
        }
    }
}
