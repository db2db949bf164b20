/// Upsampling and pooling kernels on (N, C, H, W) tensors.
enum Resample {
    /// Source coordinate and weights for bilinear interpolation along one axis (PyTorch conventions).
    static func taps(_ outSize: Int, _ inSize: Int, alignCorners: Bool) -> [(Int, Int, Float)] {
        (0..<outSize).map { o in
            var src: Float
            if alignCorners {
                src = outSize > 1 ? Float(o) * Float(inSize - 1) / Float(outSize - 1) : 0
            } else {
                src = (Float(o) + 0.5) * Float(inSize) / Float(outSize) - 0.5
                if src < 0 { src = 0 }
            }
            let i0 = Swift.min(Int(src), inSize - 1)
            let i1 = Swift.min(i0 + 1, inSize - 1)
            return (i0, i1, src - Float(i0))
        }
    }

    static func nearestBackward(_ g: Tensor, scale s: Int, inputShape: [Int]) -> Tensor {
        let out = Tensor(zeros: inputShape)
        let planes = inputShape[0] * inputShape[1], h = inputShape[2], w = inputShape[3]
        let gp = g.storage.pointer, op = out.storage.pointer
        Parallel.forEach(planes) { p in
            for y in 0..<(h * s) {
                let grow = gp + (p * h * s + y) * w * s, orow = op + (p * h + y / s) * w
                for x in 0..<(w * s) { orow[x / s] += grow[x] }
            }
        }
        return out
    }

    static func bilinearBackward(_ g: Tensor, inputShape: [Int], alignCorners: Bool) -> Tensor {
        let out = Tensor(zeros: inputShape)
        let planes = inputShape[0] * inputShape[1], h = inputShape[2], w = inputShape[3], oh = g.shape[2], ow = g.shape[3]
        let ty = taps(oh, h, alignCorners: alignCorners), tx = taps(ow, w, alignCorners: alignCorners)
        let gp = g.storage.pointer, op = out.storage.pointer
        Parallel.forEach(planes) { p in
            let src = op + p * h * w
            for y in 0..<oh {
                let (y0, y1, fy) = ty[y]
                for x in 0..<ow {
                    let (x0, x1, fx) = tx[x]
                    let v = gp[(p * oh + y) * ow + x]
                    src[y0 * w + x0] += v * (1 - fy) * (1 - fx)
                    src[y0 * w + x1] += v * (1 - fy) * fx
                    src[y1 * w + x0] += v * fy * (1 - fx)
                    src[y1 * w + x1] += v * fy * fx
                }
            }
        }
        return out
    }

    static func avgPoolBackward(_ g: Tensor, inputShape: [Int], kernel k: Int, stride s: Int) -> Tensor {
        let out = Tensor(zeros: inputShape)
        let planes = inputShape[0] * inputShape[1], h = inputShape[2], w = inputShape[3], oh = g.shape[2], ow = g.shape[3]
        let gp = g.storage.pointer, op = out.storage.pointer, inv = 1 / Float(k * k)
        Parallel.forEach(planes) { p in
            for y in 0..<oh {
                for x in 0..<ow {
                    let v = gp[(p * oh + y) * ow + x] * inv
                    for i in 0..<k { for j in 0..<k { op[(p * h + y * s + i) * w + x * s + j] += v } }
                }
            }
        }
        return out
    }

    static func maxPoolBackward(_ g: Tensor, inputShape: [Int], argmax: [Int32]) -> Tensor {
        let out = Tensor(zeros: inputShape)
        let h = inputShape[2], w = inputShape[3], l = g.shape[2] * g.shape[3]
        let gp = g.storage.pointer, op = out.storage.pointer
        for (i, a) in argmax.enumerated() { op[(i / l) * h * w + Int(a)] += gp[i] }
        return out
    }
}

extension Tensor {
    private func checkImage(_ op: String) throws -> (Int, Int, Int, Int) {
        guard rank == 4 else { throw TensorError(op, "expects (N, C, H, W), got \(shapeText(shape))") }
        return (shape[0], shape[1], shape[2], shape[3])
    }

    /// Nearest-neighbour upsampling by an integer factor: (N, C, H, W) -> (N, C, H*s, W*s).
    public func upsampleNearest(scale s: Int) throws -> Tensor {
        let (n, c, h, w) = try checkImage("upsampleNearest")
        guard s >= 1 else { throw TensorError("upsampleNearest", "scale \(s) must be >= 1") }
        let out = Tensor.empty([n, c, h * s, w * s])
        let xp = storage.pointer, op = out.storage.pointer
        Parallel.forEach(n * c) { p in
            for y in 0..<(h * s) {
                let srow = xp + (p * h + y / s) * w, orow = op + (p * h * s + y) * w * s
                for x in 0..<(w * s) { orow[x] = srow[x / s] }
            }
        }
        return Tensor.record(out, [self], .upsampleNearest(s))
    }

