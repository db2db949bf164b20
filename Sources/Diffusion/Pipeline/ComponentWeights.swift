import Foundation
import NN
import Tensor

/// Finding and loading a diffusers component folder's weights (`unet/`, `vae/`, a replacement UNet folder) through
/// NN's one checkpoint loader: safetensors (memory-mapped), sharded checkpoints with an index, and `.bin` pickles
/// through the restricted reader.
public enum ComponentWeights {
    /// The weights files diffusers writes for a component, in the order they are looked for: with
    /// `variant: "fp16"` the fp16 files first; otherwise the full-precision files, and the fp16 ones when they are
    /// all there is. Within each precision: one safetensors file, a sharded safetensors index, a pickle, a sharded
    /// pickle index.
    public static func candidates(variant: String?, stem: String = "diffusion_pytorch_model") -> [String] {
        func files(_ infix: String) -> [String] {
            ["\(stem)\(infix).safetensors", "\(stem)\(infix).safetensors.index.json", "\(stem)\(infix).bin", "\(stem)\(infix).bin.index.json"]
        }
        return variant == "fp16" ? files(".fp16") + files("") : files("") + files(".fp16")
    }

    /// The weights file of `folder` (see `candidates`); throws naming the folder and what was looked for.
    public static func file(in folder: String, variant: String?) throws -> String {
        let dir = URL(fileURLWithPath: folder)
        let names = candidates(variant: variant)
        for name in names {
            let path = dir.appendingPathComponent(name).path
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        throw PipelineError(folder, "no weights: expected one of \(names.prefix(4).joined(separator: ", ")) (or their .fp16 variants)")
    }

    /// Loads every parameter of `module` by name from the checkpoint at `path`, strictly: a missing, unexpected or
    /// misshapen tensor is an error naming the file, the tensor and both shapes. `dtype` nil keeps each parameter's
    /// dtype as the file stores it (a zero-copy view of the mapped file when it can be).
    public static func load(_ module: Module, from path: String, dtype: DType? = nil) throws {
        let source: TensorSource
        do { source = try Checkpoint.open(path) } catch { throw PipelineError(path, "\(error)") }
        do {
            try module.load(from: source, strict: true, dtype: dtype)
        } catch {
            throw PipelineError(path, "\(error) (does this file belong to the config.json beside it?)")
        }
    }
}
