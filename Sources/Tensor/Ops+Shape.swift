/// Kernels for the shape primitives' backward rules.
enum Shapes {
    /// Zeros of `inputShape` with `g` written at `start` along `axis`.
    static func sliceBackward(_ g: Tensor, inputShape: [Int], axis: Int, start: Int) -> Tensor {
        let out = Tensor(zeros: inputShape)
        let outer = inputShape[..<axis].reduce(1, *), inner = inputShape[(axis + 1)...].reduce(1, *)
        let len = g.shape[axis], full = inputShape[axis]
        let src = g.storage.pointer, dst = out.storage.pointer
        for o in 0..<outer {
            (dst + (o * full + start) * inner).update(from: src + o * len * inner, count: len * inner)
        }
        return out
    }

    /// Routes `g` (input shape with `axis` of size 1) to the positions of the maxima.
    static func maxBackward(_ g: Tensor, inputShape: [Int], axis: Int, argmax: [Int32]) -> Tensor {
        let out = Tensor(zeros: inputShape)
        let inner = inputShape[(axis + 1)...].reduce(1, *), len = inputShape[axis]
        let src = g.storage.pointer, dst = out.storage.pointer
        for (i, a) in argmax.enumerated() {
            let o = i / inner, j = i % inner
            dst[(o * len + Int(a)) * inner + j] = src[i]
        }
        return out
    }
}

