import Tensor

/// Saving and loading a module's parameters as safetensors, by PyTorch state-dict name.
public enum Checkpoint {
    /// Writes every parameter of `module` (F32 or F16) with string metadata, e.g. `["config": json]`.
    public static func save(_ module: Module, to path: String, metadata: [String: String] = [:],
                            dtype: SafeTensorsDType = .f32) throws {
        try SafeTensors.write(module.stateDict(), metadata: metadata, dtype: dtype, to: path)
    }

    /// Loads parameters by name from a memory-mapped safetensors file and returns its metadata.
    /// Throws an error naming the tensor and both shapes on a mismatch; with `strict`, also on names missing
    /// from the file or present in the file but not in the module.
    @discardableResult
    public static func load(_ module: Module, from path: String, strict: Bool = true) throws -> [String: String] {
        let file = try SafeTensorsFile(path: path)
        let named = module.namedParameters()
        if strict {
            let known = Set(named.map(\.name))
            let missing = named.map(\.name).filter { file.entries[$0] == nil }
            let unexpected = file.entries.keys.filter { !known.contains($0) }.sorted()
            if !missing.isEmpty || !unexpected.isEmpty {
                throw TensorError("checkpoint '\(path)'", "missing tensors \(missing.prefix(5)); unexpected tensors \(unexpected.prefix(5))")
            }
        }
        for (name, p) in named where file.entries[name] != nil {
            try p.assign(file.tensor(name), name: name)
        }
        return file.metadata
    }
}
