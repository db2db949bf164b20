import Tensor

/// What a load did: the module names filled, and those the options left out.
public struct LoadReport: Equatable {
    /// Parameters loaded, by module name.
    public var loaded: [String] = []
    /// Module parameters with no tensor in the source.
    public var missing: [String] = []
    /// Source tensors (after prefix and rename) that name no module parameter.
    public var unexpected: [String] = []
}

extension Module {
    /// Loads parameters by name from any checkpoint source.
    ///
    /// Each source name is taken only if it starts with `prefix` (which is removed; names without it are skipped),
    /// then passed through `rename` (nil drops the tensor; `NameMap` builds such functions). Every shape is checked
    /// before anything is loaded, so a failed load changes nothing. Tensors arrive in `dtype`, or when nil in the
    /// dtype the file holds; a tensor already in that dtype is a zero-copy view of a mapped file.
    ///
    /// Throws an error naming the source and the tensor, with both shapes, on a shape mismatch; with `strict`, also
    /// when a module parameter is missing from the source or the source has tensors the module does not.
    @discardableResult
    public func load(from source: TensorSource, strict: Bool = true, prefix: String = "",
                     rename: ((String) -> String?)? = nil, dtype: DType? = nil) throws -> LoadReport {
        let named = namedParameters()
        var byName: [String: Parameter] = [:]
        for (name, p) in named { byName[name] = p }
        var sourceName: [String: String] = [:]     // module name -> source name
        var report = LoadReport()
        for name in source.names where prefix.isEmpty || name.hasPrefix(prefix) {
            guard let target = rename.map({ $0(String(name.dropFirst(prefix.count))) }) ?? String(name.dropFirst(prefix.count)) else { continue }
            guard byName[target] != nil else { report.unexpected.append(target); continue }
            if let other = sourceName[target] {
                throw TensorError(source.label, "tensors '\(other)' and '\(name)' both map to parameter '\(target)'")
            }
            sourceName[target] = name
        }
        report.missing = named.map(\.name).filter { sourceName[$0] == nil }
        if strict, !report.missing.isEmpty || !report.unexpected.isEmpty {
            func list(_ names: [String]) -> String {
                names.prefix(5).map { $0.hasSuffix(")") ? "'\($0)" : "'\($0)'" }.joined(separator: ", ") + (names.count > 5 ? " and \(names.count - 5) more" : "")
            }
            var parts: [String] = []
            let shapes = report.missing.map { "\($0)' (shape \(shapeString(byName[$0]?.shape ?? [])))" }
            if !report.missing.isEmpty { parts.append("missing tensor\(report.missing.count == 1 ? "" : "s") \(list(shapes))") }
            if !report.unexpected.isEmpty { parts.append("unexpected tensor\(report.unexpected.count == 1 ? "" : "s") \(list(report.unexpected))") }
            throw TensorError(source.label, parts.joined(separator: "; "))
        }
        for (name, p) in named {
            guard let s = sourceName[name], let info = source.info(s) else { continue }
            guard info.shape == p.shape else {
                let alias = s == name ? "" : " (as '\(s)' in the file)"
                throw TensorError(source.label, "tensor '\(name)'\(alias) has shape \(shapeString(info.shape)) in the file but the model expects \(shapeString(p.shape))")
            }
        }
        for (name, p) in named {
            guard let s = sourceName[name] else { continue }
            try loadParameter(p, from: source.tensor(s, dtype: dtype), name: name)
            report.loaded.append(name)
        }
        return report
    }

    /// Modules and their dotted names: this one as "", then every descendant (see `namedChildren`).
    public func namedModules() -> [(name: String, module: Module)] {
        var out: [(name: String, module: Module)] = [("", self)]
        var seen: Set<ObjectIdentifier> = [ObjectIdentifier(self)]
        func walk(_ m: Module, _ prefix: String, _ depth: Int) {
            guard depth < 64 else { return }
            for (name, child) in m.namedChildren() where seen.insert(ObjectIdentifier(child)).inserted {
                let full = prefix.isEmpty ? name : prefix + "." + name
                out.append((full, child))
                walk(child, full, depth + 1)
            }
        }
        walk(self, "", 0)
        return out
    }

    /// The module called `name` (dotted, as in `namedModules`), or nil.
    public func module(named name: String) -> Module? {
        if name.isEmpty { return self }
        var current: Module = self
        var rest = Substring(name)
        while !rest.isEmpty {
            guard let (n, child) = current.namedChildren().first(where: { rest == $0.name || rest.hasPrefix($0.name + ".") }) else { return nil }
            current = child
            rest = rest.dropFirst(n.count)
            if rest.hasPrefix(".") { rest = rest.dropFirst() }
        }
        return current
    }
}
