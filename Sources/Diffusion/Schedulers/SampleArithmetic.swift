import Tensor

/// Element-wise arithmetic on latents for the schedulers, one rounded float32 operation at a time in the order of
/// diffusers' tensor expressions (so results match torch's element-wise kernels).
enum SampleArithmetic {
    /// Throws unless every tensor has the shape of the first.
    static func checkShapes(_ tensors: [(String, Tensor)], place: String) throws {
        guard let (firstName, first) = tensors.first else { return }
        for (name, t) in tensors.dropFirst() where t.shape != first.shape {
            throw SchedulerError(place, "\(name) has shape \(t.shape) but \(firstName) has \(first.shape)")
        }
        for (name, t) in tensors where t.count == 0 {
            throw SchedulerError(place, "\(name) is empty (shape \(t.shape))")
        }
    }

    /// `f(a[i], b[i])` for every element.
    static func map(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        var out = Tensor.empty(a.shape)
        a.withValues { x in b.withValues { y in out.withMutableValues { o in
            for i in 0..<o.count { o[i] = f(x[i], y[i]) }
        } } }
        return out
    }

    /// `f(a[i])` for every element.
    static func map(_ a: Tensor, _ f: (Float) -> Float) -> Tensor {
        var out = Tensor.empty(a.shape)
        a.withValues { x in out.withMutableValues { o in
            for i in 0..<o.count { o[i] = f(x[i]) }
        } }
        return out
    }

    /// `f(a[i], b[i], c[i])` for every element.
    static func map(_ a: Tensor, _ b: Tensor, _ c: Tensor, _ f: (Float, Float, Float) -> Float) -> Tensor {
        var out = Tensor.empty(a.shape)
        a.withValues { x in b.withValues { y in c.withValues { z in out.withMutableValues { o in
            for i in 0..<o.count { o[i] = f(x[i], y[i], z[i]) }
        } } } }
        return out
    }

    /// Standard normals of `shape` drawn as `randn_tensor(shape, generator=generator)` draws them.
    static func noise(like shape: [Int], generator: TorchGenerator?, place: String) throws -> Tensor {
        guard let generator else {
            throw SchedulerError(place, "this step draws noise and needs a generator (diffusers would use torch's global one)")
        }
        return generator.randn(shape)
    }
}
