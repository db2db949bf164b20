import NN
import Tensor

/// How ``DiscriminatorNetwork`` turns an input into one value.
public enum DiscriminatorHead: String, Codable, Sendable, CaseIterable {
    /// RORem's: an encoder that halves the resolution at every level, then stride-2 conv + GroupNorm + SiLU stages
    /// down to 1x1 and a 1x1 convolution. It needs many labels (RORem starts it from the SDXL encoder): trained from
    /// scratch on a few hundred images it learns the scenes rather than the fills (Docs/learning.md, "Why the
    /// masked-mean head").
    case strided
    /// A quality map at full resolution, one 3x3 conv + GroupNorm + SiLU stage per width and a 1x1 convolution to
    /// one channel, averaged over the mask (the input's mask channel weights the mean). Every pixel of the hole is a
    /// piece of evidence, so it learns from few labels what makes a fill fail, and a result is judged only by its hole.
    case maskedMean = "masked_mean"
}

/// Configuration of ``Discriminator``: the network's shape, its fixed input resolution, and how much
/// context around the mask it sees.
public struct DiscriminatorConfig: Hashable, Codable, Sendable {
    /// Encoder channel width per level; each level ends with a stride-2 convolution.
    public var widths: [Int]
    /// GroupNorm groups; must divide every width.
    public var groups: Int
    /// Side of the square the (result, mask, source) crop is resized to; a power of two, at least 2^depth.
    public var resolution: Int
    /// Context kept around the mask's bounding box, as a fraction of the box's longer side.
    public var contextMargin: Double
    /// Least context kept on each side of the box, in pixels.
    public var minimumContext: Int
    /// Whether the network also sees the context residual: the result minus what the surroundings predict inside
    /// the mask (a normalised Gaussian convolution of the unmasked source), three more input channels. Without it
    /// a judge trained from scratch on a few hundred labels cannot tell how far a fill is from its surroundings
    /// (see Docs/learning.md, "Why the context residual"). Checkpoints written before this field existed load
    /// with it off.
    public var contextResidual: Bool
    /// Whether the network also sees the shift residual: the result minus what a translated copy of the
    /// surroundings predicts inside the mask (``ShiftPrediction``), three more input channels. The smooth residual
    /// suits smooth backgrounds and misleads on bands and lines, which a smooth fill blurs and a shift continues
    /// (see Docs/learning.md, "The shift residual"). Checkpoints written before this field existed load with it off.
    public var shiftResidual: Bool
    /// How the network reduces to one value; checkpoints written before this field existed load as `.strided`.
    public var head: DiscriminatorHead

    /// Input channels of the network: result, mask and source (7), plus 3 for each residual.
    public var inputChannels: Int { 7 + (contextResidual ? 3 : 0) + (shiftResidual ? 3 : 0) }

    /// A configuration; the defaults (widths 16, 32, 64; 8 groups; 64 px; half the box of context, 8 px at
    /// least) judge small objects at a few milliseconds per image.
    public init(widths: [Int] = [16, 32, 64], groups: Int = 8, resolution: Int = 64,
                contextMargin: Double = 0.5, minimumContext: Int = 8, contextResidual: Bool = true,
                shiftResidual: Bool = false, head: DiscriminatorHead = .strided) {
        self.widths = widths
        self.groups = groups
        self.resolution = resolution
        self.contextMargin = contextMargin
        self.minimumContext = minimumContext
        self.contextResidual = contextResidual
        self.shiftResidual = shiftResidual
        self.head = head
    }

    enum CodingKeys: String, CodingKey { case widths, groups, resolution, contextMargin, minimumContext, contextResidual, shiftResidual, head }

