/// Shape arithmetic for numpy-style broadcasting and the row iterator the broadcasting kernels share.
enum Broadcast {
    /// The broadcast shape of `a` and `b`, or an error naming `op` and both shapes.
    static func shape(_ a: [Int], _ b: [Int], op: String) throws -> [Int] {
        let r = max(a.count, b.count)
        var out = [Int](repeating: 1, count: r)
        for i in 0..<r {
            let da = i < r - a.count ? 1 : a[i - (r - a.count)]
            let db = i < r - b.count ? 1 : b[i - (r - b.count)]
            guard da == db || da == 1 || db == 1 else {
                throw TensorError(op, "shapes \(shapeText(a)) and \(shapeText(b)) do not broadcast (dimension \(i): \(da) vs \(db))")
            }
            out[i] = da == 1 ? db : da
        }
        return out
    }

    /// Element strides of a contiguous tensor of shape `inner`, aligned to the rank of `outer`, with 0 in
    /// broadcast dimensions.
    static func strides(_ inner: [Int], in outer: [Int]) -> [Int] {
        let r = outer.count
        var strides = [Int](repeating: 0, count: r)
        var step = 1
        for i in stride(from: inner.count - 1, through: 0, by: -1) {
            let o = i + (r - inner.count)
            strides[o] = inner[i] == 1 ? 0 : step
            step *= inner[i]
        }
        return strides
    }

    /// Walks `outShape` row by row (a row is the last dimension) and calls
    /// `body(rowIndex, offsetA, offsetB)` with the offsets of the row start in two broadcast inputs.
    @inline(__always)
    static func forEachRow(_ outShape: [Int], _ sa: [Int], _ sb: [Int], _ body: (Int, Int, Int) -> Void) {
        let r = outShape.count
        if r == 0 { body(0, 0, 0); return }
        let rows = outShape.dropLast().reduce(1, *)
        var index = [Int](repeating: 0, count: r)
        var oa = 0, ob = 0
        for row in 0..<rows {
            body(row, oa, ob)
            var d = r - 2
            while d >= 0 {
                index[d] += 1
                oa += sa[d]; ob += sb[d]
                if index[d] < outShape[d] { break }
                oa -= sa[d] * outShape[d]; ob -= sb[d] * outShape[d]
                index[d] = 0
                d -= 1
            }
        }
    }
}

extension Tensor {
    /// Sums this tensor down to `target`, a shape it broadcasts from (no graph); the backward of broadcasting.
    func reduced(to target: [Int]) -> Tensor {
        if target == shape { return self.detached }
        var out = Tensor(zeros: target)
        let r = shape.count
        let st = Broadcast.strides(target, in: shape)
        let last = r == 0 ? 1 : shape[r - 1]
        let lastStride = r == 0 ? 0 : st[r - 1]
        let o = out.storage.pointer, g = storage.pointer
        Broadcast.forEachRow(shape, st, st) { row, ot, _ in
            let base = g + row * last
            if lastStride == 1 {
                for j in 0..<last { o[ot + j] += base[j] }
            } else {
                var s: Float = 0
                for j in 0..<last { s += base[j] }
                o[ot] += s
            }
        }
        out.node = nil
        return out
    }

    /// This tensor repeated along broadcast dimensions to `target` (no graph).
    func expanded(to target: [Int]) -> Tensor {
        if target == shape { return self.detached }
        let out = Tensor.empty(target)
        let r = target.count
        let st = Broadcast.strides(shape, in: target)
        let last = r == 0 ? 1 : target[r - 1]
        let lastStride = r == 0 ? 0 : st[r - 1]
        let o = out.storage.pointer, x = storage.pointer
        Broadcast.forEachRow(target, st, st) { row, ox, _ in
            let base = o + row * last
            if lastStride == 1 {
                for j in 0..<last { base[j] = x[ox + j] }
            } else {
                for j in 0..<last { base[j] = x[ox] }
            }
        }
        return out
    }
}
