import Foundation
import Tensor

/// The one entry point for checkpoint files: opening any supported format as a `TensorSource`, and saving a
/// module's parameters. Formats: safetensors (`.safetensors`), sharded checkpoints (`*.safetensors.index.json`, `*.bin.index.json`),
/// and PyTorch pickles written by `torch.save` (`.bin`, `.pt`, `.pth`, `.ckpt`; zip or legacy). A file with
/// another extension is recognised by its first bytes.
public enum Checkpoint {
    /// The formats `open` reads and `save` writes.
    public enum Format: String, Sendable, CaseIterable {
        case safetensors, sharded, torch
    }

    /// The format of `path` from its name, or from its first bytes when the name says nothing.
    public static func format(of path: String) throws -> Format {
        let lower = path.lowercased()
        if lower.hasSuffix(".safetensors") { return .safetensors }
        if lower.hasSuffix(".index.json") { return .sharded }
        for ext in [".bin", ".pt", ".pth", ".ckpt"] where lower.hasSuffix(ext) { return .torch }
        let file = try MappedFile(path: path)
        if ZipArchive.looksLikeZip(file) || (file.count > 0 && file.base.load(as: UInt8.self) == 0x80) { return .torch }
        return .safetensors
    }

    /// Opens `path` in its format (memory-mapped; headers and pickles checked before any tensor is read).
    public static func open(_ path: String) throws -> TensorSource {
        switch try format(of: path) {
        case .safetensors: return try SafeTensorsFile(path: path)
        case .sharded: return try ShardedCheckpoint(indexPath: path)
        case .torch: return try TorchCheckpoint(path: path)
        }
    }

    /// Writes every parameter of `module` under its state-dict name in `dtype`, streamed tensor by tensor to a
    /// temporary file renamed into place: safetensors with string `metadata`, or a `torch.load`-compatible zip
    /// for `.pt` / `.pth` / `.bin` paths (which cannot hold metadata; passing some is an error).
    public static func save(_ module: Module, to path: String, metadata: [String: String] = [:], dtype: DType = .f32) throws {
        let tensors = module.namedParameters().map { ($0.name, $0.parameter.value.detached) }
        if try format(ofNewFile: path) == .torch {
            guard metadata.isEmpty else { throw TensorError("write '\(path)'", "a torch.save file cannot hold metadata; save as .safetensors") }
            try TorchWriter.write(tensors, dtype: dtype, to: path)
        } else {
            try SafeTensors.write(tensors, metadata: metadata, dtype: dtype, to: path)
        }
    }

    /// Loads `module`'s parameters from the checkpoint at `path` (any format) and returns the file's metadata;
    /// see `Module.load(from:strict:prefix:rename:dtype:)` for the options and errors.
    @discardableResult
    public static func load(_ module: Module, from path: String, strict: Bool = true, prefix: String = "",
                            rename: ((String) -> String?)? = nil, dtype: DType? = nil) throws -> [String: String] {
        let source = try open(path)
        try module.load(from: source, strict: strict, prefix: prefix, rename: rename, dtype: dtype)
        return source.metadata
    }

    static func format(ofNewFile path: String) throws -> Format {
        let lower = path.lowercased()
        for ext in [".bin", ".pt", ".pth", ".ckpt"] where lower.hasSuffix(ext) { return .torch }
        return .safetensors
    }
}
