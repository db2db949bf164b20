import Foundation
import Imaging

/// Pixel-level drawing on an RGB `Image`: points and thick lines, clipped to the image.
enum PlotCanvas {
    /// Sets pixel (x, y) to `color` when it lies inside the image.
    static func set(_ image: inout Image, _ x: Int, _ y: Int, _ color: [Float]) {
        guard x >= 0, y >= 0, x < image.width, y < image.height, !color.isEmpty else { return }
        for c in 0..<image.channels { image[x, y, c] = color[c % color.count] }
    }

    /// A line from (x0, y0) to (x1, y1), `thickness` pixels wide (Bresenham, with a square pen).
    static func line(_ image: inout Image, _ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ color: [Float], thickness: Int = 1) {
        let dx = abs(x1 - x0), dy = -abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var (x, y, err) = (x0, y0, dx + dy)
        let lo = -(thickness - 1) / 2, hi = thickness / 2
        while true {
            for oy in lo...hi { for ox in lo...hi { set(&image, x + ox, y + oy, color) } }
            if x == x1 && y == y1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }

    /// A filled square of side 2 * radius + 1 centred on (x, y).
    static func dot(_ image: inout Image, _ x: Int, _ y: Int, radius: Int, _ color: [Float]) {
        for oy in -radius...radius { for ox in -radius...radius { set(&image, x + ox, y + oy, color) } }
    }
}

/// A line chart: one or more named series over a shared x axis, drawn with axes, a few tick labels, a title and
/// a legend, into an RGB image. Used by the `plot` primitive for loss curves and per-round success rates.
struct LinePlot {
    /// One curve.
    struct Series {
        var name: String
        var values: [Double]
    }

    var series: [Series]
    /// Labels for the x positions 0..<n (categorical axis, e.g. stage names); nil: numbered from 1.
    var xLabels: [String]?
    var title: String = ""
    var width = 480
    var height = 300
    /// Fixed y range; nil: fitted to the data with a margin.
    var yRange: ClosedRange<Double>?

    static let palette: [[Float]] = [[0.12, 0.47, 0.71], [0.84, 0.15, 0.16], [0.17, 0.63, 0.17], [1.0, 0.5, 0.05],
                                     [0.58, 0.4, 0.74], [0.55, 0.34, 0.29]]

    /// Throws a message naming the problem when there is nothing to draw or the size is unusable.
    func validate() throws {
        guard width >= 120, height >= 80, width <= 4096, height <= 4096 else {
            throw PlotError("the size must be 120x80 to 4096x4096, got \(width)x\(height)")
        }
        guard !series.isEmpty, series.contains(where: { $0.values.contains(where: \.isFinite) }) else {
            throw PlotError("there are no finite values to draw")
        }
    }

