import Foundation
import Tensor
import NN

extension AutoencoderKL {
    /// The weights file names diffusers writes into a VAE folder, full precision first.
    static let weightFiles = ["diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"]

    /// Loads a diffusers VAE folder (`config.json` + `diffusion_pytorch_model[.fp16].safetensors`). With
    /// `variant: "fp16"` the fp16 file is preferred; otherwise the full-precision one, and the fp16 one when it is
    /// all there is. Every parameter must be in the file with its shape, and the file may hold no other tensor;
    /// errors name the file and the tensor.
    public static func load(folder: String, variant: String? = nil) throws -> AutoencoderKL {
        let base = URL(fileURLWithPath: folder)
        let config = try ConfigFile.load(AutoencoderKLConfig.self, path: base.appendingPathComponent("config.json").path)
        let order = variant == "fp16" ? Array(weightFiles.reversed()) : weightFiles
        guard let file = order.map({ base.appendingPathComponent($0).path })
                .first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw TensorError("AutoencoderKL '\(folder)'", "no weights: expected \(weightFiles.joined(separator: " or "))")
        }
        var rng = RNG(seed: 0)
        let model = try Initializer.deferred { try AutoencoderKL(config: config, rng: &rng) }
        try model.loadWeights(SafeTensorsFile(path: file), label: file)
        return model
    }

    /// Copies the tensors of `file` into the parameters by name, strictly (`label` names the file in errors).
    public func loadWeights(_ file: SafeTensorsFile, label: String) throws {
        let named = namedParameters()
        let expected = Set(named.map(\.name)), present = Set(file.names)
        if let missing = named.map(\.name).first(where: { !present.contains($0) }) {
            let count = expected.subtracting(present).count
            throw TensorError(label, "missing tensor '\(missing)'\(count > 1 ? " and \(count - 1) more" : "") (is this an AutoencoderKL with this config.json?)")
        }
        let extras = file.names.filter { !expected.contains($0) }.sorted()
        if let extra = extras.first {
            throw TensorError(label, "unexpected tensor '\(extra)'\(extras.count > 1 ? " and \(extras.count - 1) more" : "") for this config.json")
        }
        for (name, parameter) in named {
            let t = try file.tensor(name)
            do { try parameter.assign(t, name: name) } catch let e as TensorError {
                throw TensorError(label, "tensor '\(name)': \(e.message)")
            }
        }
    }
}
