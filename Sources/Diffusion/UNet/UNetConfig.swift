import Foundation

/// The `config.json` of a diffusers `UNet2DConditionModel`, as SDXL (and SD 1.x/2.x) use it, with diffusers'
/// defaults for absent or null keys. Values this implementation does not compute are refused by key
/// (`ConfigValueError` while decoding, `ConfigError` naming the file through `ConfigFile.load`).
///
/// Per-block values that diffusers accepts as an int or a list (`layers_per_block`, `attention_head_dim`,
/// `cross_attention_dim`, `transformer_layers_per_block`) are held as one entry per down block.
///
/// diffusers' naming quirk: `attention_head_dim` is the number of heads of each block (`num_attention_heads` must
/// be null), and each head has `block_out_channels[i] / heads` features.
public struct UNetConfig: JSONConfig, Hashable, Sendable {
    public var inChannels = 4
    public var outChannels = 4
    /// Whether the input is mapped from [0, 1] to [-1, 1] first (`center_input_sample`).
    public var centerInputSample = false
    public var flipSinToCos = true
    public var freqShift: Float = 0
    public var downBlockTypes: [DownBlockType] = [.crossAttention, .crossAttention, .crossAttention, .plain]
    /// nil for a UNet without a mid block (`mid_block_type: null`).
    public var midBlockType: MidBlockType? = .crossAttention
    public var upBlockTypes: [UpBlockType] = [.plain, .crossAttention, .crossAttention, .crossAttention]
    public var blockOutChannels = [320, 640, 1280, 1280]
    /// Resnets per down block (the up blocks have one more).
    public var layersPerBlock = [2, 2, 2, 2]
    public var downsamplePadding = 1
    public var midBlockScaleFactor: Float = 1
    public var activation: Activation = .silu
    public var normNumGroups = 32
    public var normEps: Float = 1e-5
    /// Context width of each down block's cross-attention (the up blocks take them reversed).
    public var crossAttentionDim = [1280, 1280, 1280, 1280]
    /// Transformer blocks of each resnet's Transformer2DModel in each down block.
    public var transformerLayersPerBlock = [[1, 1], [1, 1], [1, 1], [1, 1]]
    /// The same for the up blocks (diffusers' `reverse_transformer_layers_per_block`, or the down values reversed).
    public var reverseTransformerLayersPerBlock = [[1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1]]
    /// Heads of each down block's attention (diffusers' `attention_head_dim`).
    public var attentionHeads = [8, 8, 8, 8]
    public var useLinearProjection = false
    public var resnetTimeScaleShift: ResnetBlock2D.TimeEmbeddingNorm = .default
    /// The added embedding (`addition_embed_type`): nil or `text_time` (SDXL's pooled text + time ids).
    public var additionEmbedType: AdditionEmbedType?
    public var additionTimeEmbedDim: Int?
    public var projectionClassEmbeddingsInputDim: Int?
    /// Width of the time embedding (`time_embedding_dim`; default 4 * block_out_channels[0]).
    public var timeEmbeddingDim: Int?
    /// Applied to the summed embedding before the blocks (`time_embedding_act_fn`).
    public var timeEmbeddingActivation: Activation?
    /// Applied after `time_embedding.linear_2` (`timestep_post_act`).
    public var timestepPostActivation: Activation?
    /// Width of the `timestep_cond` input (LCM-distilled UNets' guidance embedding; `time_cond_proj_dim`).
    public var timeCondProjDim: Int?
    public var convInKernel = 3
    public var convOutKernel = 3

    /// The down block kinds.
    public enum DownBlockType: String, Hashable, Sendable {
        case plain = "DownBlock2D"
        case crossAttention = "CrossAttnDownBlock2D"
    }

    /// The mid block kinds.
    public enum MidBlockType: String, Hashable, Sendable {
        case crossAttention = "UNetMidBlock2DCrossAttn"
    }

    /// The up block kinds.
    public enum UpBlockType: String, Hashable, Sendable {
        case plain = "UpBlock2D"
        case crossAttention = "CrossAttnUpBlock2D"
    }

    /// The added embedding kinds.
    public enum AdditionEmbedType: String, Hashable, Sendable {
        case textTime = "text_time"
    }

    /// diffusers' defaults (SD 1.x's four levels).
    public init() {}

    /// Width of the time embedding the blocks receive.
    public var timeEmbedDim: Int { timeEmbeddingDim ?? 4 * blockOutChannels[0] }

    /// How many times the down path halves the resolution (each down block but the last).
    public var downsamplings: Int { max(0, blockOutChannels.count - 1) }

    /// Width of the pooled text embedding `text_embeds` the `text_time` embedding expects
    /// (projection_class_embeddings_input_dim - 6 * addition_time_embed_dim; SDXL's 2816 - 6 * 256 = 1280).
    public var textEmbedsDim: Int? {
        guard additionEmbedType == .textTime, let p = projectionClassEmbeddingsInputDim, let a = additionTimeEmbedDim else { return nil }
        return p - 6 * a
    }

    /// The width of each down block's attention heads: block_out_channels[i] / heads[i].
    public func headDim(block i: Int) -> Int { blockOutChannels[i] / attentionHeads[i] }
}
