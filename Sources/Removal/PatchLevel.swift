import Dispatch
import Foundation

/// One pyramid level of a PatchMatch fill: the current image estimate, the hole, and the nearest-neighbour
/// field (NNF) that maps each target patch (one overlapping the hole) to a source patch (one entirely
/// outside it).
///
/// Patches are `(2r+1) x (2r+1)` squares named by their centre pixel index `y * width + x`; centres stay
/// at least `r` from the image edge so every patch lies inside the image. Search and voting run over
/// fixed bands of rows, so the result does not depend on how many threads run them.
final class PatchLevel {
    let width: Int, height: Int, channels: Int, radius: Int
    /// The estimate, `(height, width, 4)`: channels padded to four lanes (unused lanes 0) so patch rows
    /// are whole SIMD vectors. Only hole pixels ever change.
    var image: [Float]
    /// `(height, width)`: pixels to fill.
    let hole: [Bool]
    /// `(height, width)`: centres whose patch overlaps the hole and lies inside the image.
    let isTarget: [Bool]
    /// `(height, width)`: centres whose patch lies inside the image and outside the hole.
    let isSource: [Bool]
    /// All source centres, in scan order.
    let sources: [Int32]
    /// `(height, width)`: for a target centre, the source centre it currently matches.
    var nnf: [Int32]
    /// `(height, width)`: sum of squared differences of that match.
    var cost: [Float]

    /// Rows per band; bands of one parity run concurrently, each scanning its rows in order.
    static let bandRows = 8

    /// A level over `image` (`(height, width, channels)`) with `hole` to fill. `targets`, when given, limits
    /// the target centres to those it marks (the search then runs over them alone).
    init(width: Int, height: Int, channels: Int, radius: Int, image: [Float], hole: [Bool], targets: [Bool]? = nil) {
        self.width = width; self.height = height; self.channels = channels; self.radius = radius
        var padded = [Float](repeating: 0, count: width * height * 4)
        for p in 0..<(width * height) { for k in 0..<channels { padded[p * 4 + k] = image[p * channels + k] } }
        self.image = padded
        self.hole = hole
        let near = MaskOps.dilated(hole, width: width, height: height, radius: radius)
        var isTarget = [Bool](repeating: false, count: width * height)
        var isSource = [Bool](repeating: false, count: width * height)
        var sources: [Int32] = []
        if width > 2 * radius, height > 2 * radius {
            for y in radius..<(height - radius) {
                for x in radius..<(width - radius) {
                    let p = y * width + x
                    if near[p] { isTarget[p] = targets?[p] ?? true } else { isSource[p] = true; sources.append(Int32(p)) }
                }
            }
        }
        self.isTarget = isTarget
        self.isSource = isSource
        self.sources = sources
        self.nnf = [Int32](repeating: 0, count: width * height)
        self.cost = [Float](repeating: 0, count: width * height)
    }

    /// The estimate with `channels` interleaved channels, `(height, width, channels)`.
    func estimate() -> [Float] {
        var out = [Float](repeating: 0, count: width * height * channels)
        for p in 0..<(width * height) { for k in 0..<channels { out[p * channels + k] = image[p * 4 + k] } }
        return out
    }

    /// Whether the level has both patches to fill and patches to copy from.
    var canMatch: Bool { !sources.isEmpty && isTarget.contains(true) }

    // MARK: Initialisation

    /// Points every target at a source drawn at random.
    func randomizeField(seed: UInt64) {
        let count = UInt64(sources.count)
        for p in 0..<(width * height) where isTarget[p] {
            var rng = PatchRandom(seed: seed, stream: 0xF1E1D, index: p)
            nnf[p] = sources[Int(rng.next() % count)]
        }
    }

    /// Initialises the field from the coarser level's, doubling each match; targets whose coarse parent had
    /// no usable match get a random source.
    func upsampleField(from coarse: PatchLevel, seed: UInt64) {
        let count = UInt64(sources.count)
        let cw = coarse.width, ch = coarse.height
        for y in 0..<height {
            for x in 0..<width {
                let p = y * width + x
                guard isTarget[p] else { continue }
                let cp = min(y / 2, ch - 1) * cw + min(x / 2, cw - 1)
                if coarse.isTarget[cp] {
                    let q = Int(coarse.nnf[cp])
                    let qx = min(max(2 * (q % cw) + x % 2, radius), width - 1 - radius)
                    let qy = min(max(2 * (q / cw) + y % 2, radius), height - 1 - radius)
                    if isSource[qy * width + qx] { nnf[p] = Int32(qy * width + qx); continue }
                }
                var rng = PatchRandom(seed: seed, stream: 0xC0A25E, index: p)
                nnf[p] = sources[Int(rng.next() % count)]
            }
        }
    }

