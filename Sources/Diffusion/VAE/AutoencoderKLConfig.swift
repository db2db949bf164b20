import Foundation

/// An `AutoencoderKL`'s `config.json` (diffusers' constructor arguments, with diffusers' defaults).
public struct AutoencoderKLConfig: JSONConfig, Equatable, Sendable {
    public var inChannels = 3
    public var outChannels = 3
    /// One per resolution level; only `DownEncoderBlock2D` is implemented.
    public var downBlockTypes = ["DownEncoderBlock2D"]
    /// One per resolution level; only `UpDecoderBlock2D` is implemented.
    public var upBlockTypes = ["UpDecoderBlock2D"]
    public var blockOutChannels = [64]
    public var layersPerBlock = 1
    public var activation = Activation.silu
    public var latentChannels = 4
    public var normNumGroups = 32
    /// The nominal image side; the default tile size of tiled encode and decode.
    public var sampleSize = 32
    /// Latents are `(z - shift_factor) * scaling_factor` for the denoiser (SDXL: 0.13025).
    public var scalingFactor: Float = 0.18215
    public var shiftFactor: Float?
    /// Per-channel statistics some pipelines un-normalise with when decoding.
    public var latentsMean: [Float]?
    public var latentsStd: [Float]?
    public var useQuantConv = true
    public var usePostQuantConv = true
    public var midBlockAddAttention = true

    /// The default configuration.
    public init() {}

    public static let knownKeys: Set<String> = [
        "in_channels", "out_channels", "down_block_types", "up_block_types", "block_out_channels", "layers_per_block",
        "act_fn", "latent_channels", "norm_num_groups", "sample_size", "scaling_factor", "shift_factor",
        "latents_mean", "latents_std", "use_quant_conv", "use_post_quant_conv", "mid_block_add_attention",
    ]
    /// `force_upcast` asks half-precision pipelines to run the VAE in float32, which this one always computes in.
    public static let ignoredKeys: Set<String> = ["force_upcast"]

    /// How much smaller the latents are than the image: 2^(levels - 1) (8 for SD and SDXL).
    public var downsamplingFactor: Int { 1 << max(blockOutChannels.count - 1, 0) }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: ConfigKey.self)
        inChannels = try c.value("in_channels", default: inChannels)
        outChannels = try c.value("out_channels", default: outChannels)
        downBlockTypes = try c.value("down_block_types", default: downBlockTypes)
        upBlockTypes = try c.value("up_block_types", default: upBlockTypes)
        blockOutChannels = try c.value("block_out_channels", default: blockOutChannels)
        layersPerBlock = try c.value("layers_per_block", default: layersPerBlock)
        activation = try Activation.named(c.value("act_fn", default: "silu"), key: "act_fn")
        latentChannels = try c.value("latent_channels", default: latentChannels)
        normNumGroups = try c.value("norm_num_groups", default: normNumGroups)
        let sizeKey = ConfigKey("sample_size")
        if let side = try? c.decode(Int.self, forKey: sizeKey) {
            sampleSize = side
        } else if let sides = try? c.decode([Int].self, forKey: sizeKey) {
            guard let first = sides.first, sides.allSatisfy({ $0 == first }) else {
                throw ConfigValueError("sample_size", "should be one side or a list of equal sides, got \(sides)")
            }
            sampleSize = first
        } else if c.contains(sizeKey), try !c.decodeNil(forKey: sizeKey) {
            throw ConfigValueError("sample_size", "should be an integer or a list of equal integers")
        }
        scalingFactor = try c.value("scaling_factor", default: scalingFactor)
        shiftFactor = try c.optional("shift_factor")
        latentsMean = try c.optional("latents_mean")
        latentsStd = try c.optional("latents_std")
        useQuantConv = try c.value("use_quant_conv", default: useQuantConv)
        usePostQuantConv = try c.value("use_post_quant_conv", default: usePostQuantConv)
        midBlockAddAttention = try c.value("mid_block_add_attention", default: midBlockAddAttention)
        try validate()
    }

    /// Checks the values this implementation supports; errors name the key.
    public func validate() throws {
        func positive(_ v: Int, _ key: String) throws {
            guard v > 0 else { throw ConfigValueError(key, "should be positive, got \(v)") }
        }
        try positive(inChannels, "in_channels"); try positive(outChannels, "out_channels")
        try positive(latentChannels, "latent_channels"); try positive(normNumGroups, "norm_num_groups")
        try positive(layersPerBlock, "layers_per_block"); try positive(sampleSize, "sample_size")
        guard !blockOutChannels.isEmpty, blockOutChannels.count <= 8 else {
            throw ConfigValueError("block_out_channels", "should list 1 to 8 widths, got \(blockOutChannels.count)")
        }
        for w in blockOutChannels where w <= 0 || w % normNumGroups != 0 {
            throw ConfigValueError("block_out_channels", "width \(w) is not a positive multiple of norm_num_groups \(normNumGroups)")
        }
        guard downBlockTypes.count == blockOutChannels.count else {
            throw ConfigValueError("down_block_types", "has \(downBlockTypes.count) entries for \(blockOutChannels.count) block_out_channels")
        }
        guard upBlockTypes.count == blockOutChannels.count else {
            throw ConfigValueError("up_block_types", "has \(upBlockTypes.count) entries for \(blockOutChannels.count) block_out_channels")
        }
        if let t = downBlockTypes.first(where: { $0 != "DownEncoderBlock2D" }) {
            throw ConfigValueError.unsupported("down_block_types", "'\(t)'", supported: ["DownEncoderBlock2D"])
        }
        if let t = upBlockTypes.first(where: { $0 != "UpDecoderBlock2D" }) {
            throw ConfigValueError.unsupported("up_block_types", "'\(t)'", supported: ["UpDecoderBlock2D"])
        }
        guard scalingFactor.isFinite, scalingFactor != 0 else {
            throw ConfigValueError("scaling_factor", "should be a non-zero number, got \(scalingFactor)")
        }
        if let shiftFactor, !shiftFactor.isFinite { throw ConfigValueError("shift_factor", "should be finite") }
        for (key, stats) in [("latents_mean", latentsMean), ("latents_std", latentsStd)] {
            if let stats, stats.count != latentChannels {
                throw ConfigValueError(key, "has \(stats.count) values for \(latentChannels) latent_channels")
            }
        }
        if let std = latentsStd, std.contains(where: { !($0 > 0) }) {
            throw ConfigValueError("latents_std", "should be positive")
        }
    }
}
