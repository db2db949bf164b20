/// A tensor: a contiguous row-major (NCHW for images) buffer with a shape, and, when it takes part in
/// differentiation, a node in the autodiff graph.
///
/// `Tensor` is a copy-on-write value: copies share storage until one of them is written through
/// `withMutableValues`. Reshapes are views that share storage.
///
/// Storage is float32 by default; f16 and bf16 hold weights at half the memory (`to(_:)`, checkpoint views).
/// Every operation computes in float32 and returns float32: it reads a half-precision input through a float32
/// copy, and the layers that matter for large models (linear, convolution) convert their weights per call.
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

    /// An uninitialised tensor for kernels that write every element (or loaders that fill it); large ones touch no
    /// memory until written.
    public static func empty(_ shape: [Int], dtype: DType = .f32) -> Tensor {
        let shape = shape.map { Swift.max(0, $0) }
        return Tensor(storage: TensorStorage(count: shape.reduce(1, *), dtype: dtype, zeroed: false), shape: shape)
    }

    /// A zero-copy, read-only tensor over `count(shape) * dtype.size` bytes at `bytes`, kept alive by `owner` (e.g. a
    /// memory-mapped file). Throws when a dimension is negative or the element count overflows.
    public init(viewing bytes: UnsafeRawPointer, dtype: DType, shape: [Int], owner: AnyObject) throws {
        let n = try checkedCount(shape, context: "Tensor(viewing:)")
        self.init(storage: TensorStorage(viewing: bytes, count: n, dtype: dtype, owner: owner), shape: shape)
    }

    /// A tensor of `dtype` holding the elements at `raw` (little-endian, `from`-typed, alignment not required),
    /// converted with round to nearest even. Throws when a dimension is negative or the count overflows.
    public init(converting raw: UnsafeRawPointer, from source: ElementType, shape: [Int], to dtype: DType = .f32) throws {
        let n = try checkedCount(shape, context: "Tensor(converting:)")
        let s = TensorStorage(count: n, dtype: dtype, zeroed: false)
        BulkConvert.run(raw, from: source, s.raw, to: dtype, count: n)
        self.init(storage: s, shape: shape)
    }

    /// The element type of the storage.
    public var dtype: DType { storage.dtype }

    /// This tensor stored as `dtype` (round to nearest even when narrowing); itself when already so. The result
    /// is cut off from the graph when the dtype changes.
    public func to(_ dtype: DType) -> Tensor {
        dtype == self.dtype ? self : Tensor(storage: storage.converted(to: dtype), shape: shape)
    }

    /// The elements as float32 for the duration of `body`, for any dtype: the buffer itself for f32, a temporary
    /// converted copy (not kept) for f16 and bf16.
    public func withFloat32Values<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        if dtype == .f32 { return try body(UnsafeBufferPointer(start: storage.pointer, count: count)) }
        let temp = TensorStorage(count: count, dtype: .f32, zeroed: false)
        BulkConvert.run(storage.raw, from: ElementType(dtype), temp.raw, to: .f32, count: count)
        return try withExtendedLifetime(temp) { try body(UnsafeBufferPointer(start: temp.pointer, count: count)) }
    }

    /// The stored bytes (`count * dtype.size`, little-endian) for the duration of `body`.
    public func withRawBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage.raw, count: storage.byteCount))
    }

    /// Number of elements.
    public var count: Int { storage.count }
    /// Number of dimensions.
    public var rank: Int { shape.count }
    /// The elements in row-major order, as float32.
    public var values: [Float] { withFloat32Values { Array($0) } }
    /// The single element of a one-element tensor (e.g. a loss), as float32.
    public var item: Float { withFloat32Values { $0.first ?? 0 } }

    /// Read-only access to the elements as float32 (for f16 and bf16, through the storage's kept float32 copy;
    /// `withFloat32Values` does not keep one).
    @inlinable public func withValues<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// Write access to the elements as float32. Copies the storage first when another tensor shares it or it views
    /// someone else's bytes; a half-precision tensor becomes float32.
    public mutating func withMutableValues<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        if storage.dtype != .f32 {
            storage = storage.converted(to: .f32)
        } else if storage.isReadOnly || !isKnownUniquelyReferenced(&storage) {
            storage = storage.copy()
        }
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// Size of dimension `axis`; negative axes count from the end.
    public func size(_ axis: Int) -> Int { shape[axis < 0 ? axis + rank : axis] }

    /// This tensor cut off from the graph (shares storage).
    public var detached: Tensor { Tensor(storage: storage, shape: shape) }

    /// A deep copy with its own storage (same dtype), cut off from the graph.
    public func copy() -> Tensor { Tensor(storage: storage.copy(), shape: shape) }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = values.prefix(8).map { String(format: "%.4g", Double($0)) }.joined(separator: ", ")
        return "Tensor(\(shapeText(shape))\(dtype == .f32 ? "" : " " + dtype.rawValue)): [\(shown)\(count > 8 ? ", ..." : "")])"
    }
}

import Foundation

/// The element count of `shape`; throws (naming `context`) on a negative dimension or an overflowing product.
func checkedCount(_ shape: [Int], context: String) throws -> Int {
    var n = 1
    for d in shape {
        guard d >= 0 else { throw TensorError(context, "shape \(shapeText(shape)) has a negative dimension") }
        let (p, overflow) = n.multipliedReportingOverflow(by: d)
        guard !overflow else { throw TensorError(context, "shape \(shapeText(shape)) overflows") }
        n = p
    }
    return n
}
