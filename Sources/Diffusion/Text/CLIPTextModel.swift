import Foundation
import NN
import Tensor

/// What a CLIP text encoder returns for a batch of ids (N, L).
public struct CLIPTextOutput {
    /// The last layer's states after `final_layer_norm`: (N, L, D).
    public let lastHiddenState: Tensor
    /// The embeddings, then every layer's output (before the final norm): `numHiddenLayers + 1` tensors (N, L, D),
    /// as transformers' `hidden_states`.
    public let hiddenStates: [Tensor]
    /// The final-norm state at the pooled token of each row: (N, D).
    public let pooled: Tensor
    /// `text_projection(pooled)`: (N, P), for `CLIPTextModelWithProjection`; nil for `CLIPTextModel`.
    public let textEmbeds: Tensor?

    /// `hiddenStates[-(skip + 2)]`: the penultimate layer's output for skip 0, as SDXL uses it (diffusers' clip_skip).
    public func penultimate(skip: Int = 0) throws -> Tensor {
        let index = hiddenStates.count - 2 - skip
        guard skip >= 0, index >= 0 else {
            throw TensorError("CLIP text output", "clip skip \(skip) needs more than \(hiddenStates.count - 1) layers")
        }
        return hiddenStates[index]
    }
}

/// `CLIPTextTransformer` (transformers' `text_model`): embeddings, the causal encoder layers, `final_layer_norm`,
/// and the pooled token.
public final class CLIPTextTransformer: Module {
    /// The shape and settings it was built from.
    public let config: CLIPTextConfig
    /// `embeddings`.
    public let embeddings: CLIPTextEmbeddings
    /// `encoder.layers.N`.
    public let layers: [CLIPEncoderLayer]
    /// `final_layer_norm`.
    public let finalLayerNorm: LayerNorm

    /// A transformer of `config`'s shape, initialised from `rng` (or uninitialised inside `Initializer.deferred`).
    public init(_ config: CLIPTextConfig, rng: inout RNG) {
        self.config = config
        embeddings = CLIPTextEmbeddings(config, rng: &rng)
        var layers: [CLIPEncoderLayer] = []
        for _ in 0..<config.numHiddenLayers { layers.append(CLIPEncoderLayer(config, rng: &rng)) }
        self.layers = layers
        finalLayerNorm = LayerNorm(config.hiddenSize, eps: config.layerNormEps)
    }

    /// Runs ids (N, L) with L at most `maxPositionEmbeddings`; no graph is recorded. Throws on ragged rows, an
    /// empty batch, a length past the position table or an id outside the vocabulary.
    public func callAsFunction(_ ids: [[Int]]) throws -> (lastHiddenState: Tensor, hiddenStates: [Tensor], pooled: Tensor) {
        guard let l = ids.first?.count, l > 0 else { throw TensorError("CLIP text model", "no ids") }
        guard l <= config.maxPositionEmbeddings else {
            throw TensorError("CLIP text model", "\(l) ids exceed max_position_embeddings \(config.maxPositionEmbeddings)")
        }
        return try GradMode.noGrad {
            var h = try embeddings(ids)                                  // (N, L, D)
            let mask = try Self.causalMask(l)                           // (L, L)
            var states = [h]
            for layer in layers {
                h = try layer(h, mask: mask)
                states.append(h)
            }
            let last = try finalLayerNorm(h)                            // (N, L, D)
            let rows = try ids.enumerated().map { b, row in              // each (1, D)
                try last.slice(axis: 0, b, b + 1).slice(axis: 1, pooledIndex(row), pooledIndex(row) + 1)
                    .reshaped([1, config.hiddenSize])
            }
            return (last, states, try Tensor.concat(rows, axis: 0))
        }
    }

    /// The pooled position as transformers 5.x chooses it: with the legacy `eos_token_id` 2 the first largest id
    /// (the end token in CLIP's vocabulary), else the first end token (position 0 when there is none).
    public func pooledIndex(_ row: [Int]) -> Int {
        if config.eosTokenID == 2 {
            var best = 0
            for (i, id) in row.enumerated() where id > row[best] { best = i }
            return best
        }
        return row.firstIndex(of: config.eosTokenID) ?? 0
    }

    /// (L, L): 0 where a position may attend (itself and earlier), a large negative number elsewhere.
    static func causalMask(_ l: Int) throws -> Tensor {
        var m = [Float](repeating: 0, count: l * l)
        for i in 0..<l { for j in (i + 1)..<Swift.max(i + 1, l) { m[i * l + j] = -1e30 } }
        return try Tensor(m, shape: [l, l])
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        var out = scoped("embeddings", embeddings)
        for (i, layer) in layers.enumerated() { out += scoped("encoder.layers.\(i)", layer) }
        return out + scoped("final_layer_norm", finalLayerNorm)
    }
}

/// A CLIP text encoder loaded from a transformers folder.
public protocol CLIPTextEncoder: Module {
    /// The folder's `config.json`.
    var config: CLIPTextConfig { get }
    /// The states, hidden states, pooled output (and projection) for ids (N, L).
    func callAsFunction(_ ids: [[Int]]) throws -> CLIPTextOutput
}

extension CLIPTextEncoder {
    /// Stores every weight as `dtype` (bf16 halves the memory of an encoder kept after the prompt is encoded).
    public func convertParameters(to dtype: DType) {
        for p in parameters { p.convert(to: dtype) }
    }
}