    // MARK: Search

    /// Recomputes the cost of every target's current match against the current estimate.
    func refreshCosts() {
        forEachBand(parity: nil) { [self] y0, y1, img, nnf, cost in
            for p in (y0 * width)..<(y1 * width) where isTarget[p] {
                cost[p] = distance(img, p, Int(nnf[p]), limit: .infinity)
            }
        }
    }

    /// One PatchMatch pass: propagation from the two already-visited neighbours, then random search in
    /// windows halving from the image size. `forward` scans left-to-right, top-to-bottom; otherwise the reverse.
    func search(forward: Bool, seed: UInt64, pass: Int) {
        for parity in 0..<2 {
            forEachBand(parity: parity) { [self] y0, y1, img, nnf, cost in
                searchRows(y0, y1, forward: forward, seed: seed, pass: pass, img, nnf, cost)
            }
        }
    }

    private func searchRows(_ y0: Int, _ y1: Int, forward: Bool, seed: UInt64, pass: Int,
                            _ img: UnsafeMutablePointer<Float>, _ nnf: UnsafeMutablePointer<Int32>,
                            _ cost: UnsafeMutablePointer<Float>) {
        let w = width, n = width * height, r = radius
        let step = forward ? 1 : -1
        let rows = forward ? Array(y0..<y1) : Array((y0..<y1).reversed())
        let maxWindow = max(width, height)
        isTarget.withUnsafeBufferPointer { isTarget in
            isSource.withUnsafeBufferPointer { isSource in
                for y in rows {
                    var x = forward ? 0 : w - 1
                    for _ in 0..<w {
                        defer { x += step }
                        let p = y * w + x
                        guard isTarget[p] else { continue }
                        var best = Int(nnf[p]), bestCost = cost[p]
                        // Propagation: the neighbour visited before us, shifted by one pixel.
                        for k in 0..<2 {
                            let neighbour = k == 0 ? p - step : p - step * w
                            guard isTarget[neighbour] else { continue }
                            let candidate = Int(nnf[neighbour]) + (p - neighbour)
                            guard candidate >= 0, candidate < n, candidate != best, isSource[candidate] else { continue }
                            let d = distance(img, p, candidate, limit: bestCost)
                            if d < bestCost { best = candidate; bestCost = d }
                        }
                        // Random search around the best match, in windows halving from the image size.
                        var rng = PatchRandom(seed: seed, stream: UInt64(pass), index: p)
                        var window = maxWindow
                        let bx = best % w, by = best / w
                        while window >= 1 {
                            let span = UInt64(2 * window + 1)
                            let cx = min(max(bx + Int(rng.next() % span) - window, r), w - 1 - r)
                            let cy = min(max(by + Int(rng.next() % span) - window, r), height - 1 - r)
                            let candidate = cy * w + cx
                            if candidate != best, isSource[candidate] {
                                let d = distance(img, p, candidate, limit: bestCost)
                                if d < bestCost { best = candidate; bestCost = d }
                            }
                            window /= 2
                        }
                        nnf[p] = Int32(best)
                        cost[p] = bestCost
                    }
                }
            }
        }
    }

    /// Sum of squared differences between the patches centred at `a` and `b`, stopping early once it
    /// reaches `limit` (the partial sum is returned then).
    @inline(__always)
    func distance(_ img: UnsafeMutablePointer<Float>, _ a: Int, _ b: Int, limit: Float) -> Float {
        let rowStride = width * 4, side = 2 * radius + 1
        let corner = (radius * width + radius) * 4
        var pa = UnsafeRawPointer(img + (a * 4 - corner))
        var pb = UnsafeRawPointer(img + (b * 4 - corner))
        var sum: Float = 0
        for _ in 0..<side {
            var acc = SIMD4<Float>()
            for j in 0..<side {
                let d = pa.loadUnaligned(fromByteOffset: j * 16, as: SIMD4<Float>.self)
                    - pb.loadUnaligned(fromByteOffset: j * 16, as: SIMD4<Float>.self)
                acc += d * d
            }
            sum += acc.sum()
            if sum >= limit { return sum }
            pa += rowStride * 4; pb += rowStride * 4
        }
        return sum
    }

    // MARK: Voting

