import Foundation
import NN
import Tensor

/// rorem's model files: a safetensors checkpoint (written and read through NN's `Checkpoint`) whose metadata also
/// names the model kind (`rorem.kind`) and holds its configuration as JSON (`rorem.config`), so a file alone
/// rebuilds the model.
public enum ModelCheckpoint {
    /// Metadata key for the model kind, e.g. `unet-remover`.
    public static let kindKey = "rorem.kind"
    /// Metadata key for the configuration JSON.
    public static let configKey = "rorem.config"

    /// Writes `module`'s weights (F32) with `kind`, `config` as JSON and `extra` metadata to `path`.
    public static func save<Config: Encodable>(_ module: Module, kind: String, config: Config,
                                               extra: [String: String] = [:], to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = try encoder.encode(config)
        var metadata = extra
        metadata["format"] = "pt"
        metadata[kindKey] = kind
        metadata[configKey] = String(decoding: json, as: UTF8.self)
        do {
            try SafeTensors.write(module.namedParameters().map { ($0.name, $0.parameter.value.detached) }, metadata: metadata, to: path)
        } catch let error as TensorError {
            throw LearningError.checkpoint(path: path, reason: "cannot write: \(error.message)")
        }
    }

    /// Opens `path` as safetensors and returns the file and its model kind; throws when the file is not
    /// safetensors, has no kind, or (when `expected` is given) holds another kind of model.
    public static func open(_ path: String, expecting expected: String? = nil) throws -> (file: TensorSource, kind: String) {
        let file: TensorSource
        do {
            file = try SafeTensorsFile(path: path)
        } catch let error as TensorError {
            throw LearningError.checkpoint(path: path, reason: "not a readable safetensors file: \(error.message)")
        }
        guard let kind = file.metadata[kindKey] else {
            throw LearningError.checkpoint(path: path, reason: "metadata has no '\(kindKey)'; it was not saved by rorem")
        }
        if let expected, kind != expected {
            throw LearningError.checkpoint(path: path, reason: "holds a '\(kind)' model, not a '\(expected)'")
        }
        return (file, kind)
    }

    /// The configuration stored in `file`'s metadata, decoded as `Config`.
    static func config<Config: Decodable>(_ type: Config.Type, in file: TensorSource, path: String) throws -> Config {
        guard let text = file.metadata[configKey] else {
            throw LearningError.checkpoint(path: path, reason: "metadata has no '\(configKey)'")
        }
        do {
            return try JSONDecoder().decode(Config.self, from: Data(text.utf8))
        } catch {
            throw LearningError.checkpoint(path: path, reason: "configuration JSON does not decode: \(error)")
        }
    }

    /// Loads every parameter of `module` from `file` (strict, f32); throws naming the tensor when one is missing,
    /// unexpected, or of another shape (giving both shapes).
    static func loadWeights(into module: Module, from file: TensorSource, path: String) throws {
        do {
            try module.load(from: file, strict: true, dtype: .f32)
        } catch let error as TensorError {
            throw LearningError.checkpoint(path: path, reason: error.message)
        }
    }
}