/// transformers' `CLIPTextModel` (SDXL's `text_encoder`): parameters `text_model.*`.
public final class CLIPTextModel: CLIPTextEncoder {
    /// `text_model`.
    public let textModel: CLIPTextTransformer
    /// The folder's `config.json`.
    public var config: CLIPTextConfig { textModel.config }

    /// A model of `config`'s shape, initialised from `rng` (or uninitialised inside `Initializer.deferred`).
    public init(_ config: CLIPTextConfig, rng: inout RNG) {
        textModel = CLIPTextTransformer(config, rng: &rng)
    }

    /// Loads `config.json` and the weights (`model.safetensors`, else `model.fp16.safetensors`) of `folder`, stored
    /// as `dtype` (nil: as the file stores them, zero-copy views); errors name the file and the key or tensor.
    public static func load(folder: String, dtype: DType? = .f32) throws -> CLIPTextModel {
        let config = try CLIPTextConfig.load(URL(fileURLWithPath: folder).appendingPathComponent("config.json").path)
        var rng = RNG(seed: 0)
        let model = Initializer.deferred { CLIPTextModel(config, rng: &rng) }
        try CLIPTextWeights.load(model, folder: folder, dtype: dtype)
        return model
    }

    public func callAsFunction(_ ids: [[Int]]) throws -> CLIPTextOutput {
        let (last, states, pooled) = try textModel(ids)
        return CLIPTextOutput(lastHiddenState: last, hiddenStates: states, pooled: pooled, textEmbeds: nil)
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] { scoped("text_model", textModel) }
}

/// transformers' `CLIPTextModelWithProjection` (SDXL's `text_encoder_2`): `text_model.*` and `text_projection`.
public final class CLIPTextModelWithProjection: CLIPTextEncoder {
    /// `text_model`.
    public let textModel: CLIPTextTransformer
    /// (P, D), no bias.
    public let textProjection: Linear
    /// The folder's `config.json`.
    public var config: CLIPTextConfig { textModel.config }

    /// A model of `config`'s shape, initialised from `rng` (or uninitialised inside `Initializer.deferred`).
    public init(_ config: CLIPTextConfig, rng: inout RNG) {
        textModel = CLIPTextTransformer(config, rng: &rng)
        textProjection = Linear(config.hiddenSize, config.projectionDim, bias: false, rng: &rng)
    }

    /// Loads `config.json` and the weights (`model.safetensors`, else `model.fp16.safetensors`) of `folder`, stored
    /// as `dtype` (nil: as the file stores them, zero-copy views); errors name the file and the key or tensor.
    public static func load(folder: String, dtype: DType? = .f32) throws -> CLIPTextModelWithProjection {
        let config = try CLIPTextConfig.load(URL(fileURLWithPath: folder).appendingPathComponent("config.json").path)
        var rng = RNG(seed: 0)
        let model = Initializer.deferred { CLIPTextModelWithProjection(config, rng: &rng) }
        try CLIPTextWeights.load(model, folder: folder, dtype: dtype)
        return model
    }

    public func callAsFunction(_ ids: [[Int]]) throws -> CLIPTextOutput {
        let (last, states, pooled) = try textModel(ids)
        let embeds = try GradMode.noGrad { try textProjection(pooled) }    // (N, P)
        return CLIPTextOutput(lastHiddenState: last, hiddenStates: states, pooled: pooled, textEmbeds: embeds)
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        scoped("text_model", textModel) + scoped("text_projection", textProjection)
    }
}

/// Loading a text encoder's weights from its folder (until the pipeline's folder loader handles variants, shards
/// and pickles for every model).
enum CLIPTextWeights {
    /// The weights file of `folder`: `model.safetensors`, else `model.fp16.safetensors`.
    static func file(in folder: String) throws -> String {
        let dir = URL(fileURLWithPath: folder)
        for name in ["model.safetensors", "model.fp16.safetensors"] {
            let path = dir.appendingPathComponent(name).path
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        throw TextFolderError(dir.appendingPathComponent("model.safetensors").path, "missing (nor model.fp16.safetensors)")
    }

    /// Loads every parameter of `module` by name from the folder's weights; the names must match exactly.
    static func load(_ module: Module, folder: String, dtype: DType?) throws {
        let path = try file(in: folder)
        do {
            let weights = try SafeTensorsFile(path: path)
            let named = module.namedParameters()
            let expected = Set(named.map(\.name))
            var present = Set(weights.entries.keys)
            // transformers 5 saves a CLIPTextModel without the `text_model.` prefix the published folders have
            // (and adds it back when loading); accept both.
            let prefix = "text_model."
            var fileName: (String) -> String = { $0 }
            if !present.isEmpty, present.allSatisfy({ !$0.hasPrefix(prefix) }), expected.allSatisfy({ $0.hasPrefix(prefix) }) {
                present = Set(present.map { prefix + $0 })
                fileName = { String($0.dropFirst(prefix.count)) }
            }
            let missing = expected.subtracting(present).sorted(), unexpected = present.subtracting(expected).sorted()
            guard missing.isEmpty, unexpected.isEmpty else {
                throw TextFolderError(path, "missing tensors \(missing.prefix(5)), unexpected tensors \(unexpected.prefix(5))")
            }
            for (name, p) in named { try p.replace(with: weights.tensor(fileName(name), dtype: dtype), name: name) }
        } catch let e as TextFolderError {
            throw e
        } catch {
            throw TextFolderError(path, "\(error)")
        }
    }
}
