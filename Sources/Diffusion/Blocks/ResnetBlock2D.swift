import Tensor
import NN

/// diffusers' `ResnetBlock2D` (pre-norm, no up/down sampling inside): `norm1`, `conv1`, `time_emb_proj` (when the
/// block takes a time embedding), `norm2`, `conv2`, and `conv_shortcut` (1x1) when the widths differ.
///
///     h = conv1(act(norm1(x)))
///     default:      h = conv2(act(norm2(h + time_emb_proj(act(temb)))))
///     scale_shift:  (s, b) = chunk(time_emb_proj(act(temb))); h = conv2(act(norm2(h) * (1 + s) + b))
///     y = (shortcut(x) + h) / output_scale_factor
public final class ResnetBlock2D: Module {
    /// How the time embedding enters (`resnet_time_scale_shift` / `time_embedding_norm`).
    public enum TimeEmbeddingNorm: String, Sendable {
        case `default`
        case scaleShift = "scale_shift"
    }

    /// The block's hyper-parameters, named and defaulted as diffusers' constructor arguments.
    public struct Options: Sendable {
        /// Input width (`in_channels`).
        public var inChannels: Int
        /// Output width (`out_channels`).
        public var outChannels: Int
        /// Width of the time embedding; nil for blocks without one (the VAE's).
        public var tembChannels: Int?
        /// Groups of the first norm (`groups`).
        public var groups: Int
        /// Groups of the second norm; nil means `groups`.
        public var groupsOut: Int?
        /// Epsilon of both group norms.
        public var eps: Float
        /// `non_linearity`.
        public var activation: Activation
        /// The output is divided by it (`output_scale_factor`).
        public var outputScaleFactor: Float
        /// `time_embedding_norm`.
        public var timeEmbeddingNorm: TimeEmbeddingNorm
        /// Whether `temb` skips the activation before `time_emb_proj`.
        public var skipTimeAct: Bool
        /// Whether to use the 1x1 shortcut; nil means "when the widths differ".
        public var useInShortcut: Bool?
        /// Whether the 1x1 shortcut has a bias (`conv_shortcut_bias`).
        public var convShortcutBias: Bool

        /// Options with diffusers' defaults.
        public init(inChannels: Int, outChannels: Int? = nil, tembChannels: Int? = 512, groups: Int = 32,
                    groupsOut: Int? = nil, eps: Float = 1e-6, activation: Activation = .silu,
                    outputScaleFactor: Float = 1, timeEmbeddingNorm: TimeEmbeddingNorm = .default,
                    skipTimeAct: Bool = false, useInShortcut: Bool? = nil, convShortcutBias: Bool = true) {
            self.inChannels = inChannels; self.outChannels = outChannels ?? inChannels
            self.tembChannels = tembChannels; self.groups = groups; self.groupsOut = groupsOut; self.eps = eps
            self.activation = activation; self.outputScaleFactor = outputScaleFactor
            self.timeEmbeddingNorm = timeEmbeddingNorm; self.skipTimeAct = skipTimeAct
            self.useInShortcut = useInShortcut; self.convShortcutBias = convShortcutBias
        }
    }

    /// The hyper-parameters the block was built with.
    public let options: Options
    public let norm1: GroupNorm, conv1: Conv2d
    public let timeEmbProj: Linear?
    public let norm2: GroupNorm, conv2: Conv2d
    public let convShortcut: Conv2d?

    /// Builds the block; throws when the group counts do not divide the widths.
    public init(_ options: Options, rng: inout RNG) throws {
        let o = options
        let groupsOut = o.groupsOut ?? o.groups
        guard o.inChannels > 0, o.outChannels > 0, o.groups > 0, groupsOut > 0,
              o.inChannels % o.groups == 0, o.outChannels % groupsOut == 0 else {
            throw TensorError("ResnetBlock2D", "groups \(o.groups)/\(groupsOut) do not divide widths \(o.inChannels) -> \(o.outChannels)")
        }
        guard o.outputScaleFactor != 0 else { throw TensorError("ResnetBlock2D", "output_scale_factor must not be 0") }
        self.options = o
        norm1 = GroupNorm(groups: o.groups, channels: o.inChannels, eps: o.eps)
        conv1 = Conv2d(o.inChannels, o.outChannels, kernelSize: 3, padding: 1, rng: &rng)
        if let t = o.tembChannels {
            timeEmbProj = Linear(t, o.timeEmbeddingNorm == .scaleShift ? 2 * o.outChannels : o.outChannels, rng: &rng)
        } else {
            timeEmbProj = nil
        }
        norm2 = GroupNorm(groups: groupsOut, channels: o.outChannels, eps: o.eps)
        conv2 = Conv2d(o.outChannels, o.outChannels, kernelSize: 3, padding: 1, rng: &rng)
        let shortcut = o.useInShortcut ?? (o.inChannels != o.outChannels)
        convShortcut = shortcut ? Conv2d(o.inChannels, o.outChannels, kernelSize: 1, bias: o.convShortcutBias, rng: &rng) : nil
    }

    /// x (N, in, H, W), temb (N, tembChannels) or nil -> (N, out, H, W).
    public func callAsFunction(_ x: Tensor, temb: Tensor? = nil) throws -> Tensor {
        let o = options
        guard x.rank == 4, x.shape[1] == o.inChannels else {
            throw TensorError("ResnetBlock2D", "input \(x.shape) should be (N, \(o.inChannels), H, W)")
        }
        var h = try conv1(o.activation.after(norm1, x))                     // (N, out, H, W)
        var scaleShift: (Tensor, Tensor)?
        if let proj = timeEmbProj, let temb {
            guard temb.rank == 2, temb.shape[0] == x.shape[0] else {
                throw TensorError("ResnetBlock2D", "time embedding \(temb.shape) should be (\(x.shape[0]), \(proj.weight.shape[1]))")
            }
            let t = try proj(o.skipTimeAct ? temb : o.activation(temb))     // (N, out) or (N, 2 out)
            switch o.timeEmbeddingNorm {
            case .default:
                h = try h + t.reshaped([t.shape[0], t.shape[1], 1, 1])
            case .scaleShift:
                let s = try t.slice(axis: 1, 0, o.outChannels).reshaped([t.shape[0], o.outChannels, 1, 1])
                let b = try t.slice(axis: 1, o.outChannels, 2 * o.outChannels).reshaped([t.shape[0], o.outChannels, 1, 1])
                scaleShift = (s, b)
            }
        } else if o.timeEmbeddingNorm == .scaleShift {
            throw TensorError("ResnetBlock2D", "a scale_shift block needs a time embedding")
        }
        if let (s, b) = scaleShift {
            h = try o.activation(norm2(h) * (s + 1) + b)
        } else {
            h = try o.activation.after(norm2, h)
        }
        h = try conv2(h)                                                     // (N, out, H, W)
        let y = try h.plus(convShortcut?(x) ?? x)                           // h + shortcut(x), in h's buffer
        return o.outputScaleFactor == 1 ? y : y / o.outputScaleFactor
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        scoped("norm1", norm1) + scoped("conv1", conv1) + scoped("time_emb_proj", timeEmbProj)
            + scoped("norm2", norm2) + scoped("conv2", conv2) + scoped("conv_shortcut", convShortcut)
    }
}