extension Tensor {
    /// The same elements with another shape (a view sharing storage). One dimension may be -1.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        var target = newShape
        if let hole = target.firstIndex(of: -1) {
            let known = target.enumerated().filter { $0.offset != hole }.map(\.element).reduce(1, *)
            guard known > 0, count % known == 0 else {
                throw TensorError("reshape", "cannot infer -1 in \(shapeText(newShape)) for \(count) elements of \(shapeText(shape))")
            }
            target[hole] = count / known
        }
        guard target.allSatisfy({ $0 >= 0 }), target.reduce(1, *) == count else {
            throw TensorError("reshape", "\(shapeText(shape)) (\(count) elements) cannot become \(shapeText(newShape))")
        }
        return Tensor.record(Tensor(storage: storage, shape: target), [self], .reshape)
    }

    /// Dimensions reordered: output dimension i is input dimension `perm[i]`.
    public func permuted(_ perm: [Int]) throws -> Tensor {
        guard perm.count == rank, Set(perm) == Set(0..<rank) else {
            throw TensorError("permute", "\(perm) is not a permutation of the \(rank) dimensions of \(shapeText(shape))")
        }
        let outShape = perm.map { shape[$0] }
        var inStrides = [Int](repeating: 1, count: rank)
        for i in stride(from: rank - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * shape[i + 1] }
        let strides = perm.map { inStrides[$0] }
        let out = Tensor.empty(outShape)
        let src = storage.pointer, dst = out.storage.pointer
        if rank == 0 { dst[0] = src[0] } else {
            let last = outShape[rank - 1], ls = strides[rank - 1]
            Broadcast.forEachRow(outShape, strides, strides) { row, off, _ in
                let base = dst + row * last
                for j in 0..<last { base[j] = src[off + j * ls] }
            }
        }
        return Tensor.record(out, [self], .permute(perm))
    }

    /// Swaps two dimensions.
    public func transposed(_ a: Int, _ b: Int) throws -> Tensor {
        var perm = Array(0..<rank)
        guard a >= 0, b >= 0, a < rank, b < rank else {
            throw TensorError("transpose", "dimensions \(a), \(b) out of range for \(shapeText(shape))")
        }
        perm.swapAt(a, b)
        return try permuted(perm)
    }

    /// Joins tensors along `axis`; all other dimensions must match.
    public static func concat(_ parts: [Tensor], axis: Int) throws -> Tensor {
        guard let first = parts.first else { throw TensorError("concat", "no tensors to join") }
        guard axis >= 0, axis < first.rank else {
            throw TensorError("concat", "axis \(axis) out of range for \(shapeText(first.shape))")
        }
        for p in parts where p.rank != first.rank || p.shape[..<axis] != first.shape[..<axis] || p.shape[(axis + 1)...] != first.shape[(axis + 1)...] {
            throw TensorError("concat", "shapes \(shapeText(first.shape)) and \(shapeText(p.shape)) differ outside axis \(axis)")
        }
        var outShape = first.shape
        outShape[axis] = parts.map { $0.shape[axis] }.reduce(0, +)
        let out = Tensor.empty(outShape)
        let outer = first.shape[..<axis].reduce(1, *), inner = first.shape[(axis + 1)...].reduce(1, *)
        let total = outShape[axis] * inner
        var offset = 0
        for p in parts {
            let chunk = p.shape[axis] * inner, src = p.storage.pointer, dst = out.storage.pointer + offset
            for o in 0..<outer { (dst + o * total).update(from: src + o * chunk, count: chunk) }
            offset += chunk
        }
        return Tensor.record(out, parts, .concat(axis: axis))
    }

    /// Elements `start..<end` along `axis` (a copy).
    public func slice(axis: Int, _ start: Int, _ end: Int) throws -> Tensor {
        guard axis >= 0, axis < rank, start >= 0, end <= shape[axis], start <= end else {
            throw TensorError("slice", "range \(start)..<\(end) on axis \(axis) is outside \(shapeText(shape))")
        }
        var outShape = shape
        outShape[axis] = end - start
        let out = Tensor.empty(outShape)
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
        let len = (end - start) * inner, full = shape[axis] * inner
        for o in 0..<outer {
            (out.storage.pointer + o * len).update(from: storage.pointer + o * full + start * inner, count: len)
        }
        return Tensor.record(out, [self], .slice(axis: axis, start: start))
    }

    /// Pads the last two dimensions (..., H, W) with zeros: `left`/`right` columns, `top`/`bottom` rows.
    public func padded(left: Int, right: Int, top: Int, bottom: Int) throws -> Tensor {
        guard rank >= 2, min(left, right, top, bottom) >= 0 else {
            throw TensorError("pad", "needs rank >= 2 and non-negative padding, got \(shapeText(shape)) with (\(left), \(right), \(top), \(bottom))")
        }
        let h = shape[rank - 2], w = shape[rank - 1], oh = h + top + bottom, ow = w + left + right
        let planes = count / Swift.max(h * w, 1)
        let out = Tensor(zeros: Array(shape.dropLast(2)) + [oh, ow])
        let src = storage.pointer, dst = out.storage.pointer
        for p in 0..<planes {
            for y in 0..<h {
                (dst + (p * oh + y + top) * ow + left).update(from: src + (p * h + y) * w, count: w)
            }
        }
        return Tensor.record(out, [self], .pad(left: left, right: right, top: top, bottom: bottom))
    }

    /// Sum over `axes` (all when nil); `keepDims` keeps them with size 1.
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) throws -> Tensor {
        let ax = (axes ?? Array(0..<rank)).map { $0 < 0 ? $0 + rank : $0 }
        guard ax.allSatisfy({ $0 >= 0 && $0 < rank }) else {
            throw TensorError("sum", "axes \(axes ?? []) out of range for \(shapeText(shape))")
        }
        var kept = shape
        for a in ax { kept[a] = 1 }
        var reducedT: Tensor
        if kept.reduce(1, *) == 1 {
            // Deterministic parallel total: fixed chunks summed in chunk order.
            let chunks = (count + Parallel.grain - 1) / Parallel.grain
            let partial = UnsafeMutablePointer<Double>.allocate(capacity: Swift.max(chunks, 1))
            defer { partial.deallocate() }
            partial.initialize(repeating: 0, count: Swift.max(chunks, 1))
            let p = storage.pointer
            Parallel.forChunks(count) { range in
                var s: Double = 0
                for i in range { s += Double(p[i]) }
                partial[range.lowerBound / Parallel.grain] = s
            }
            var total: Double = 0
            for i in 0..<chunks { total += partial[i] }
            reducedT = Tensor(repeating: Float(total), shape: kept)
        } else {
            reducedT = self.reduced(to: kept)
        }
        let outShape = keepDims ? kept : shape.enumerated().filter { !ax.contains($0.offset) }.map(\.element)
        reducedT = Tensor(storage: reducedT.storage, shape: outShape)
        return Tensor.record(reducedT, [self], .sum(keptShape: kept))
    }

    /// Mean over `axes` (all when nil).
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) throws -> Tensor {
        let ax = (axes ?? Array(0..<rank)).map { $0 < 0 ? $0 + rank : $0 }
        let n = ax.filter { $0 >= 0 && $0 < rank }.map { shape[$0] }.reduce(1, *)
        return try sum(axes: axes, keepDims: keepDims) * (1 / Float(Swift.max(n, 1)))
    }

    /// Maximum along `axis`, keeping it with size 1; the gradient flows to the first maximum.
    public func max(axis: Int) throws -> Tensor {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < rank, shape[a] > 0 else {
            throw TensorError("max", "axis \(axis) out of range or empty for \(shapeText(shape))")
        }
        var outShape = shape
        outShape[a] = 1
        let out = Tensor.empty(outShape)
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *), len = shape[a]
        var argmax = [Int32](repeating: 0, count: outer * inner)
        let src = storage.pointer, dst = out.storage.pointer
        for o in 0..<outer {
            for j in 0..<inner {
                var best = src[o * len * inner + j], at: Int32 = 0
                for k in 1..<len {
                    let v = src[(o * len + k) * inner + j]
                    if v > best { best = v; at = Int32(k) }
                }
                dst[o * inner + j] = best
                argmax[o * inner + j] = at
            }
        }
        return Tensor.record(out, [self], .max(axis: a, argmax: argmax))
    }
}
