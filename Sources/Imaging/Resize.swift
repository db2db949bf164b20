import Foundation

/// Resampling filters for ``Image/resized(width:height:filter:)``.
public enum ResizeFilter: String, Sendable, CaseIterable {
    /// Area averaging when shrinking, bicubic when enlarging (per axis).
    case auto
    /// Nearest neighbour.
    case nearest
    /// Linear interpolation (triangle filter, widened when shrinking).
    case bilinear
    /// Area averaging (box filter over the source footprint), the right choice for shrinking.
    case area
    /// Cubic convolution with a = -0.5, widened when shrinking.
    case bicubic
    /// Lanczos with three lobes, widened when shrinking.
    case lanczos
}

/// Precomputed 1-D resampling taps: output sample `i` reads `weights[i]` at source indices `start[i]...`.
struct ResampleTaps {
    var start: [Int]
    var weights: [[Float]]

    /// Taps mapping `inCount` samples to `outCount`, pixel centres aligned (as OpenCV and Pillow do).
    init(inCount: Int, outCount: Int, filter: ResizeFilter) {
        let scale = Double(inCount) / Double(outCount)
        var f = filter
        if f == .auto { f = scale > 1 ? .area : .bicubic }
        start = []
        weights = []
        start.reserveCapacity(outCount)
        weights.reserveCapacity(outCount)
        if f == .nearest {
            for i in 0..<outCount {
                start.append(min(inCount - 1, Int((Double(i) + 0.5) * scale)))
                weights.append([1])
            }
            return
        }
        let support: Double
        let kernel: (Double) -> Double
        switch f {
        case .area:
            support = 0.5
            kernel = { x in x >= -0.5 && x < 0.5 ? 1 : 0 }
        case .bilinear:
            support = 1
            kernel = { x in max(0, 1 - abs(x)) }
        case .lanczos:
            support = 3
            kernel = { x in
                if x == 0 { return 1 }
                if abs(x) >= 3 { return 0 }
                let px = Double.pi * x
                return 3 * sin(px) * sin(px / 3) / (px * px)
            }
        default: // bicubic, a = -0.5
            support = 2
            kernel = { x in
                let a = -0.5, t = abs(x)
                if t < 1 { return ((a + 2) * t - (a + 3)) * t * t + 1 }
                if t < 2 { return (((t - 5) * t + 8) * t - 4) * a }
                return 0
            }
        }
        let widen = max(1, scale)
        let radius = support * widen
        for i in 0..<outCount {
            let center = (Double(i) + 0.5) * scale
            let lo = max(0, Int(floor(center - radius)))
            let hi = min(inCount - 1, Int(ceil(center + radius)))
            var w = [Float]()
            var total = 0.0
            var ws = [Double]()
            for j in lo...hi {
                let x = (Double(j) + 0.5 - center) / widen
                var k = kernel(x)
                if f == .area {
                    // Exact overlap of source pixel j with the footprint [center - scale/2, center + scale/2].
                    let a = max(Double(j), center - widen / 2), b = min(Double(j + 1), center + widen / 2)
                    k = max(0, b - a)
                }
                ws.append(k)
                total += k
            }
            if total == 0 { ws = ws.map { _ in 0 }; ws[min(ws.count - 1, Int(center) - lo)] = 1; total = 1 }
            w = ws.map { Float($0 / total) }
            start.append(lo)
            weights.append(w)
        }
    }
}

extension Image {
    /// This image resampled to `width` x `height` with `filter` (default: area to shrink, bicubic to enlarge).
    /// Values are clamped to [0, 1] (cubic and Lanczos overshoot at edges).
    public func resized(width newWidth: Int, height newHeight: Int, filter: ResizeFilter = .auto) throws -> Image {
        try Image.validate(width: newWidth, height: newHeight, channels: channels)
        if newWidth == width && newHeight == height { return self }
        let c = channels
        // Horizontal pass: (height, newWidth, c).
        let tx = ResampleTaps(inCount: width, outCount: newWidth, filter: filter)
        var mid = [Float](repeating: 0, count: height * newWidth * c)
        pixels.withUnsafeBufferPointer { src in
            mid.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    let srow = y * width * c, drow = y * newWidth * c
                    for x in 0..<newWidth {
                        let s0 = tx.start[x], ws = tx.weights[x]
                        for k in 0..<c {
                            var acc: Float = 0
                            for (j, w) in ws.enumerated() { acc += w * src[srow + (s0 + j) * c + k] }
                            dst[drow + x * c + k] = acc
                        }
                    }
                }
            }
        }
        // Vertical pass: (newHeight, newWidth, c).
        let ty = ResampleTaps(inCount: height, outCount: newHeight, filter: filter)
        var out = [Float](repeating: 0, count: newHeight * newWidth * c)
        let rowLen = newWidth * c
        mid.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<newHeight {
                    let s0 = ty.start[y], ws = ty.weights[y], drow = y * rowLen
                    for (j, w) in ws.enumerated() {
                        let srow = (s0 + j) * rowLen
                        for i in 0..<rowLen { dst[drow + i] += w * src[srow + i] }
                    }
                    for i in 0..<rowLen { dst[drow + i] = min(max(dst[drow + i], 0), 1) }
                }
            }
        }
        return Image(validWidth: newWidth, height: newHeight, channels: c, pixels: out)
    }

    /// This image scaled so that its longer side is `side` pixels, keeping the aspect ratio.
    public func resized(longSide side: Int, filter: ResizeFilter = .auto) throws -> Image {
        guard side > 0 else { throw ImagingError.invalidArgument("size must be positive, got \(side)") }
        let s = Double(side) / Double(max(width, height))
        return try resized(width: max(1, Int((Double(width) * s).rounded())), height: max(1, Int((Double(height) * s).rounded())), filter: filter)
    }
}

extension Mask {
    /// This mask resampled to `width` x `height`. With `threshold` (default 0.5) the result is binary; pass nil to
    /// keep soft values. Shrinking averages areas, enlarging interpolates linearly.
    public func resized(width newWidth: Int, height newHeight: Int, threshold: Float? = 0.5) throws -> Mask {
        let filter: ResizeFilter = (newWidth < width || newHeight < height) ? .area : .bilinear
        let img = try asImage().resized(width: newWidth, height: newHeight, filter: filter)
        var m = Mask(validWidth: newWidth, height: newHeight, values: img.pixels)
        if let threshold { m = m.thresholded(threshold) }
        return m
    }
}
