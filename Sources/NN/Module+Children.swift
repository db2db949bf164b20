import Tensor

extension Module {
    /// The default `namedChildren`: the stored properties that are modules (directly, optional, in arrays or as an
    /// enum case's payload, found by reflection), each named by where its first parameter appears in this module's `namedParameters`.
    /// So every module gets PyTorch names for its children without listing them; a child without parameters,
    /// or one whose parameters this module does not report, is left out. A child whose parameters this module reports
    /// under their own unprefixed names (a part folded into its parent's namespace, as the UNet's encoder half) is
    /// not itself a child: its children are, under their names.
    public func namedChildren() -> [(name: String, module: Module)] {
        var nameOf: [ObjectIdentifier: String] = [:]
        for (name, p) in namedParameters() where nameOf[ObjectIdentifier(p)] == nil { nameOf[ObjectIdentifier(p)] = name }
        var out: [(name: String, module: Module)] = []
        var seen: Set<ObjectIdentifier> = [ObjectIdentifier(self)]
        func visit(_ value: Any, depth: Int) {
            if let m = value as? Module {
                guard seen.insert(ObjectIdentifier(m)).inserted, let (inner, p) = m.namedParameters().first,
                      let outer = nameOf[ObjectIdentifier(p)] else { return }
                if outer.hasSuffix("." + inner) {
                    out.append((String(outer.dropLast(inner.count + 1)), m))
                } else if outer == inner {
                    // A part whose parameters this module reports under their own names (the UNet's encoder half):
                    // its children are this module's, under the same names.
                    for child in m.namedChildren() where seen.insert(ObjectIdentifier(child.module)).inserted {
                        out.append(child)
                    }
                }
                return
            }
            guard depth < 4 else { return }
            let mirror = Mirror(reflecting: value)
            switch mirror.displayStyle {
            case .optional, .collection, .tuple, .dictionary, .enum:      // .enum: a case's payload (Transformer2DModel.Projection)
                for c in mirror.children { visit(c.value, depth: depth + 1) }
            case .some(.struct) where depth == 0:
                for c in mirror.children { visit(c.value, depth: depth + 1) }
            default: break
            }
        }
        var mirror: Mirror? = Mirror(reflecting: self)
        while let m = mirror {
            for c in m.children { visit(c.value, depth: 1) }
            mirror = m.superclassMirror
        }
        return out
    }
}

/// Tensors held in memory, as a `TensorSource` (what `Module.load(from:)` takes; e.g. a state dict built in code).
public final class DictionarySource: TensorSource {
    public let label: String
    public let names: [String]
    public let metadata: [String: String]
    private let tensors: [String: Tensor]

    /// The tensors `tensors` (names sorted); `label` names them in errors.
    public init(_ tensors: [String: Tensor], metadata: [String: String] = [:], label: String = "state dict") {
        self.tensors = tensors
        self.names = tensors.keys.sorted()
        self.metadata = metadata
        self.label = label
    }

    public func info(_ name: String) -> TensorInfo? {
        tensors[name].map { TensorInfo(elementType: ElementType(sourceDType($0)), shape: $0.shape) }
    }

    public func tensor(_ name: String, dtype: DType?) throws -> Tensor {
        guard let t = tensors[name] else { throw TensorError(label, "no tensor named '\(name)'") }
        return try convertTensor(t, to: dtype)
    }
}
