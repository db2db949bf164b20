import Tensor

// Where checkpoint bytes become tensors and tensors become checkpoint bytes: the only place the formats touch the
// Tensor storage API.

/// The tensor `shape` of `element`s at `raw`, in `dtype` (nil: the file's dtype, or f32 for integer and f64
/// data). When no conversion is needed and `raw` is aligned for the element type, the result is a read-only,
/// zero-copy view that keeps `owner` (the mapped file) alive; otherwise it is converted (in parallel), and the
/// mapped pages it was read from are dropped from the resident set (`MappedFile.dropPages`), so that a converted
/// load holds the converted tensors only, not the file's pages as well.
func makeTensor(_ raw: UnsafeRawPointer, element: ElementType, shape: [Int], owner: AnyObject, dtype: DType?) throws -> Tensor {
    let target = dtype ?? element.dtype ?? .f32
    if element.dtype == target, Int(bitPattern: raw) % element.size == 0 {
        return try Tensor(viewing: raw, dtype: target, shape: shape, owner: owner)
    }
    let converted = try Tensor(converting: raw, from: element, shape: shape, to: target)
    (owner as? MappedFile)?.dropPages(raw, count: converted.count * element.size)
    return converted
}

/// The little-endian bytes of `t` in `dtype`: its own bytes when already so, otherwise one converted copy of this
/// tensor (round to nearest even), alive only during `body`.
func withConvertedBytes<R>(_ t: Tensor, as dtype: DType, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
    try t.to(dtype).withRawBytes { try body($0) }
}

/// Puts a loaded tensor into a parameter without copying (views of a mapped file stay views).
func loadParameter(_ p: Parameter, from t: Tensor, name: String) throws {
    try p.replace(with: t, name: name)
}

/// The dtype a tensor is stored in.
func sourceDType(_ t: Tensor) -> DType { t.dtype }

/// `t` in `dtype` (itself when nil or equal).
func convertTensor(_ t: Tensor, to dtype: DType?) throws -> Tensor { dtype.map { t.to($0) } ?? t }
