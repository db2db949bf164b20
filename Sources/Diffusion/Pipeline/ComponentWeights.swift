import Foundation
import NN
import Tensor

/// Finding and loading a diffusers component folder's weights (`unet/`, `vae/`, a replacement UNet folder).
public enum ComponentWeights {
    /// The weights files diffusers writes, by variant.
    static func candidates(variant: String?) -> [String] {
        let full = "diffusion_pytorch_model.safetensors", half = "diffusion_pytorch_model.fp16.safetensors"
        return variant == "fp16" ? [half, full] : [full, half]
    }

    /// The weights file of `folder`: with `variant: "fp16"` the fp16 file first; otherwise the full-precision file,
    /// and the fp16 one when it is all there is. Throws naming the folder and what was looked for.
    public static func file(in folder: String, variant: String?) throws -> String {
        let dir = URL(fileURLWithPath: folder)
        for name in candidates(variant: variant) {
            let path = dir.appendingPathComponent(name).path
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        throw PipelineError(folder, "no weights: expected \(candidates(variant: variant).joined(separator: " or "))")
    }

    /// Loads every parameter of `module` by name from `path`, strictly: a missing, unexpected or misshapen tensor is
    /// an error naming the file, the tensor and both shapes.
    public static func load(_ module: Module, from path: String) throws {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch { throw PipelineError(path, "\(error)") }
        let named = module.namedParameters()
        let expected = Set(named.map(\.name)), present = Set(file.names)
        let missing = named.map(\.name).filter { !present.contains($0) }
        if let first = missing.first {
            throw PipelineError(path, "missing tensor '\(first)'\(missing.count > 1 ? " and \(missing.count - 1) more" : "") that the config.json's model has")
        }
        let extra = file.names.filter { !expected.contains($0) }.sorted()
        if let first = extra.first {
            throw PipelineError(path, "unexpected tensor '\(first)'\(extra.count > 1 ? " and \(extra.count - 1) more" : "") that the config.json's model does not have")
        }
        for (name, parameter) in named {
            let t = try file.tensor(name)
            guard t.shape == parameter.shape else {
                throw PipelineError(path, "tensor '\(name)' has shape \(t.shape) in the file but the config.json's model expects \(parameter.shape)")
            }
            try parameter.assign(t, name: name)
        }
    }
}
