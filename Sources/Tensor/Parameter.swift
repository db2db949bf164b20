/// A learnable tensor held by reference, so modules and optimizers see the same values and gradient.
public final class Parameter {
    /// The current values: a graph leaf that requires grad unless the parameter is frozen.
    public private(set) var value: Tensor

    /// Wraps `value` as a trainable leaf (shares its storage).
    public init(_ value: Tensor) { self.value = value.requiringGrad() }

    /// Shape of the parameter.
    public var shape: [Int] { value.shape }
    /// The gradient accumulated by `backward` since the last `zeroGrad`.
    public var grad: Tensor? { value.grad }

    /// A frozen parameter records no graph and gets no gradient (LoRA base weights, fine-tuning).
    public var isFrozen: Bool {
        get { !value.requiresGrad }
        set { value.requiresGrad = !newValue }
    }

    /// Drops the accumulated gradient.
    public func zeroGrad() { value.zeroGrad() }

    /// The element type the values are stored in.
    public var dtype: DType { value.dtype }

    /// Copies `newValue`'s values into the parameter, converting them to the parameter's dtype (round to nearest
    /// even); throws an error naming `name` and both shapes when they differ.
    public func assign(_ newValue: Tensor, name: String = "parameter") throws {
        guard newValue.shape == value.shape else {
            throw TensorError("load '\(name)'", "checkpoint shape \(shapeText(newValue.shape)) does not match parameter shape \(shapeText(value.shape))")
        }
        if value.storage.isReadOnly || !isKnownUniquelyReferenced(&value.storage) {
            value.storage = TensorStorage(count: value.count, dtype: value.dtype, zeroed: false)
        }
        BulkConvert.run(newValue.storage.raw, from: ElementType(newValue.dtype), value.storage.raw, to: value.dtype, count: value.count)
        value.zeroGrad()
    }

    /// Makes `newValue` the parameter's values without copying: its storage (any dtype, possibly a read-only view of
    /// a mapped file) is shared. Throws an error naming `name` and both shapes when they differ. The parameter keeps
    /// its graph leaf and frozen state.
    public func replace(with newValue: Tensor, name: String = "parameter") throws {
        guard newValue.shape == value.shape else {
            throw TensorError("load '\(name)'", "checkpoint shape \(shapeText(newValue.shape)) does not match parameter shape \(shapeText(value.shape))")
        }
        value.storage = newValue.storage
        value.zeroGrad()
    }

    /// Stores the values as `dtype` from now on (round to nearest even); nothing happens when already so.
    public func convert(to dtype: DType) {
        guard dtype != value.dtype else { return }
        value.storage = value.storage.converted(to: dtype)
    }

    /// Mutable access to the values in place as float32 (optimizers, initialisers); graphs already recorded see the
    /// change. A half-precision or mapped parameter becomes an owned float32 one first.
    public func withMutableValues<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        if value.dtype != .f32 {
            value.storage = value.storage.converted(to: .f32)
        } else if value.storage.isReadOnly {
            value.storage = value.storage.copy()
        }
        return try body(UnsafeMutableBufferPointer(start: value.storage.pointer, count: value.count))
    }
}
