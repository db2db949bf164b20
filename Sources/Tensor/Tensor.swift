/// A float32 tensor: a contiguous row-major (NCHW for images) buffer with a shape, and, when it takes part in
/// differentiation, a node in the autodiff graph.
///
/// `Tensor` is a copy-on-write value: copies share storage until one of them is written through
/// `withMutableValues`. Reshapes are views that share storage.
public struct Tensor {
    /// The buffer; shared by copies and reshapes.
    public internal(set) var storage: TensorStorage
    /// Dimensions, outermost first, e.g. `[N, C, H, W]`.
    public internal(set) var shape: [Int]
    /// Autodiff node; `nil` when the tensor takes no part in differentiation.
    var node: GradNode?

    /// Wraps `storage` with `shape`; the element counts must agree (an internal invariant).
    init(storage: TensorStorage, shape: [Int], node: GradNode? = nil) {
        precondition(shape.reduce(1, *) == storage.count, "Tensor: shape \(shapeText(shape)) does not match storage of \(storage.count)")
        self.storage = storage
        self.shape = shape
        self.node = node
    }

    /// A tensor of zeros (negative sizes count as 0).
    public init(zeros shape: [Int]) {
        let shape = shape.map { Swift.max(0, $0) }
        self.init(storage: TensorStorage(count: shape.reduce(1, *)), shape: shape)
    }

    /// A tensor filled with `value` (negative sizes count as 0).
    public init(repeating value: Float, shape: [Int]) {
        let shape = shape.map { Swift.max(0, $0) }
        let s = TensorStorage(count: shape.reduce(1, *), zeroed: false)
        s.pointer.initialize(repeating: value, count: s.count)
        self.init(storage: s, shape: shape)
    }

    /// A tensor with the given values in row-major order; throws when the count does not match the shape.
    public init(_ values: [Float], shape: [Int]) throws {
        let n = shape.reduce(1, *)
        guard values.count == n, shape.allSatisfy({ $0 >= 0 }) else {
            throw TensorError("Tensor.init", "\(values.count) values do not fill shape \(shapeText(shape)) (\(n) elements)")
        }
        let s = values.withUnsafeBufferPointer { TensorStorage(copying: $0) }
        self.init(storage: s, shape: shape)
    }

    /// A scalar (shape `[]`).
    public init(scalar: Float) {
        self.init(repeating: scalar, shape: [])
    }

    /// An uninitialised tensor for kernels that write every element.
    static func empty(_ shape: [Int]) -> Tensor {
        let shape = shape.map { Swift.max(0, $0) }
        return Tensor(storage: TensorStorage(count: shape.reduce(1, *), zeroed: false), shape: shape)
    }

    /// Number of elements.
    public var count: Int { storage.count }
    /// Number of dimensions.
    public var rank: Int { shape.count }
    /// The elements in row-major order.
    public var values: [Float] { Array(UnsafeBufferPointer(start: storage.pointer, count: count)) }
    /// The single element of a one-element tensor (e.g. a loss).
    public var item: Float { storage.pointer[0] }

    /// Read-only access to the elements.
    @inlinable public func withValues<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// Write access to the elements; copies the storage first when another tensor shares it.
    public mutating func withMutableValues<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// Size of dimension `axis`; negative axes count from the end.
    public func size(_ axis: Int) -> Int { shape[axis < 0 ? axis + rank : axis] }

    /// This tensor cut off from the graph (shares storage).
    public var detached: Tensor { Tensor(storage: storage, shape: shape) }

    /// A deep copy with its own storage, cut off from the graph.
    public func copy() -> Tensor { Tensor(storage: storage.copy(), shape: shape) }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = values.prefix(8).map { String(format: "%.4g", Double($0)) }.joined(separator: ", ")
        return "Tensor(\(shapeText(shape)): [\(shown)\(count > 8 ? ", ..." : "")])"
    }
}

import Foundation
