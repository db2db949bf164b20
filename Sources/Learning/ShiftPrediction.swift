import Imaging
import Tensor

/// What a translated copy of the surroundings predicts inside a hole: the judge's second residual input, for
/// backgrounds with structure (bands, lines, edges at any angle) that a smooth prediction blurs away.
///
/// Every shift `d` with `|dx|, |dy| <= maximumShiftFraction * min(W, H)` is a candidate. The prediction of a pixel `p`
/// under `d` is the mean of the source at `p + k d`, `k` in ±1, ±2, over those positions that lie in the image and
/// outside the hole: sampling both ways along `d` lets each half of a hole draw from its own side. A candidate is
/// judged the way a person checks a continuation, on known pixels it did not use: the ring of
/// ``ringWidth`` pixels around the hole, predicted from pixels outside hole and ring. The shift with the smallest
/// mean absolute error on the ring wins (ties go to the shorter shift). A candidate must reach ``minimumCoverage``
/// of the hole and half of the ring; where none does, or a hole pixel has no source under the winner, the prediction
/// is ``ContextResidual/prediction(source:mask:)``'s.
///
/// Bands that continue across a hole are reproduced exactly by a shift along them; a smooth fill across them is far
/// from that prediction, and a fill that continues them is close. Outside the hole the prediction is the source.
public enum ShiftPrediction {
    /// Width in pixels of the known ring around the hole on which shifts are compared.
    public static let ringWidth = 2
    /// Largest shift along either axis, as a fraction of the image's shorter side.
    public static let maximumShiftFraction = 0.5
    /// Least share of hole pixels a shift must predict to be a candidate.
    public static let minimumCoverage = 0.9
    /// The multiples of a shift a pixel is predicted from.
    static let multiples = [1, -1, 2, -2]

    /// The chosen shift and the prediction for every pixel of `source` (RGB, in [0, 1]); the shift is nil, and the
    /// prediction the smooth one, when no candidate covers the hole (or the mask is empty or full). `smooth` is
    /// ``ContextResidual/prediction(source:mask:)`` when the caller has it already; it is computed when needed.
    public static func prediction(source: Image, mask: Mask, smooth: Image? = nil) throws -> (image: Image, shift: (dx: Int, dy: Int)?) {
        try mask.checkSize(matches: source)
        let rgb = try source.converted(toChannels: 3)
        let (w, h) = (rgb.width, rgb.height), count = w * h
        let hole = mask.values.map { $0 >= 0.5 }                                      // (H, W)
        let holeIndices = hole.indices.filter { hole[$0] }
        func smoothPrediction() throws -> Image { try smooth ?? ContextResidual.prediction(source: rgb, mask: mask) }
        guard !holeIndices.isEmpty, holeIndices.count < count else { return (try smoothPrediction(), nil) }
        let grown = try mask.dilated(radius: min(ringWidth, max(w, h))).values.map { $0 >= 0.5 }   // hole and ring
        let ringIndices = grown.indices.filter { grown[$0] && !hole[$0] }
        var gray = [Float](repeating: 0, count: count)                                // (H, W) channel mean
        for i in 0..<count {
            let r = rgb.pixels[i * 3], g = rgb.pixels[i * 3 + 1], b = rgb.pixels[i * 3 + 2]
            gray[i] = (r + g + b) / 3
        }

        let reach = max(1, Int(maximumShiftFraction * Double(min(w, h))))
        let allowedMisses = Int(Double(holeIndices.count) * (1 - minimumCoverage))
        var best: (cost: Float, length: Int, dx: Int, dy: Int)?
        // Ring error first, abandoned as soon as it cannot beat the best so far (error / ring size bounds the mean
        // from below); coverage only for shifts that would win.
        let ringCount = Float(ringIndices.count)
        for dy in -reach...reach {
            for dx in -reach...reach where dx != 0 || dy != 0 {
                let length = dx * dx + dy * dy
                var error: Float = 0, judged = 0, abandoned = false
                for i in ringIndices {
                    let (x, y) = (i % w, i / w)
                    var sum: Float = 0, n = 0
                    for k in multiples {
                        let sx = x + k * dx, sy = y + k * dy
                        if sx >= 0, sx < w, sy >= 0, sy < h, !grown[sy * w + sx] { sum += gray[sy * w + sx]; n += 1 }
                    }
                    guard n > 0 else { continue }
                    error += abs(gray[i] - sum / Float(n))
                    judged += 1
                    if let b = best, error > b.cost * ringCount { abandoned = true; break }
                }
                guard !abandoned, judged > 0, 2 * judged >= ringIndices.count else { continue }
                let cost = error / Float(judged)
                if let b = best, cost > b.cost || (cost == b.cost && length >= b.length) { continue }
                guard covers(holeIndices, dx: dx, dy: dy, hole: hole, width: w, height: h, allowedMisses: allowedMisses) else { continue }
                best = (cost, length, dx, dy)
            }
        }
        guard let best else { return (try smoothPrediction(), nil) }

        var out = rgb.pixels
        var fallback: Image?
        for i in holeIndices {
            let (x, y) = (i % w, i / w)
            var sum: (Float, Float, Float) = (0, 0, 0), n = 0
            for k in multiples {
                let sx = x + k * best.dx, sy = y + k * best.dy
                guard sx >= 0, sx < w, sy >= 0, sy < h else { continue }
                let j = sy * w + sx
                guard !hole[j] else { continue }
                sum.0 += rgb.pixels[j * 3]; sum.1 += rgb.pixels[j * 3 + 1]; sum.2 += rgb.pixels[j * 3 + 2]
                n += 1
            }
            if n > 0 {
                let f = 1 / Float(n)
                out[i * 3] = sum.0 * f; out[i * 3 + 1] = sum.1 * f; out[i * 3 + 2] = sum.2 * f
            } else {
                if fallback == nil { fallback = try smoothPrediction() }
                if let smooth = fallback { for c in 0..<3 { out[i * 3 + c] = smooth.pixels[i * 3 + c] } }
            }
        }
        return (try Image(width: w, height: h, channels: 3, pixels: out), (best.dx, best.dy))
    }

    /// Whether at most `allowedMisses` hole pixels lack a source outside the hole under the shift (dx, dy).
    static func covers(_ holeIndices: [Int], dx: Int, dy: Int, hole: [Bool], width w: Int, height h: Int, allowedMisses: Int) -> Bool {
        var misses = 0
        for i in holeIndices {
            let (x, y) = (i % w, i / w)
            var found = false
            for k in multiples {
                let sx = x + k * dx, sy = y + k * dy
                if sx >= 0, sx < w, sy >= 0, sy < h, !hole[sy * w + sx] { found = true; break }
            }
            if !found { misses += 1; if misses > allowedMisses { return false } }
        }
        return true
    }

    /// The residual as a tensor (1, 3, H, W): `ContextResidual.gain * (result - prediction)` where the mask is
    /// >= 0.5, else 0.
    public static func compute(source: Image, mask: Mask, result: Image) throws -> Tensor {
        try mask.checkSize(matches: result, what: "mask (against the result)")
        let predicted = try prediction(source: source, mask: mask).image
        return try ContextResidual.residual(result: result, predicted: predicted, mask: mask)
    }
}
