/// The image pyramid PatchMatch works over: each level halves the previous (2x2 box filter); a coarse
/// pixel belongs to the hole when any of its four fine pixels does.
enum PatchPyramid {
    struct Floor {
        var plane: Plane
        var hole: [Bool]
    }

    /// Levels from full size (index 0) down to one where the hole is at most 1.5 patches thick (about three
    /// patches across), or where halving again would leave too few patches to copy from.
    ///
    /// Structure (an edge crossing the hole, leaf veins) is decided at the coarsest level, where a patch
    /// spans the hole; finer levels only add detail. On 12 bench photos (seeds 7 and 11 of
    /// `Scripts/bench/cases.py`) this depth raised pure PatchMatch's median masked PSNR by 4.1 and 1.1 dB
    /// over stopping at 8 patches thick; stopping at 1 patch thick scored 1.1 and 0.5 dB less than 1.5, at 2
    /// patches 0 and 0.4 dB less.
    static func build(image: Plane, hole: [Bool], patchSize: Int) -> [Floor] {
        var floors = [Floor(plane: image, hole: hole)]
        while let last = floors.last {
            let w = (last.plane.width + 1) / 2, h = (last.plane.height + 1) / 2
            guard thickness(last.hole, width: last.plane.width, height: last.plane.height) * 2 > 3 * patchSize,
                  min(w, h) >= 3 * patchSize else { break }
            floors.append(halve(last))
        }
        return floors
    }

    /// The next, half-size level (sizes round up; the last row or column repeats when odd).
    static func halve(_ floor: Floor) -> Floor {
        let fw = floor.plane.width, fh = floor.plane.height, c = floor.plane.channels
        let w = (fw + 1) / 2, h = (fh + 1) / 2
        var data = [Float](repeating: 0, count: w * h * c)
        var hole = [Bool](repeating: false, count: w * h)
        floor.plane.data.withUnsafeBufferPointer { src in
            for y in 0..<h {
                let y0 = 2 * y, y1 = min(2 * y + 1, fh - 1)
                for x in 0..<w {
                    let x0 = 2 * x, x1 = min(2 * x + 1, fw - 1)
                    let a = y0 * fw + x0, b = y0 * fw + x1, d = y1 * fw + x0, e = y1 * fw + x1
                    hole[y * w + x] = floor.hole[a] || floor.hole[b] || floor.hole[d] || floor.hole[e]
                    for ch in 0..<c {
                        data[(y * w + x) * c + ch] = 0.25 * (src[a * c + ch] + src[b * c + ch] + src[d * c + ch] + src[e * c + ch])
                    }
                }
            }
        }
        return Floor(plane: Plane(width: w, height: h, channels: c, data: data), hole: hole)
    }

    /// The largest chessboard distance from a hole pixel to the nearest pixel outside the hole.
    static func thickness(_ hole: [Bool], width w: Int, height h: Int) -> Int {
        let far = w + h
        var d = hole.map { $0 ? far : 0 }
        for y in 0..<h {
            for x in 0..<w where d[y * w + x] > 0 {
                var v = d[y * w + x]
                if x > 0 { v = min(v, d[y * w + x - 1] + 1) }
                if y > 0 {
                    v = min(v, d[(y - 1) * w + x] + 1)
                    if x > 0 { v = min(v, d[(y - 1) * w + x - 1] + 1) }
                    if x < w - 1 { v = min(v, d[(y - 1) * w + x + 1] + 1) }
                }
                d[y * w + x] = v
            }
        }
        var largest = 0
        for y in stride(from: h - 1, through: 0, by: -1) {
            for x in stride(from: w - 1, through: 0, by: -1) where d[y * w + x] > 0 {
                var v = d[y * w + x]
                if x < w - 1 { v = min(v, d[y * w + x + 1] + 1) }
                if y < h - 1 {
                    v = min(v, d[(y + 1) * w + x] + 1)
                    if x < w - 1 { v = min(v, d[(y + 1) * w + x + 1] + 1) }
                    if x > 0 { v = min(v, d[(y + 1) * w + x - 1] + 1) }
                }
                d[y * w + x] = v
                largest = max(largest, v)
            }
        }
        return largest
    }

    /// Sets the hole pixels of `plane` to the bilinear upsampling of the coarser level's estimate.
    static func fillHole(_ plane: inout Plane, hole: [Bool], from coarse: PatchLevel) {
        let w = plane.width, c = plane.channels, cw = coarse.width, ch = coarse.height
        let coarseImage = coarse.estimate()
        for y in 0..<plane.height {
            let sy = min(max((Double(y) + 0.5) / 2 - 0.5, 0), Double(ch - 1))
            let y0 = Int(sy), y1 = min(y0 + 1, ch - 1), fy = Float(sy - Double(y0))
            for x in 0..<w where hole[y * w + x] {
                let sx = min(max((Double(x) + 0.5) / 2 - 0.5, 0), Double(cw - 1))
                let x0 = Int(sx), x1 = min(x0 + 1, cw - 1), fx = Float(sx - Double(x0))
                for k in 0..<c {
                    let top = coarseImage[(y0 * cw + x0) * c + k] * (1 - fx) + coarseImage[(y0 * cw + x1) * c + k] * fx
                    let bottom = coarseImage[(y1 * cw + x0) * c + k] * (1 - fx) + coarseImage[(y1 * cw + x1) * c + k] * fx
                    plane.data[(y * w + x) * c + k] = top * (1 - fy) + bottom * fy
                }
            }
        }
    }
}