    /// Decodes a stored configuration; `contextResidual` and `shiftResidual` are false and `head` is `.strided` when
    /// absent (checkpoints from before they existed).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        widths = try c.decode([Int].self, forKey: .widths)
        groups = try c.decode(Int.self, forKey: .groups)
        resolution = try c.decode(Int.self, forKey: .resolution)
        contextMargin = try c.decode(Double.self, forKey: .contextMargin)
        minimumContext = try c.decode(Int.self, forKey: .minimumContext)
        contextResidual = try c.decodeIfPresent(Bool.self, forKey: .contextResidual) ?? false
        shiftResidual = try c.decodeIfPresent(Bool.self, forKey: .shiftResidual) ?? false
        head = try c.decodeIfPresent(DiscriminatorHead.self, forKey: .head) ?? .strided
    }

    /// Number of stride-2 head layers that take the encoder's output down to 1x1.
    var headLayers: Int {
        var side = resolution >> widths.count, n = 0
        while side > 1 { side >>= 1; n += 1 }
        return n
    }

    /// Throws an error naming the field when a value is out of range.
    public func validate() throws {
        let place = "DiscriminatorConfig"
        guard (1...6).contains(widths.count) else {
            throw LearningError.invalidConfig(what: place, reason: "widths must have 1 to 6 levels, got \(widths.count)")
        }
        guard groups >= 1 else { throw LearningError.invalidConfig(what: place, reason: "groups must be at least 1, got \(groups)") }
        for w in widths where w < 1 || w > 4096 || w % groups != 0 {
            throw LearningError.invalidConfig(what: place, reason: "width \(w) must be in 1...4096 and divisible by groups (\(groups))")
        }
        guard resolution >= (1 << widths.count), resolution <= 1024, resolution & (resolution - 1) == 0 else {
            throw LearningError.invalidConfig(what: place,
                                              reason: "resolution \(resolution) must be a power of two in \(1 << widths.count)...1024")
        }
        guard contextMargin.isFinite, contextMargin >= 0, contextMargin <= 10 else {
            throw LearningError.invalidConfig(what: place, reason: "contextMargin \(contextMargin) must be in 0...10")
        }
        guard minimumContext >= 0 else {
            throw LearningError.invalidConfig(what: place, reason: "minimumContext \(minimumContext) must not be negative")
        }
    }
}

/// One head stage: a 3x3 stride-2 convolution, GroupNorm and SiLU (`conv`, `norm`).
final class HeadStage: Layer {
    let conv: Conv2d, norm: GroupNorm

    init(_ channels: Int, groups: Int, rng: inout RNG) {
        conv = Conv2d(channels, channels, kernelSize: 3, stride: 2, padding: 1, rng: &rng)
        norm = GroupNorm(groups: groups, channels: channels)
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        try norm(conv(x)).silu()     // (N, C, H, W) -> (N, C, H/2, W/2)
    }

    func namedParameters() -> [(name: String, parameter: Parameter)] {
        scoped("conv", conv) + scoped("norm", norm)
    }
}

/// One stage of the masked-mean head's quality map: a 3x3 convolution (stride 1), GroupNorm and SiLU
/// (`conv`, `norm`).
final class MapStage: Layer {
    let conv: Conv2d, norm: GroupNorm

    init(_ inChannels: Int, _ outChannels: Int, groups: Int, rng: inout RNG) {
        conv = Conv2d(inChannels, outChannels, kernelSize: 3, padding: 1, rng: &rng)
        norm = GroupNorm(groups: groups, channels: outChannels)
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        try norm(conv(x)).silu()     // (N, Cin, H, W) -> (N, Cout, H, W)
    }

    func namedParameters() -> [(name: String, parameter: Parameter)] {
        scoped("conv", conv) + scoped("norm", norm)
    }
}

/// The discriminator network in RORem's shape: a convolutional encoder over the concatenated
/// (result, mask, source) = 7 channels (10 with the context residual), then a head of stride-2 conv + GroupNorm + SiLU stages down to 1x1,
/// a 1x1 convolution to one value, and softplus; or, with ``DiscriminatorHead/maskedMean``, a full-resolution
/// quality map averaged over the mask, then softplus.
///
/// Parameter names: strided: `encoders.{l}.*` (``LevelBlock``), `downsamplers.{l}.*`, `head.{i}.conv.*`,
/// `head.{i}.norm.*`, `out.*`; masked mean: `map.{i}.conv.*`, `map.{i}.norm.*`, `out.*`.
public final class DiscriminatorNetwork: Layer {
    /// The configuration it was built with.
    public let config: DiscriminatorConfig
    let encoders: [LevelBlock], downsamplers: [Conv2d], head: [HeadStage], map: [MapStage], out: Conv2d

