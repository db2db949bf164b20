import Foundation
import NN
import Tensor

/// Model checkpoints as safetensors: the weights under their PyTorch-style names, and in the metadata the model
/// kind (`rorem.kind`) and its configuration as JSON (`rorem.config`), so a file alone rebuilds the model.
public enum Checkpoint {
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
            try SafeTensors.write(module.stateDict(), metadata: metadata, to: path)
        } catch let error as TensorError {
            throw LearningError.checkpoint(path: path, reason: "cannot write: \(error.message)")
        }
    }

    /// Opens `path` as safetensors and returns the file and its model kind; throws when the file is not
    /// safetensors, has no kind, or (when `expected` is given) holds another kind of model.
    public static func open(_ path: String, expecting expected: String? = nil) throws -> (file: SafeTensorsFile, kind: String) {
        let file: SafeTensorsFile
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
    static func config<Config: Decodable>(_ type: Config.Type, in file: SafeTensorsFile, path: String) throws -> Config {
        guard let text = file.metadata[configKey] else {
            throw LearningError.checkpoint(path: path, reason: "metadata has no '\(configKey)'")
        }
        do {
            return try JSONDecoder().decode(Config.self, from: Data(text.utf8))
        } catch {
            throw LearningError.checkpoint(path: path, reason: "configuration JSON does not decode: \(error)")
        }
    }

    /// Copies every parameter of `module` from `file`; throws naming the tensor when one is missing, unexpected,
    /// or of another shape (giving both shapes).
    static func loadWeights(into module: Module, from file: SafeTensorsFile, path: String) throws {
        let named = module.namedParameters()
        let known = Set(named.map(\.name))
        for (name, parameter) in named {
            guard let entry = file.entries[name] else {
                throw LearningError.checkpoint(path: path, reason: "missing tensor '\(name)' (the model expects shape \(parameter.shape))")
            }
            guard entry.shape == parameter.shape else {
                throw LearningError.checkpoint(path: path,
                                               reason: "tensor '\(name)' has shape \(entry.shape) in the file but the model expects \(parameter.shape)")
            }
        }
        if let extra = file.names.first(where: { !known.contains($0) }) {
            throw LearningError.checkpoint(path: path, reason: "unexpected tensor '\(extra)' that the model does not have")
        }
        for (name, parameter) in named {
            do {
                try parameter.assign(file.tensor(name), name: name)
            } catch let error as TensorError {
                throw LearningError.checkpoint(path: path, reason: error.description)
            }
        }
    }
}