    /// Wexler-style voting: each hole pixel becomes the weighted mean of the pixels that the sources of all
    /// target patches covering it put there, weighted by exp(-cost / 2 sigma^2) with sigma^2 four times the
    /// 75th percentile of the costs (wider than Wexler's; it measured a little better on photos).
    /// Voting reads only source pixels, which lie outside the hole, so its order does not matter.
    func vote() {
        var targetCosts: [Float] = []
        for p in 0..<(width * height) where isTarget[p] { targetCosts.append(cost[p]) }
        guard !targetCosts.isEmpty else { return }
        // The percentile from an evenly strided sample of at most ~4096 costs (sorting them all is slow).
        let stride = max(1, targetCosts.count / 4096)
        var sample = Swift.stride(from: 0, to: targetCosts.count, by: stride).map { targetCosts[$0] }
        sample.sort()
        let sigma2 = 4 * max(sample[(sample.count * 3) / 4], 1e-6)
        var weight = [Float](repeating: 0, count: width * height)
        for p in 0..<(width * height) where isTarget[p] { weight[p] = expf(-cost[p] / (2 * sigma2)) }

        let w = width, n = width * height, r = radius
        forEachBand(parity: nil) { [self] y0, y1, img, nnf, _ in
            let raw = UnsafeMutableRawPointer(img)
            isTarget.withUnsafeBufferPointer { isTarget in
                hole.withUnsafeBufferPointer { hole in
                    weight.withUnsafeBufferPointer { weight in
                        for q in (y0 * w)..<(y1 * w) where hole[q] {
                            var total: Float = 0, plainTotal: Float = 0
                            var acc = SIMD4<Float>(), plainAcc = SIMD4<Float>()
                            for dy in -r...r {
                                for dx in -r...r {
                                    let offset = dy * w + dx
                                    let p = q - offset          // a patch centre covering q
                                    guard p >= 0, p < n, isTarget[p] else { continue }
                                    let v = raw.loadUnaligned(fromByteOffset: (Int(nnf[p]) + offset) * 16, as: SIMD4<Float>.self)
                                    let wt = weight[p]
                                    total += wt; plainTotal += 1
                                    acc += wt * v; plainAcc += v
                                }
                            }
                            if total > 1e-20 {
                                raw.storeBytes(of: acc / total, toByteOffset: q * 16, as: SIMD4<Float>.self)
                            } else if plainTotal > 0 {
                                raw.storeBytes(of: plainAcc / plainTotal, toByteOffset: q * 16, as: SIMD4<Float>.self)
                            }
                        }
                    }
                }
            }
        }
    }

    // MARK: Bands

    /// Runs `body(y0, y1, image, nnf, cost)` over the fixed row bands: all of them (`parity == nil`) or only
    /// the even or odd ones, concurrently. Bands must only write their own rows.
    private func forEachBand(parity: Int?,
                             _ body: (Int, Int, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Float>) -> Void) {
        let bandCount = (height + PatchLevel.bandRows - 1) / PatchLevel.bandRows
        let chosen = (0..<bandCount).filter { parity == nil || $0 % 2 == parity }
        guard !chosen.isEmpty else { return }
        image.withUnsafeMutableBufferPointer { img in
            nnf.withUnsafeMutableBufferPointer { nnf in
                cost.withUnsafeMutableBufferPointer { cost in
                    guard let ip = img.baseAddress, let np = nnf.baseAddress, let cp = cost.baseAddress else { return }
                    let rows = PatchLevel.bandRows, height = self.height
                    if PatchMatchThreads.concurrent, chosen.count > 1 {
                        DispatchQueue.concurrentPerform(iterations: chosen.count) { i in
                            let y0 = chosen[i] * rows
                            body(y0, min(height, y0 + rows), ip, np, cp)
                        }
                    } else {
                        for band in chosen {
                            body(band * rows, min(height, band * rows + rows), ip, np, cp)
                        }
                    }
                }
            }
        }
    }
}

/// Whether PatchMatch runs its bands on several threads; results are the same either way (tests check).
enum PatchMatchThreads {
    nonisolated(unsafe) static var concurrent = true
}

/// A counter-based generator: the stream for a (seed, stream, index) triple is fixed, whatever thread or
/// order asks for it. SplitMix64 steps over a hashed starting point.
struct PatchRandom {
    private var state: UInt64

    init(seed: UInt64, stream: UInt64, index: Int) {
        state = PatchRandom.mix(seed ^ PatchRandom.mix(stream &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: index)))
    }

    @inline(__always) mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return PatchRandom.mix(state)
    }

    @inline(__always) static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