    /// Builds the network with PyTorch default initialisation from `rng`; the configuration must be valid.
    init(config: DiscriminatorConfig, rng: inout RNG) {
        self.config = config
        let w = config.widths
        if config.head == .maskedMean {
            var stages: [MapStage] = []
            for (l, width) in w.enumerated() {
                stages.append(MapStage(l == 0 ? config.inputChannels : w[l - 1], width, groups: config.groups, rng: &rng))
            }
            encoders = []
            downsamplers = []
            head = []
            map = stages
            out = Conv2d(w[w.count - 1], 1, kernelSize: 1, rng: &rng)
            return
        }
        var enc: [LevelBlock] = [], down: [Conv2d] = []
        for l in 0..<w.count {
            enc.append(LevelBlock(l == 0 ? config.inputChannels : w[l - 1], w[l], groups: config.groups, rng: &rng))
            down.append(Conv2d(w[l], w[l], kernelSize: 3, stride: 2, padding: 1, rng: &rng))
        }
        let last = w[w.count - 1]
        encoders = enc
        downsamplers = down
        head = (0..<config.headLayers).map { _ in HeadStage(last, groups: config.groups, rng: &rng) }
        map = []
        out = Conv2d(last, 1, kernelSize: 1, rng: &rng)
    }

    /// (N, C, R, R) with C the configured ``DiscriminatorConfig/inputChannels`` and R the resolution
    /// -> (N) softplus outputs (>= 0; 1 means "removal succeeded").
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let r = config.resolution, c = config.inputChannels
        guard x.rank == 4, x.shape[1] == c, x.shape[2] == r, x.shape[3] == r else {
            throw TensorError("DiscriminatorNetwork", "input \(x.shape) should be (N, \(c), \(r), \(r))")
        }
        if config.head == .maskedMean { return try maskedMean(x) }
        var h = x
        for (block, down) in zip(encoders, downsamplers) {
            h = try down(block(h))                  // (N, w[l], R/2^(l+1), R/2^(l+1))
        }
        for stage in head { h = try stage(h) }      // (N, C, 1, 1)
        let value = try out(h)                      // (N, 1, 1, 1)
        return try value.reshaped([x.shape[0]]).softplus()   // (N)
    }

    /// The quality map (N, 1, R, R) of the masked-mean head: the value each pixel contributes before averaging.
    public func qualityMap(_ x: Tensor) throws -> Tensor {
        var h = x
        for stage in map { h = try stage(h) }       // (N, w[l], R, R)
        return try out(h)                           // (N, 1, R, R)
    }

    /// softplus(sum(map * mask) / sum(mask)) per example, the mask being input channel 3; an empty mask averages
    /// over nothing and gives softplus(0).
    func maskedMean(_ x: Tensor) throws -> Tensor {
        let mask = try x.slice(axis: 1, 3, 4)                                    // (N, 1, R, R)
        let weighted = try (qualityMap(x) * mask).sum(axes: [1, 2, 3])          // (N)
        let area = try mask.sum(axes: [1, 2, 3]).values.map { max($0, 1e-3) }  // (N), a constant
        return try (weighted / Tensor(area, shape: [x.shape[0]])).softplus()   // (N)
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        var all: [(name: String, parameter: Parameter)] = []
        for (i, m) in map.enumerated() { all += scoped("map.\(i)", m) }
        for (i, m) in encoders.enumerated() { all += scoped("encoders.\(i)", m) }
        for (i, m) in downsamplers.enumerated() { all += scoped("downsamplers.\(i)", m) }
        for (i, m) in head.enumerated() { all += scoped("head.\(i)", m) }
        return all + scoped("out", out)
    }
}
