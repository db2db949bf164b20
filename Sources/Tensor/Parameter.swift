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

    /// Replaces the values with a copy of `newValue`; throws an error naming `name` and both shapes when they differ.
    public func assign(_ newValue: Tensor, name: String = "parameter") throws {
        guard newValue.shape == value.shape else {
            throw TensorError("load '\(name)'", "checkpoint shape \(shapeText(newValue.shape)) does not match parameter shape \(shapeText(value.shape))")
        }
        value.storage.pointer.update(from: newValue.storage.pointer, count: value.count)
        value.zeroGrad()
    }

    /// Mutable access to the values in place (optimizers, initialisers); graphs already recorded see the change.
    public func withMutableValues<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeMutableBufferPointer(start: value.storage.pointer, count: value.count))
    }
}
