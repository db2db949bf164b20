import Foundation

/// Reading `UNetConfig` from diffusers' config.json: known and ignored keys, int-or-list values, refusals.
extension UNetConfig {
    public static let knownKeys: Set<String> = [
        "in_channels", "out_channels", "center_input_sample", "flip_sin_to_cos", "freq_shift", "down_block_types",
        "mid_block_type", "up_block_types", "only_cross_attention", "block_out_channels", "layers_per_block",
        "downsample_padding", "mid_block_scale_factor", "dropout", "act_fn", "norm_num_groups", "norm_eps",
        "cross_attention_dim", "transformer_layers_per_block", "reverse_transformer_layers_per_block",
        "encoder_hid_dim", "encoder_hid_dim_type", "attention_head_dim", "num_attention_heads",
        "dual_cross_attention", "use_linear_projection", "class_embed_type", "addition_embed_type",
        "addition_time_embed_dim", "num_class_embeds", "resnet_time_scale_shift", "time_embedding_type",
        "time_embedding_dim", "time_embedding_act_fn", "timestep_post_act", "time_cond_proj_dim", "conv_in_kernel",
        "conv_out_kernel", "projection_class_embeddings_input_dim", "attention_type", "class_embeddings_concat",
    ]

    /// Keys that do not change this computation: `sample_size` is only a default size; `upcast_attention` asks for
    /// float32 attention, which is how it always runs here; and diffusers passes `resnet_out_scale_factor`,
    /// `resnet_skip_time_act`, `cross_attention_norm`, `mid_block_only_cross_attention` and
    /// `addition_embed_type_num_heads` only to block and embedding kinds this UNet does not build.
    public static let ignoredKeys: Set<String> = [
        "sample_size", "upcast_attention", "resnet_out_scale_factor", "resnet_skip_time_act", "cross_attention_norm",
        "mid_block_only_cross_attention", "addition_embed_type_num_heads",
    ]

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: ConfigKey.self)
        self.init()
        inChannels = try c.value("in_channels", default: inChannels)
        outChannels = try c.value("out_channels", default: outChannels)
        centerInputSample = try c.value("center_input_sample", default: centerInputSample)
        flipSinToCos = try c.value("flip_sin_to_cos", default: flipSinToCos)
        freqShift = try c.value("freq_shift", default: freqShift)
        blockOutChannels = try c.value("block_out_channels", default: blockOutChannels)
        let levels = blockOutChannels.count
        guard levels > 0, blockOutChannels.allSatisfy({ $0 > 0 }) else {
            throw ConfigValueError("block_out_channels", "should be a non-empty list of positive widths, not \(blockOutChannels)")
        }
        for (key, value) in [("in_channels", inChannels), ("out_channels", outChannels)] where value <= 0 {
            throw ConfigValueError(key, "should be positive, not \(value)")
        }

        let downNames: [String] = try c.value("down_block_types", default: downBlockTypes.map(\.rawValue))
        downBlockTypes = try downNames.map { name in
            guard let t = DownBlockType(rawValue: name) else {
                throw ConfigValueError.unsupported("down_block_types", "'\(name)'", supported: ["DownBlock2D", "CrossAttnDownBlock2D"])
            }
            return t
        }
        let upNames: [String] = try c.value("up_block_types", default: upBlockTypes.map(\.rawValue))
        upBlockTypes = try upNames.map { name in
            guard let t = UpBlockType(rawValue: name) else {
                throw ConfigValueError.unsupported("up_block_types", "'\(name)'", supported: ["UpBlock2D", "CrossAttnUpBlock2D"])
            }
            return t
        }
        guard downBlockTypes.count == levels else {
            throw ConfigValueError("down_block_types", "has \(downBlockTypes.count) entries for \(levels) block_out_channels")
        }
        guard upBlockTypes.count == levels else {
            throw ConfigValueError("up_block_types", "has \(upBlockTypes.count) entries for \(levels) down blocks")
        }
        if c.contains(ConfigKey("mid_block_type")), try c.decodeNil(forKey: ConfigKey("mid_block_type")) {
            midBlockType = nil
        } else {
            let name: String = try c.value("mid_block_type", default: MidBlockType.crossAttention.rawValue)
            guard let t = MidBlockType(rawValue: name) else {
                throw ConfigValueError.unsupported("mid_block_type", "'\(name)'", supported: ["UNetMidBlock2DCrossAttn", "null"])
            }
            midBlockType = t
        }

        layersPerBlock = try Self.perBlock(c, "layers_per_block", default: 2, levels: levels)
        guard layersPerBlock.allSatisfy({ $0 > 0 }) else {
            throw ConfigValueError("layers_per_block", "should be positive, not \(layersPerBlock)")
        }
        downsamplePadding = try c.value("downsample_padding", default: downsamplePadding)
        midBlockScaleFactor = try c.value("mid_block_scale_factor", default: midBlockScaleFactor)
        activation = try Activation.named(c.value("act_fn", default: "silu"), key: "act_fn")
        if c.contains(ConfigKey("norm_num_groups")), try c.decodeNil(forKey: ConfigKey("norm_num_groups")) {
            throw ConfigValueError("norm_num_groups", "null (no output norm) is not supported")
        }
        let groups: Int = try c.value("norm_num_groups", default: 32)
        normNumGroups = groups
        guard groups > 0, blockOutChannels.allSatisfy({ $0 % groups == 0 }) else {
            throw ConfigValueError("norm_num_groups", "\(groups) does not divide every width of \(blockOutChannels)")
        }
        normEps = try c.value("norm_eps", default: normEps)
        crossAttentionDim = try Self.perBlock(c, "cross_attention_dim", default: 1280, levels: levels)

        let (down, up) = try Self.transformerLayers(c, layers: layersPerBlock)
        transformerLayersPerBlock = down
        reverseTransformerLayersPerBlock = up

        if let heads: IntOrList = try c.optional("num_attention_heads") {
            throw ConfigValueError("num_attention_heads", "is \(heads) but must be null: diffusers' UNet2DConditionModel refuses it (the heads come from attention_head_dim)")
        }
        attentionHeads = try Self.perBlock(c, "attention_head_dim", default: 8, levels: levels)
        for (i, heads) in attentionHeads.enumerated() where heads <= 0 || blockOutChannels[i] % heads != 0 {
            throw ConfigValueError("attention_head_dim", "\(heads) heads do not divide block \(i)'s \(blockOutChannels[i]) channels")
        }
        useLinearProjection = try c.value("use_linear_projection", default: useLinearProjection)
        let shift: String = try c.value("resnet_time_scale_shift", default: "default")
        guard let s = ResnetBlock2D.TimeEmbeddingNorm(rawValue: shift) else {
            throw ConfigValueError.unsupported("resnet_time_scale_shift", "'\(shift)'", supported: ["default", "scale_shift"])
        }
        resnetTimeScaleShift = s

        if let type: String = try c.optional("addition_embed_type") {
            guard let t = AdditionEmbedType(rawValue: type) else {
                throw ConfigValueError.unsupported("addition_embed_type", "'\(type)'", supported: ["text_time", "null"])
            }
            additionEmbedType = t
            additionTimeEmbedDim = try c.optional("addition_time_embed_dim")
            projectionClassEmbeddingsInputDim = try c.optional("projection_class_embeddings_input_dim")
            guard let a = additionTimeEmbedDim, a > 0 else {
                throw ConfigValueError("addition_time_embed_dim", "a positive width is needed for addition_embed_type 'text_time'")
            }
            guard let p = projectionClassEmbeddingsInputDim, p > 6 * a else {
                throw ConfigValueError("projection_class_embeddings_input_dim", "should exceed 6 * addition_time_embed_dim = \(6 * a) (pooled text width + 6 time ids)")
            }
        }
        timeEmbeddingDim = try c.optional("time_embedding_dim")
        if let t = timeEmbeddingDim, t <= 0 { throw ConfigValueError("time_embedding_dim", "should be positive, not \(t)") }
        if let name: String = try c.optional("time_embedding_act_fn") {
            timeEmbeddingActivation = try Activation.named(name, key: "time_embedding_act_fn")
        }
        if let name: String = try c.optional("timestep_post_act") {
            timestepPostActivation = try Activation.named(name, key: "timestep_post_act")
        }
        timeCondProjDim = try c.optional("time_cond_proj_dim")
        if let t = timeCondProjDim, t <= 0 { throw ConfigValueError("time_cond_proj_dim", "should be positive, not \(t)") }
        convInKernel = try c.value("conv_in_kernel", default: convInKernel)
        convOutKernel = try c.value("conv_out_kernel", default: convOutKernel)
        for (key, k) in [("conv_in_kernel", convInKernel), ("conv_out_kernel", convOutKernel)] where k <= 0 || k % 2 == 0 {
            throw ConfigValueError(key, "should be a positive odd size, not \(k)")
        }

        try Self.refuseUnlessDefault(c)
        try validate()
    }

    /// Keys whose non-default values would change the computation in ways not implemented here.
    private static func refuseUnlessDefault(_ c: KeyedDecodingContainer<ConfigKey>) throws {
        if let only: BoolOrList = try c.optional("only_cross_attention"), only.values.contains(true) {
            throw ConfigValueError("only_cross_attention", "true (cross-attention in place of self-attention) is not supported")
        }
        if let dropout: Float = try c.optional("dropout"), dropout != 0 {
            throw ConfigValueError("dropout", "\(dropout) is not supported (only 0: the blocks apply no dropout)")
        }
        for key in ["encoder_hid_dim", "num_class_embeds"] {
            if let v: Int = try c.optional(key) {
                throw ConfigValueError(key, "\(v) is not supported (only null)")
            }
        }
        for key in ["encoder_hid_dim_type", "class_embed_type"] {
            if let v: String = try c.optional(key) {
                throw ConfigValueError(key, "'\(v)' is not supported (only null)")
            }
        }
        if try c.value("dual_cross_attention", default: false) {
            throw ConfigValueError("dual_cross_attention", "true is not supported")
        }
        if try c.value("class_embeddings_concat", default: false) {
            throw ConfigValueError("class_embeddings_concat", "true is not supported")
        }
        let timeType: String = try c.value("time_embedding_type", default: "positional")
        if timeType != "positional" {
            throw ConfigValueError.unsupported("time_embedding_type", "'\(timeType)'", supported: ["positional"])
        }
        let attentionType: String = try c.value("attention_type", default: "default")
        if attentionType != "default" {
            throw ConfigValueError.unsupported("attention_type", "'\(attentionType)'", supported: ["default"])
        }
    }

    /// An int (the same for every block) or a list of one value per block.
    private static func perBlock(_ c: KeyedDecodingContainer<ConfigKey>, _ key: String, default value: Int, levels: Int) throws -> [Int] {
        guard let v: IntOrList = try c.optional(key) else { return Array(repeating: value, count: levels) }
        switch v {
        case .int(let i): return Array(repeating: i, count: levels)
        case .list(let l):
            guard l.count == levels else { throw ConfigValueError(key, "has \(l.count) entries for \(levels) down blocks") }
            return l
        case .nested: throw ConfigValueError(key, "should be an integer or a list of integers")
        }
    }

    /// `transformer_layers_per_block` (int, list per block, or list of lists per resnet) and its reverse for the
    /// up blocks, as diffusers expands them.
    private static func transformerLayers(_ c: KeyedDecodingContainer<ConfigKey>, layers: [Int]) throws -> ([[Int]], [[Int]]) {
        let key = "transformer_layers_per_block", reverseKey = "reverse_transformer_layers_per_block"
        let levels = layers.count
        let value: IntOrList = try c.optional(key) ?? .int(1)
        var down: [[Int]]
        switch value {
        case .int(let i): down = layers.map { Array(repeating: i, count: $0) }
        case .list(let l):
            guard l.count == levels else { throw ConfigValueError(key, "has \(l.count) entries for \(levels) down blocks") }
            down = zip(l, layers).map { Array(repeating: $0, count: $1) }
        case .nested(let n):
            guard n.count == levels, zip(n, layers).allSatisfy({ $0.count == $1 }) else {
                throw ConfigValueError(key, "should hold, for each down block, one count per resnet (layers_per_block \(layers))")
            }
            down = n
        }
        guard down.joined().allSatisfy({ $0 >= 0 }) else { throw ConfigValueError(key, "counts must not be negative") }
        let reversedLayers = Array(layers.reversed())
        var up: [[Int]]
        if let reverse: IntOrList = try c.optional(reverseKey) {
            guard case .nested(let n) = reverse, n.count == levels, zip(n, reversedLayers).allSatisfy({ $0.count == $1 + 1 }) else {
                throw ConfigValueError(reverseKey, "should hold, for each up block, one count per resnet (layers_per_block + 1)")
            }
            up = n
        } else {
            if case .nested = value {
                throw ConfigValueError(reverseKey, "is needed when transformer_layers_per_block is a list of lists")
            }
            // diffusers reverses the per-block values; each up block has one resnet more.
            up = zip(down.reversed(), reversedLayers).map { Array(repeating: $0.first ?? 1, count: $1 + 1) }
        }
        guard up.joined().allSatisfy({ $0 >= 0 }) else { throw ConfigValueError(reverseKey, "counts must not be negative") }
        return (down, up)
    }
}

/// A config value that may be an integer, a list of integers or a list of lists of integers.
enum IntOrList: Decodable, Hashable, CustomStringConvertible {
    case int(Int)
    case list([Int])
    case nested([[Int]])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let l = try? c.decode([Int].self) { self = .list(l) }
        else if let n = try? c.decode([[Int]].self) { self = .nested(n) }
        else {
            throw DecodingError.typeMismatch([Int].self, .init(codingPath: decoder.codingPath, debugDescription: "should be an integer or a list of integers"))
        }
    }

    var description: String {
        switch self {
        case .int(let i): return "\(i)"
        case .list(let l): return "\(l)"
        case .nested(let n): return "\(n)"
        }
    }
}

/// A config value that may be a boolean or a list of booleans.
enum BoolOrList: Decodable {
    case one(Bool)
    case list([Bool])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .one(b) }
        else if let l = try? c.decode([Bool].self) { self = .list(l) }
        else {
            throw DecodingError.typeMismatch(Bool.self, .init(codingPath: decoder.codingPath, debugDescription: "should be true, false or a list of them"))
        }
    }

    var values: [Bool] {
        switch self {
        case .one(let b): return [b]
        case .list(let l): return l
        }
    }
}
