import Foundation

/// Image quality metrics against ground truth, optionally restricted to a mask's region.
///
/// Definitions (samples in [0, 1], all channels):
/// - L1: mean absolute difference over the masked pixels and channels.
/// - PSNR: `10 log10(1 / MSE)` with the MSE over masked pixels and channels (peak 1); identical images give `inf`.
/// - SSIM: Wang et al. 2004 with an 11x11 Gaussian window (sigma 1.5), C1 = 0.01^2, C2 = 0.03^2, computed per channel
///   over the whole image (windows clamped at the border), then averaged over the masked pixels and the channels.
/// Without a mask every pixel counts.
public enum Quality {
    /// Mean absolute error over the masked region.
    public static func l1(_ a: Image, _ b: Image, mask: Mask? = nil) throws -> Double {
        let (sel, c) = try prepare(a, b, mask)
        var total = 0.0
        for i in sel { for k in 0..<c { total += Double(abs(a.pixels[i * c + k] - b.pixels[i * c + k])) } }
        return total / Double(sel.count * c)
    }

    /// Mean squared error over the masked region.
    public static func mse(_ a: Image, _ b: Image, mask: Mask? = nil) throws -> Double {
        let (sel, c) = try prepare(a, b, mask)
        var total = 0.0
        for i in sel {
            for k in 0..<c {
                let d = Double(a.pixels[i * c + k] - b.pixels[i * c + k])
                total += d * d
            }
        }
        return total / Double(sel.count * c)
    }

    /// Peak signal-to-noise ratio in dB over the masked region (peak 1); `inf` for identical pixels.
    public static func psnr(_ a: Image, _ b: Image, mask: Mask? = nil) throws -> Double {
        let e = try mse(a, b, mask: mask)
        return e == 0 ? .infinity : 10 * log10(1 / e)
    }

    /// Structural similarity averaged over the masked region.
    public static func ssim(_ a: Image, _ b: Image, mask: Mask? = nil) throws -> Double {
        let (sel, c) = try prepare(a, b, mask)
        let w = a.width, h = a.height
        let sigma = 1.5, r = 5
        var kernel = (-r...r).map { Float(exp(-Double($0 * $0) / (2 * sigma * sigma))) }
        let sum = kernel.reduce(0, +)
        kernel = kernel.map { $0 / sum }
        let c1: Float = 0.0001, c2: Float = 0.0009
        var total = 0.0
        for k in 0..<c {
            var x = [Float](repeating: 0, count: w * h), y = x
            for i in 0..<(w * h) { x[i] = a.pixels[i * c + k]; y[i] = b.pixels[i * c + k] }
            let xx = zip(x, x).map(*), yy = zip(y, y).map(*), xy = zip(x, y).map(*)
            let mx = Mask.separableBlur(x, width: w, height: h, kernel: kernel)
            let my = Mask.separableBlur(y, width: w, height: h, kernel: kernel)
            let sxx = Mask.separableBlur(xx, width: w, height: h, kernel: kernel)
            let syy = Mask.separableBlur(yy, width: w, height: h, kernel: kernel)
            let sxy = Mask.separableBlur(xy, width: w, height: h, kernel: kernel)
            var channelTotal = 0.0
            for i in sel {
                let vx = sxx[i] - mx[i] * mx[i], vy = syy[i] - my[i] * my[i], cov = sxy[i] - mx[i] * my[i]
                let num = (2 * mx[i] * my[i] + c1) * (2 * cov + c2)
                let den = (mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2)
                channelTotal += Double(num / den)
            }
            total += channelTotal / Double(sel.count)
        }
        return total / Double(c)
    }

    /// Indices of the pixels that count, and the channel count; checks sizes and that the region is not empty.
    static func prepare(_ a: Image, _ b: Image, _ mask: Mask?) throws -> ([Int], Int) {
        guard a.width == b.width, a.height == b.height, a.channels == b.channels else {
            throw ImagingError.sizeMismatch(what: "compared images", expected: a.summary, got: b.summary)
        }
        guard let mask else { return (Array(0..<a.pixelCount), a.channels) }
        try mask.checkSize(matches: a)
        let sel = (0..<mask.pixelCount).filter { mask.isMasked($0) }
        guard !sel.isEmpty else { throw ImagingError.invalidArgument("the mask is empty: no pixels to measure") }
        return (sel, a.channels)
    }
}
