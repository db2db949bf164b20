/// How far copied patches can be trusted around a hole, as a per-pixel share of the smooth fill.
///
/// PatchMatch is right to copy texture only where the surroundings repeat: stripes, tiles, bricks. On most
/// photos the hole's content is not found elsewhere, and a copied patch then adds texture that does not
/// line up with the truth, which costs more than a smooth guess. This measures it on the known pixels
/// around the hole: for each patch of a ring just outside the hole (entirely known), it finds the best
/// match among patches that do not overlap the ring (a leave-out prediction) and compares
/// - the copy error `eCopy`: mean squared difference to that best match, per pixel and summed over channels;
/// - the smooth error `eSmooth`: the patch's own variance around its mean (what a locally constant guess misses).
///
/// The ring's share `eCopy / (eCopy + eSmooth)` is 0 where patches repeat exactly and near 1 on smooth
/// gradients (any copy from elsewhere is offset) and on texture with no repeat. It is averaged along the
/// ring, then spread into the hole by a membrane (harmonic) fill, so each hole pixel follows the nearer
/// part of its surroundings.
enum CopyReliability {
    /// Search passes of the ring's PatchMatch (after a random start).
    static let passes = 5
    /// Factor from the ring's share to the share used in the hole. With 1, the hole takes the ring's share
    /// as it is: half smooth where the copy error equals the patch variance. On 12 bench photos (two seeds
    /// of `Scripts/bench/cases.py`) ring shares were 0.33-0.60. With the shallow pyramid (stopping at a
    /// hole 8 patches thick) gain 3, which fills all of them smoothly, scored best; with the deep pyramid
    /// (``PatchPyramid``), whose copies continue edges and veins, gain 1 scored 1.1 and 0.2 dB more median
    /// masked PSNR than gain 3 on the two seeds with the same SSIM, gain 1.5 0.3 dB less than gain 1 on
    /// seed 7 and 0.1 dB more on seed 11. Pure PatchMatch scored 0.8 dB more on seed 7 but 0.2 dB less on
    /// seed 11, with a lower masked SSIM on both (0.755 and 0.738 against 0.781 and 0.753).
    static let gain: Float = 1

    /// `(height, width)`: the share in [0, 1] of the smooth fill for each pixel of `hole` (0 elsewhere),
    /// from patches of half-size `radius`; nil when the ring or the patches to copy from are empty.
    static func smoothShare(image: Plane, hole: [Bool], radius: Int, seed: UInt64) -> [Float]? {
        let w = image.width, h = image.height, n = w * h, side = 2 * radius + 1
        let ringWidth = side
        // Centres whose patch touches the hole: the region the share is spread into.
        let touching = MaskOps.dilated(hole, width: w, height: h, radius: radius)
        let outer = MaskOps.dilated(hole, width: w, height: h, radius: radius + ringWidth)
        var ring = [Bool](repeating: false, count: n)
        for y in radius..<max(radius, h - radius) {
            for x in radius..<max(radius, w - radius) where outer[y * w + x] && !touching[y * w + x] { ring[y * w + x] = true }
        }
        guard ring.contains(true) else { return nil }
        // Sources lie at least a patch away from every ring patch, so no match overlaps its target.
        let excluded = MaskOps.dilated(hole, width: w, height: h, radius: radius + ringWidth + side)
        let level = PatchLevel(width: w, height: h, channels: image.channels, radius: radius,
                               image: image.data, hole: excluded, targets: ring)
        guard level.canMatch else { return nil }
        level.randomizeField(seed: seed)
        level.refreshCosts()
        for pass in 0..<passes { level.search(forward: pass % 2 == 0, seed: seed, pass: pass) }

        // (height, width): the ring's share, 0 off the ring.
        var share = [Float](repeating: 0, count: n)
        let area = Float(side * side)
        for p in 0..<n where ring[p] {
            let copyError = level.cost[p] / area
            let smoothError = patchVariance(image, centre: p, radius: radius)
            share[p] = copyError / max(copyError + smoothError, 1e-12)
        }
        var averaged = ringAverage(share, ring: ring, width: w, height: h, radius: 2 * side)
        // Boundary pixels off the ring (within a patch of the image edge) take the ring's overall mean.
        var ringSum = 0.0, ringCount = 0.0
        for p in 0..<n where ring[p] { ringSum += Double(share[p]); ringCount += 1 }
        let ringMean = Float(ringSum / ringCount)
        for p in 0..<n where !ring[p] && !touching[p] { averaged[p] = ringMean }
        // Spread into the hole: Laplace's equation on `touching`, with the ring's averages as boundary.
        var field = Plane(width: w, height: h, channels: 1, data: averaged)
        HarmonicFill.fill(&field, hole: touching)
        var out = [Float](repeating: 0, count: n)
        for p in 0..<n where hole[p] { out[p] = min(max(field.data[p], 0), 1) }
        return out
    }

    /// Variance of the patch centred at `centre` around its own mean, per pixel, summed over channels.
    static func patchVariance(_ image: Plane, centre: Int, radius: Int) -> Float {
        let w = image.width, c = image.channels, cx = centre % w, cy = centre / w
        var sum = [Float](repeating: 0, count: c), squares = [Float](repeating: 0, count: c)
        for y in (cy - radius)...(cy + radius) {
            for x in (cx - radius)...(cx + radius) {
                for k in 0..<c {
                    let v = image.data[(y * w + x) * c + k]
                    sum[k] += v; squares[k] += v * v
                }
            }
        }
        let count = Float((2 * radius + 1) * (2 * radius + 1))
        var total: Float = 0
        for k in 0..<c { total += max(0, squares[k] / count - (sum[k] / count) * (sum[k] / count)) }
        return total
    }

    /// For each ring pixel, the mean of `values` over the ring pixels in the `(2 radius + 1)` square around
    /// it (summed-area tables); 0 off the ring.
    static func ringAverage(_ values: [Float], ring: [Bool], width w: Int, height h: Int, radius: Int) -> [Float] {
        // (h + 1, w + 1) integral images of the values and of the ring's indicator, in Double.
        var sumTable = [Double](repeating: 0, count: (w + 1) * (h + 1)), countTable = sumTable
        for y in 0..<h {
            var rowSum = 0.0, rowCount = 0.0
            for x in 0..<w {
                if ring[y * w + x] { rowSum += Double(values[y * w + x]); rowCount += 1 }
                sumTable[(y + 1) * (w + 1) + x + 1] = sumTable[y * (w + 1) + x + 1] + rowSum
                countTable[(y + 1) * (w + 1) + x + 1] = countTable[y * (w + 1) + x + 1] + rowCount
            }
        }
        func box(_ t: [Double], _ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int) -> Double {
            t[y1 * (w + 1) + x1] - t[y0 * (w + 1) + x1] - t[y1 * (w + 1) + x0] + t[y0 * (w + 1) + x0]
        }
        var out = [Float](repeating: 0, count: w * h)
        for y in 0..<h {
            let y0 = max(0, y - radius), y1 = min(h, y + radius + 1)
            for x in 0..<w where ring[y * w + x] {
                let x0 = max(0, x - radius), x1 = min(w, x + radius + 1)
                let count = box(countTable, x0, y0, x1, y1)
                out[y * w + x] = count > 0 ? Float(box(sumTable, x0, y0, x1, y1) / count) : values[y * w + x]
            }
        }
        return out
    }
}
