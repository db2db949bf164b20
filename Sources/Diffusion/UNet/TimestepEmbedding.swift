import Foundation
import Tensor
import NN

/// diffusers' `Timesteps`: the sinusoidal embedding of (possibly fractional) timesteps, without parameters.
///
///     f_i = exp(-ln(max_period) * i / (half - downscale_freq_shift)),  i < half = channels / 2
///     emb = [sin(scale * t * f), cos(scale * t * f)]   ([cos, sin] when flip_sin_to_cos), zero-padded to `channels`
///
/// Computed in float32 as diffusers does (its `get_timestep_embedding` always returns float32).
public struct Timesteps: Sendable {
    public let channels: Int
    public let flipSinToCos: Bool
    public let downscaleFreqShift: Float
    public let scale: Float
    public let maxPeriod: Float

    /// An embedding of width `channels`.
    public init(channels: Int, flipSinToCos: Bool, downscaleFreqShift: Float, scale: Float = 1, maxPeriod: Float = 10000) {
        self.channels = channels; self.flipSinToCos = flipSinToCos; self.downscaleFreqShift = downscaleFreqShift
        self.scale = scale; self.maxPeriod = maxPeriod
    }

    /// timesteps (N) -> (N, channels). Throws when the frequencies are undefined (half == downscale_freq_shift).
    public func callAsFunction(_ timesteps: [Float]) throws -> Tensor {
        let half = channels / 2
        guard channels > 0, Float(half) != downscaleFreqShift else {
            throw TensorError("Timesteps", "\(channels) channels with freq_shift \(downscaleFreqShift) give no frequencies")
        }
        // Each step rounds to float32 as torch does: -ln(max_period) * arange(half), / (half - shift), exp.
        let logPeriod = Float(-Foundation.log(Double(maxPeriod)))
        let divisor = Float(Double(half) - Double(downscaleFreqShift))
        let frequencies = (0..<half).map { Foundation.exp(logPeriod * Float($0) / divisor) }
        var out = Tensor(zeros: [timesteps.count, channels])
        out.withMutableValues { o in
            for (row, t) in timesteps.enumerated() {
                let base = row * channels
                for i in 0..<half {
                    let angle = scale * (t * frequencies[i])
                    let (sinValue, cosValue) = (Foundation.sin(angle), Foundation.cos(angle))
                    o[base + i] = flipSinToCos ? cosValue : sinValue
                    o[base + half + i] = flipSinToCos ? sinValue : cosValue
                }
            }
        }
        return out
    }
}

/// diffusers' `TimestepEmbedding`: `linear_1`, the activation, `linear_2` (and `cond_proj`, a bias-free projection
/// of a condition added to the input first, when `condProjDim` is set; `post_act` after `linear_2` when set).
///
///     y = post_act(linear_2(act(linear_1(x + cond_proj(condition)))))
public final class TimestepEmbedding: Module {
    public let linear1: Linear
    public let activation: Activation
    public let condProj: Linear?
    public let linear2: Linear
    public let postActivation: Activation?

    /// An embedding from `inChannels` to `timeEmbedDim` (then to `outDim` when given).
    public init(inChannels: Int, timeEmbedDim: Int, activation: Activation = .silu, outDim: Int? = nil,
                postActivation: Activation? = nil, condProjDim: Int? = nil, rng: inout RNG) {
        linear1 = Linear(inChannels, timeEmbedDim, rng: &rng)
        condProj = condProjDim.map { Linear($0, inChannels, bias: false, rng: &rng) }
        self.activation = activation
        linear2 = Linear(timeEmbedDim, outDim ?? timeEmbedDim, rng: &rng)
        self.postActivation = postActivation
    }

    /// The input width.
    public var inChannels: Int { linear1.weight.shape[1] }
    /// The output width.
    public var outChannels: Int { linear2.weight.shape[0] }

    /// x (N, inChannels), condition (N, condProjDim) or nil -> (N, outChannels).
    public func callAsFunction(_ x: Tensor, condition: Tensor? = nil) throws -> Tensor {
        guard x.rank == 2, x.shape[1] == inChannels else {
            throw TensorError("TimestepEmbedding", "input \(x.shape) should be (N, \(inChannels))")
        }
        var h = x
        if let condition {
            guard let condProj else {
                throw TensorError("TimestepEmbedding", "a condition was given but the config has no time_cond_proj_dim")
            }
            let width = condProj.weight.shape[1]
            guard condition.rank == 2, condition.shape == [x.shape[0], width] else {
                throw TensorError("TimestepEmbedding", "condition \(condition.shape) should be (\(x.shape[0]), \(width))")
            }
            h = try h + condProj(condition)
        }
        let y = try linear2(activation(linear1(h)))                           // (N, out)
        return postActivation?(y) ?? y
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        scoped("linear_1", linear1) + scoped("cond_proj", condProj) + scoped("linear_2", linear2)
    }
}
