import Foundation

/// A CLIP text encoder's `config.json` (transformers' `CLIPTextConfig`), as SDXL's `text_encoder/` and
/// `text_encoder_2/` folders hold it. Missing keys take transformers' defaults.
public struct CLIPTextConfig: Hashable, Sendable, Codable {
    /// The activation between `fc1` and `fc2`.
    public enum Activation: String, Hashable, Sendable, Codable {
        /// `x * sigmoid(1.702 x)` (OpenAI's CLIP ViT-L, SDXL's first encoder).
        case quickGELU = "quick_gelu"
        /// The exact, erf-based GELU (OpenCLIP's bigG, SDXL's second encoder).
        case gelu
    }

    /// Rows of `token_embedding` (`vocab_size`).
    public var vocabSize = 49408
    /// The model width D (`hidden_size`: 768 for SDXL's first encoder, 1280 for the second).
    public var hiddenSize = 512
    /// The MLP's inner width (`intermediate_size`).
    public var intermediateSize = 2048
    /// The width of `text_projection` (`projection_dim`; CLIPTextModelWithProjection only).
    public var projectionDim = 512
    /// Encoder layers (`num_hidden_layers`).
    public var numHiddenLayers = 12
    /// Attention heads per layer (`num_attention_heads`); divides `hiddenSize`.
    public var numAttentionHeads = 8
    /// Rows of `position_embedding`, the longest id sequence (`max_position_embeddings`).
    public var maxPositionEmbeddings = 77
    /// The MLP activation (`hidden_act`).
    public var hiddenAct = Activation.quickGELU
    /// Every layer norm's epsilon (`layer_norm_eps`).
    public var layerNormEps: Float = 1e-5
    /// The start token (`bos_token_id`; not used by the computation).
    public var bosTokenID = 49406
    /// The end token; 2 selects transformers' legacy pooling (at the largest id) that SDXL's configs use.
    public var eosTokenID = 49407
    /// The padding token (`pad_token_id`; not used by the computation: CLIP attends causally, without a pad mask).
    public var padTokenID = 1

    /// The defaults of transformers' `CLIPTextConfig`.
    public init() {}

    /// The width of one attention head.
    public var headDim: Int { hiddenSize / numAttentionHeads }

    /// Reads `config.json` at `path`. Throws, naming the file and key, on invalid JSON, a value of the wrong type
    /// or out of range, an unsupported activation or model type, or an unknown key that could change the model.
    public static func load(_ path: String) throws -> CLIPTextConfig {
        try CLIPTextConfig(json: TextFolderJSON.object(at: path), file: path)
    }

    /// A config from a parsed `config.json` object (`file` names it in errors).
    public init(json: [String: Any], file: String) throws {
        func int(_ key: String, _ current: Int, min: Int = 1, max: Int = 1 << 24) throws -> Int {
            guard let raw = json[key], !(raw is NSNull) else { return current }
            guard let v = TextFolderJSON.integer(raw), (min...max).contains(v) else {
                throw TextFolderError(file, "\(key) = \(raw) is not an integer in \(min)...\(max)")
            }
            return v
        }
        vocabSize = try int("vocab_size", vocabSize, max: 1 << 22)
        hiddenSize = try int("hidden_size", hiddenSize, max: 1 << 16)
        intermediateSize = try int("intermediate_size", intermediateSize, max: 1 << 18)
        projectionDim = try int("projection_dim", projectionDim, max: 1 << 16)
        numHiddenLayers = try int("num_hidden_layers", numHiddenLayers, max: 1024)
        numAttentionHeads = try int("num_attention_heads", numAttentionHeads, max: 1024)
        maxPositionEmbeddings = try int("max_position_embeddings", maxPositionEmbeddings, max: 1 << 16)
        bosTokenID = try int("bos_token_id", bosTokenID, min: 0, max: 1 << 22)
        if let raw = json["eos_token_id"], raw is [Any] {
            throw TextFolderError(file, "eos_token_id as a list is not supported")
        }
        eosTokenID = try int("eos_token_id", eosTokenID, min: 0, max: 1 << 22)
        padTokenID = try int("pad_token_id", padTokenID, min: 0, max: 1 << 22)
        if let raw = json["layer_norm_eps"], !(raw is NSNull) {
            guard let v = TextFolderJSON.number(raw), v > 0, v < 1 else {
                throw TextFolderError(file, "layer_norm_eps = \(raw) is not a number in (0, 1)")
            }
            layerNormEps = Float(v)
        }
        if let raw = json["hidden_act"] {
            guard let name = raw as? String, let act = Activation(rawValue: name) else {
                throw TextFolderError(file, "hidden_act '\(raw)' is not supported (quick_gelu or gelu)")
            }
            hiddenAct = act
        }
        guard hiddenSize % numAttentionHeads == 0 else {
            throw TextFolderError(file, "hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(numAttentionHeads)")
        }
        if let model = json["model_type"], (model as? String) != "clip_text_model" {
            throw TextFolderError(file, "model_type '\(model)' is not supported (clip_text_model)")
        }
        for key in ["attention_dropout", "dropout"] {
            if let raw = json[key], !(raw is NSNull), TextFolderJSON.number(raw) == nil {
                throw TextFolderError(file, "\(key) = \(raw) is not a number")
            }
        }
        for key in json.keys.sorted() where !Self.handledKeys.contains(key) && !Self.harmlessKeys.contains(key) {
            throw TextFolderError(file, "key '\(key)' is not supported")
        }
    }

    /// Keys read above.
    static let handledKeys: Set<String> = [
        "vocab_size", "hidden_size", "intermediate_size", "projection_dim", "num_hidden_layers", "num_attention_heads",
        "max_position_embeddings", "hidden_act", "layer_norm_eps", "bos_token_id", "eos_token_id", "pad_token_id",
        "model_type", "attention_dropout", "dropout",
    ]

    /// Keys that do not change inference: bookkeeping, initialisation, dropout (off at inference), output switches.
    static let harmlessKeys: Set<String> = [
        "_name_or_path", "architectures", "initializer_factor", "initializer_range", "torch_dtype", "dtype",
        "transformers_version", "_commit_hash", "_attn_implementation", "attn_implementation",
        "_attn_implementation_autoset", "output_attentions", "output_hidden_states", "return_dict", "use_return_dict",
        "id2label", "label2id", "num_labels", "problem_type", "chunk_size_feed_forward", "is_encoder_decoder",
        "is_decoder", "add_cross_attention", "tie_word_embeddings", "torchscript", "pruned_heads", "tf_legacy_loss",
        "use_bfloat16", "finetuning_task", "prefix", "sep_token_id", "decoder_start_token_id", "task_specific_params",
        "tokenizer_class", "cross_attention_hidden_size", "tie_encoder_decoder",
    ]

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case projectionDim = "projection_dim", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", maxPositionEmbeddings = "max_position_embeddings"
        case hiddenAct = "hidden_act", layerNormEps = "layer_norm_eps", bosTokenID = "bos_token_id"
        case eosTokenID = "eos_token_id", padTokenID = "pad_token_id"
    }
}