    /// Bilinear resize to (height, width) with PyTorch's `align_corners` convention.
    public func upsampleBilinear(height oh: Int, width ow: Int, alignCorners: Bool = false) throws -> Tensor {
        let (n, c, h, w) = try checkImage("upsampleBilinear")
        guard oh > 0, ow > 0, h > 0, w > 0 else { throw TensorError("upsampleBilinear", "empty size \(oh)x\(ow) or input \(shapeText(shape))") }
        let ty = Resample.taps(oh, h, alignCorners: alignCorners), tx = Resample.taps(ow, w, alignCorners: alignCorners)
        let out = Tensor.empty([n, c, oh, ow])
        let xp = storage.pointer, op = out.storage.pointer
        Parallel.forEach(n * c) { p in
            let src = xp + p * h * w
            for y in 0..<oh {
                let (y0, y1, fy) = ty[y]
                for x in 0..<ow {
                    let (x0, x1, fx) = tx[x]
                    let top = src[y0 * w + x0] * (1 - fx) + src[y0 * w + x1] * fx
                    let bottom = src[y1 * w + x0] * (1 - fx) + src[y1 * w + x1] * fx
                    op[(p * oh + y) * ow + x] = top * (1 - fy) + bottom * fy
                }
            }
        }
        return Tensor.record(out, [self], .upsampleBilinear(alignCorners: alignCorners))
    }

    /// Average pooling with a square kernel and stride, no padding.
    public func avgPool2d(kernel k: Int, stride s: Int? = nil) throws -> Tensor {
        let (n, c, h, w) = try checkImage("avgPool2d")
        let st = s ?? k
        guard k >= 1, st >= 1, h >= k, w >= k else { throw TensorError("avgPool2d", "kernel \(k) stride \(st) does not fit \(shapeText(shape))") }
        let oh = (h - k) / st + 1, ow = (w - k) / st + 1
        let out = Tensor.empty([n, c, oh, ow])
        let xp = storage.pointer, op = out.storage.pointer, inv = 1 / Float(k * k)
        Parallel.forEach(n * c) { p in
            for y in 0..<oh {
                for x in 0..<ow {
                    var acc: Float = 0
                    for i in 0..<k { for j in 0..<k { acc += xp[(p * h + y * st + i) * w + x * st + j] } }
                    op[(p * oh + y) * ow + x] = acc * inv
                }
            }
        }
        return Tensor.record(out, [self], .avgPool2d(kernel: k, stride: st))
    }

    /// Max pooling with a square kernel and stride, no padding; the gradient goes to the first maximum.
    public func maxPool2d(kernel k: Int, stride s: Int? = nil) throws -> Tensor {
        let (n, c, h, w) = try checkImage("maxPool2d")
        let st = s ?? k
        guard k >= 1, st >= 1, h >= k, w >= k else { throw TensorError("maxPool2d", "kernel \(k) stride \(st) does not fit \(shapeText(shape))") }
        let oh = (h - k) / st + 1, ow = (w - k) / st + 1
        let out = Tensor.empty([n, c, oh, ow])
        var argmax: [Int32] = []
        let xp = storage.pointer, op = out.storage.pointer
        let argmaxStorage = UnsafeMutablePointer<Int32>.allocate(capacity: Swift.max(out.count, 1))
        defer { argmaxStorage.deallocate() }
        do {
            let ap = argmaxStorage
            Parallel.forEach(n * c) { p in
                for y in 0..<oh {
                    for x in 0..<ow {
                        var best = -Float.infinity, at = 0
                        for i in 0..<k {
                            for j in 0..<k {
                                let idx = (y * st + i) * w + x * st + j
                                let v = xp[p * h * w + idx]
                                if v > best { best = v; at = idx }
                            }
                        }
                        op[(p * oh + y) * ow + x] = best
                        ap[(p * oh + y) * ow + x] = Int32(at)
                    }
                }
            }
        }
        argmax = Array(UnsafeBufferPointer(start: argmaxStorage, count: out.count))
        return Tensor.record(out, [self], .maxPool2d(kernel: k, stride: st, argmax: argmax))
    }
}
