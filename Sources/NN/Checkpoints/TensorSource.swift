import Tensor

/// What a checkpoint says about one tensor before it is read: the element type stored and the shape.
public struct TensorInfo: Hashable {
    /// The element type in the file.
    public let elementType: ElementType
    /// Dimensions, outermost first.
    public let shape: [Int]

    /// Creates the description of one stored tensor.
    public init(elementType: ElementType, shape: [Int]) {
        self.elementType = elementType
        self.shape = shape
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
}

/// A read-only collection of named tensors: one checkpoint file, a sharded set of files, or a renamed view of
/// another source. Every checkpoint format implements it; `Module.load(from:)` reads any of them.
///
/// Requirements: `names` lists every tensor once; `info(name)` is nil exactly for names not in `names`;
/// `tensor(name, dtype:)` throws an error naming `label` and the tensor when it is absent or unreadable.
public protocol TensorSource: AnyObject {
    /// How errors name this source, e.g. `safetensors 'unet.safetensors'`.
    var label: String { get }
    /// Every tensor name, in a stable order (file order where the format has one).
    var names: [String] { get }
    /// String metadata (safetensors `__metadata__`, non-tensor scalars of a pickle).
    var metadata: [String: String] { get }
    /// Element type and shape of `name`, or nil when the source has no such tensor.
    func info(_ name: String) -> TensorInfo?
    /// The tensor `name` in `dtype`, or, when `dtype` is nil, in the dtype the file holds (f32 for element types
    /// that are not a storage dtype). A tensor stored in the requested dtype is a zero-copy view where the
    /// format allows it (memory-mapped files); others are converted in parallel.
    func tensor(_ name: String, dtype: DType?) throws -> Tensor
}

extension TensorSource {
    /// The tensor `name` in the dtype the file holds.
    public func tensor(_ name: String) throws -> Tensor { try tensor(name, dtype: nil) }

    /// Whether the source holds `name`.
    public func contains(_ name: String) -> Bool { info(name) != nil }

    /// Every tensor, each in its file's dtype (or `dtype`).
    public func allTensors(dtype: DType? = nil) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for name in names { out[name] = try tensor(name, dtype: dtype) }
        return out
    }
}

/// Number of elements of `shape`, or nil when the product overflows or a size is negative.
func checkedCount(_ shape: [Int]) -> Int? {
    var n = 1
    for d in shape {
        guard d >= 0 else { return nil }
        let (p, o) = n.multipliedReportingOverflow(by: d)
        if o { return nil }
        n = p
    }
    return n
}

/// `[2, 3, 4]` for error messages.
func shapeString(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }
