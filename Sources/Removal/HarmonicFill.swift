/// A membrane (harmonic) fill: hole pixels solve Laplace's equation with the known pixels as boundary
/// values, so each becomes the mean of its four neighbours. It is the smoothest fill, with no streaks,
/// and on photos it scores a higher masked PSNR than Telea or Navier-Stokes diffusion (but a lower SSIM);
/// ``PatchMatchRemover/smoothing`` mixes it into PatchMatch's result.
///
/// Solved by cascadic multigrid: the hole is solved on a half-size level first, upsampled, then smoothed
/// with red-black Gauss-Seidel over-relaxation. Image borders are mirror (Neumann) boundaries.
enum HarmonicFill {
    /// Sweeps at each level; coarse levels are cheap, so they get more.
    static let sweeps = 24

    /// Fills `plane` where `hole` is true; other samples are not written. A hole with no known pixel
    /// at all is left as it is.
    static func fill(_ plane: inout Plane, hole: [Bool]) {
        let w = plane.width, h = plane.height
        if min(w, h) >= 16, hole.contains(true) {
            let coarse = PatchPyramid.halve(PatchPyramid.Floor(plane: plane, hole: hole))
            var small = coarse.plane
            fill(&small, hole: coarse.hole)
            upsample(&plane, hole: hole, from: small)
            relax(&plane, hole: hole, sweeps: sweeps)
        } else {
            initialiseWithMean(&plane, hole: hole)
            relax(&plane, hole: hole, sweeps: 4 * max(w, h) + sweeps)
        }
    }

    /// Sets hole pixels to the mean of the known pixels (the start on the coarsest level).
    private static func initialiseWithMean(_ plane: inout Plane, hole: [Bool]) {
        let c = plane.channels
        var sum = [Double](repeating: 0, count: c), count = 0.0
        for p in 0..<hole.count where !hole[p] {
            for k in 0..<c { sum[k] += Double(plane.data[p * c + k]) }
            count += 1
        }
        guard count > 0 else { return }
        for p in 0..<hole.count where hole[p] {
            for k in 0..<c { plane.data[p * c + k] = Float(sum[k] / count) }
        }
    }

    /// Bilinear upsampling of the half-size solution into the hole pixels of `plane`.
    private static func upsample(_ plane: inout Plane, hole: [Bool], from coarse: Plane) {
        let w = plane.width, c = plane.channels, cw = coarse.width, ch = coarse.height
        for y in 0..<plane.height {
            let sy = min(max((Float(y) + 0.5) / 2 - 0.5, 0), Float(ch - 1))
            let y0 = Int(sy), y1 = min(y0 + 1, ch - 1), fy = sy - Float(y0)
            for x in 0..<w where hole[y * w + x] {
                let sx = min(max((Float(x) + 0.5) / 2 - 0.5, 0), Float(cw - 1))
                let x0 = Int(sx), x1 = min(x0 + 1, cw - 1), fx = sx - Float(x0)
                for k in 0..<c {
                    let top = coarse.data[(y0 * cw + x0) * c + k] * (1 - fx) + coarse.data[(y0 * cw + x1) * c + k] * fx
                    let bottom = coarse.data[(y1 * cw + x0) * c + k] * (1 - fx) + coarse.data[(y1 * cw + x1) * c + k] * fx
                    plane.data[(y * w + x) * c + k] = top * (1 - fy) + bottom * fy
                }
            }
        }
    }

    /// Red-black Gauss-Seidel with over-relaxation on the hole pixels.
    private static func relax(_ plane: inout Plane, hole: [Bool], sweeps: Int) {
        let w = plane.width, h = plane.height, c = plane.channels
        var holes: [[Int32]] = [[], []]   // hole pixels by colour (x + y) % 2
        for y in 0..<h { for x in 0..<w where hole[y * w + x] { holes[(x + y) & 1].append(Int32(y * w + x)) } }
        let omega: Float = 1.6
        plane.data.withUnsafeMutableBufferPointer { px in
            for _ in 0..<sweeps {
                for colour in 0..<2 {
                    for p32 in holes[colour] {
                        let p = Int(p32), x = p % w, y = p / w
                        var sum = SIMD4<Float>(), n: Float = 0
                        for k in 0..<4 {
                            let q: Int
                            switch k {
                            case 0: guard x > 0 else { continue }; q = p - 1
                            case 1: guard x < w - 1 else { continue }; q = p + 1
                            case 2: guard y > 0 else { continue }; q = p - w
                            default: guard y < h - 1 else { continue }; q = p + w
                            }
                            var v = SIMD4<Float>(px[q * c], 0, 0, 0)
                            if c > 1 { v[1] = px[q * c + 1]; v[2] = px[q * c + 2] }
                            if c > 3 { v[3] = px[q * c + 3] }
                            sum += v; n += 1
                        }
                        for k in 0..<c {
                            let old = px[p * c + k]
                            px[p * c + k] = old + omega * (sum[k] / n - old)
                        }
                    }
                }
            }
        }
    }
}
