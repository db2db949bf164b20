import Foundation

extension Mask {
    /// Half-widths of an elliptical (here circular) structuring element of `radius`: row offset `dy` reaches
    /// columns `-h[dy + radius] ... h[dy + radius]`, as OpenCV's MORPH_ELLIPSE of size 2r+1.
    static func ellipseHalfWidths(radius r: Int) -> [Int] {
        (-r...r).map { dy in
            let t = 1 - Double(dy * dy) / Double(r * r)
            return Int((Double(r) * t.squareRoot()).rounded())
        }
    }

    /// Binary dilation with an elliptical kernel of `radius` pixels (0 returns the mask made binary).
    /// Pixels outside the image never add to the result.
    public func dilated(radius: Int) throws -> Mask {
        guard radius >= 0 else { throw ImagingError.invalidArgument("dilate radius must not be negative, got \(radius)") }
        guard radius <= max(width, height) else { throw ImagingError.invalidArgument("dilate radius \(radius) exceeds the mask size \(width)x\(height)") }
        if radius == 0 { return thresholded() }
        return Mask(validWidth: width, height: height, values: Mask.dilate(values.map { $0 >= 0.5 }, width: width, height: height, radius: radius).map { $0 ? 1 : 0 })
    }

    /// Binary erosion with an elliptical kernel of `radius` pixels. Pixels outside the image count as masked, so
    /// a mask touching the border is not eaten from that side (as OpenCV's default border).
    public func eroded(radius: Int) throws -> Mask {
        guard radius >= 0 else { throw ImagingError.invalidArgument("erode radius must not be negative, got \(radius)") }
        guard radius <= max(width, height) else { throw ImagingError.invalidArgument("erode radius \(radius) exceeds the mask size \(width)x\(height)") }
        if radius == 0 { return thresholded() }
        let grown = Mask.dilate(values.map { $0 < 0.5 }, width: width, height: height, radius: radius)
        return Mask(validWidth: width, height: height, values: grown.map { $0 ? 0 : 1 })
    }

    /// Dilation of a boolean grid: a pixel is set when some set pixel lies within the kernel around it.
    /// For each row, the distance to the nearest set pixel in that row is computed in two sweeps; a pixel is then
    /// set when, for some row offset dy, that distance is within the kernel's half-width at dy. O(W H r).
    static func dilate(_ set: [Bool], width w: Int, height h: Int, radius r: Int) -> [Bool] {
        let big = Int.max / 4
        var rowDist = [Int](repeating: big, count: w * h) // (H, W): distance to nearest set pixel in the same row
        for y in 0..<h {
            let row = y * w
            var last = -big
            for x in 0..<w {
                if set[row + x] { last = x }
                rowDist[row + x] = last == -big ? big : x - last
            }
            var next = big
            for x in stride(from: w - 1, through: 0, by: -1) {
                if set[row + x] { next = x }
                if next != big { rowDist[row + x] = min(rowDist[row + x], next - x) }
            }
        }
        let half = ellipseHalfWidths(radius: r)
        var out = [Bool](repeating: false, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                var hit = false
                for dy in max(-r, -y)...min(r, h - 1 - y) where rowDist[(y + dy) * w + x] <= half[dy + r] {
                    hit = true
                    break
                }
                out[y * w + x] = hit
            }
        }
        return out
    }

    /// A soft-edged copy: a Gaussian blur with standard deviation `radius / 2` over a window of `radius` pixels.
    /// Values inside a large masked area stay 1 and far outside stay 0; the edge ramps smoothly.
    public func feathered(radius: Int) throws -> Mask {
        guard radius >= 0 else { throw ImagingError.invalidArgument("feather radius must not be negative, got \(radius)") }
        if radius == 0 { return self }
        let kernel = Mask.gaussianKernel(sigma: Double(radius) / 2, radius: radius)
        let blurred = Mask.separableBlur(values, width: width, height: height, kernel: kernel)
        return Mask(validWidth: width, height: height, values: blurred)
    }

    /// A normalised 1-D Gaussian of standard deviation `sigma` over `-radius...radius` (2 * radius + 1 taps).
    public static func gaussianKernel(sigma: Double, radius: Int) -> [Float] {
        let taps = (-radius...radius).map { k -> Float in
            let d = Double(k)
            return Float(exp(-d * d / (2 * sigma * sigma)))
        }
        let total = taps.reduce(0, +)
        return taps.map { $0 / total }
    }

    /// Convolves a (H, W) plane with `kernel` (odd length, centred) along rows then columns, edges clamped.
    public static func separableBlur(_ plane: [Float], width w: Int, height h: Int, kernel: [Float]) -> [Float] {
        let r = kernel.count / 2
        var tmp = [Float](repeating: 0, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                var acc: Float = 0
                for k in -r...r { acc += kernel[k + r] * plane[y * w + min(max(x + k, 0), w - 1)] }
                tmp[y * w + x] = acc
            }
        }
        var out = [Float](repeating: 0, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                var acc: Float = 0
                for k in -r...r { acc += kernel[k + r] * tmp[min(max(y + k, 0), h - 1) * w + x] }
                out[y * w + x] = acc
            }
        }
        return out
    }
}