    /// The chart as an RGB image on white.
    func render() throws -> Image {
        try validate()
        var image = try Image(width: width, height: height, channels: 3)
        for k in 0..<image.pixels.count { image.pixels[k] = 1 }
        let scale = width >= 400 ? 2 : 1
        let text = BitmapFont.height(scale: scale)
        let finite = series.flatMap(\.values).filter(\.isFinite)
        var (lo, hi) = (finite.min() ?? 0, finite.max() ?? 1)
        if let r = yRange { (lo, hi) = (r.lowerBound, r.upperBound) } else {
            let pad = hi > lo ? 0.05 * (hi - lo) : max(abs(hi) * 0.1, 0.5)
            (lo, hi) = (lo - pad, hi + pad)
        }
        let ticks = LinePlot.ticks(lo, hi, count: 5)
        let tickText = ticks.map { LinePlot.label($0, step: ticks.count > 1 ? ticks[1] - ticks[0] : 1) }
        let left = 8 + (tickText.map { BitmapFont.width($0, scale: scale) }.max() ?? 0) + 6
        let top = title.isEmpty ? 10 : 10 + text + 8, bottom = height - (text + 14), right = width - 12
        let n = max(series.map(\.values.count).max() ?? 1, xLabels?.count ?? 0)
        func px(_ i: Int) -> Int { n <= 1 ? (left + right) / 2 : left + Int((Double(i) / Double(n - 1) * Double(right - left)).rounded()) }
        func py(_ v: Double) -> Int { bottom - Int(((v - lo) / (hi - lo) * Double(bottom - top)).rounded()) }
        let ink: [Float] = [0.15, 0.15, 0.15], grid: [Float] = [0.88, 0.88, 0.88]
        for (t, label) in zip(ticks, tickText) where t >= lo && t <= hi {
            let y = py(t)
            PlotCanvas.line(&image, left, y, right, y, grid)
            PlotCanvas.line(&image, left - 3, y, left, y, ink)
            BitmapFont.draw(label, into: &image, x: left - 6 - BitmapFont.width(label, scale: scale), y: y - text / 2, scale: scale, color: ink)
        }
        PlotCanvas.line(&image, left, top, left, bottom, ink)
        PlotCanvas.line(&image, left, bottom, right, bottom, ink)
        for i in LinePlot.xTickIndices(n) {
            let x = px(i)
            PlotCanvas.line(&image, x, bottom, x, bottom + 3, ink)
            let label = xLabels.flatMap { i < $0.count ? $0[i] : nil } ?? String(i + 1)
            let w = BitmapFont.width(label, scale: scale)
            BitmapFont.draw(label, into: &image, x: min(max(0, x - w / 2), width - w), y: bottom + 6, scale: scale, color: ink)
        }
        if !title.isEmpty {
            BitmapFont.draw(title, into: &image, x: max(0, (width - BitmapFont.width(title, scale: scale)) / 2), y: 8, scale: scale, color: ink)
        }
        for (k, s) in series.enumerated() {
            let color = LinePlot.palette[k % LinePlot.palette.count]
            var previous: (Int, Int)?
            for (i, v) in s.values.enumerated() {
                guard v.isFinite else { previous = nil; continue }
                let p = (px(i), py(min(max(v, lo), hi)))
                if let q = previous { PlotCanvas.line(&image, q.0, q.1, p.0, p.1, color, thickness: scale) }
                if s.values.count <= 30 { PlotCanvas.dot(&image, p.0, p.1, radius: scale + 1, color) }
                previous = p
            }
        }
        if series.count > 1 || !(series.first?.name.isEmpty ?? true) {
            var y = top + 4
            for (k, s) in series.enumerated() {
                let color = LinePlot.palette[k % LinePlot.palette.count]
                let x = right - 4 - BitmapFont.width(s.name, scale: scale) - 14
                PlotCanvas.line(&image, x, y + text / 2, x + 9, y + text / 2, color, thickness: scale)
                BitmapFont.draw(s.name, into: &image, x: x + 14, y: y, scale: scale, color: ink)
                y += text + 5
            }
        }
        return image
    }

    /// About `count` round tick values covering lo...hi (steps of 1, 2 or 5 times a power of ten).
    static func ticks(_ lo: Double, _ hi: Double, count: Int) -> [Double] {
        guard hi > lo, count >= 2 else { return [lo] }
        let raw = (hi - lo) / Double(count - 1)
        let power = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw } ?? 10 * power
        var out: [Double] = []
        var t = (lo / step).rounded(.up) * step
        while t <= hi + step * 1e-9 && out.count < 50 {
            out.append(abs(t) < step * 1e-9 ? 0 : (Double(String(format: "%.10g", t)) ?? t))
            t += step
        }
        return out
    }

    /// A tick label with as many decimals as the step needs.
    static func label(_ v: Double, step: Double) -> String {
        let decimals = max(0, min(6, Int(-floor(log10(abs(step)) + 1e-9))))
        return String(format: "%.\(decimals)f", v)
    }

    /// Indices of at most about 8 x ticks over 0..<n, always including the first and the last.
    static func xTickIndices(_ n: Int) -> [Int] {
        guard n > 1 else { return n == 1 ? [0] : [] }
        if n <= 8 { return Array(0..<n) }
        let step = Int(LinePlot.ticks(0, Double(n - 1), count: 6).dropFirst().first ?? Double(n / 5))
        var out = Array(stride(from: 0, to: n - 1, by: max(1, step)))
        if let last = out.last, (n - 1) - last < max(1, step) / 2 { out.removeLast() }
        return out + [n - 1]
    }
}

/// Why a chart cannot be drawn.
struct PlotError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
