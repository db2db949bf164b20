/// An axis-aligned rectangle of pixels: columns `x ..< x + width`, rows `y ..< y + height`.
public struct PixelRect: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x; self.y = y; self.width = width; self.height = height
    }

    /// One past the last column.
    public var maxX: Int { x + width }
    /// One past the last row.
    public var maxY: Int { y + height }
    /// True when the rectangle holds no pixel.
    public var isEmpty: Bool { width <= 0 || height <= 0 }
    public var description: String { "\(width)x\(height)+\(x)+\(y)" }

    /// This rectangle grown by `dx` columns and `dy` rows on every side.
    public func insetBy(dx: Int, dy: Int) -> PixelRect {
        PixelRect(x: x + dx, y: y + dy, width: width - 2 * dx, height: height - 2 * dy)
    }

    /// The overlap of two rectangles (empty when they do not meet).
    public func intersection(_ other: PixelRect) -> PixelRect {
        let x0 = max(x, other.x), y0 = max(y, other.y)
        let x1 = min(maxX, other.maxX), y1 = min(maxY, other.maxY)
        return PixelRect(x: x0, y: y0, width: max(0, x1 - x0), height: max(0, y1 - y0))
    }

    /// This rectangle clipped to an image of `width` x `height`.
    public func clipped(width w: Int, height h: Int) -> PixelRect {
        intersection(PixelRect(x: 0, y: 0, width: w, height: h))
    }
}

extension Image {
    /// The pixels inside `rect`, which must lie within the image and be non-empty.
    public func cropped(to rect: PixelRect) throws -> Image {
        guard !rect.isEmpty, rect.x >= 0, rect.y >= 0, rect.maxX <= width, rect.maxY <= height else {
            throw ImagingError.invalidArgument("crop \(rect) is outside the \(width)x\(height) image")
        }
        var out = [Float](repeating: 0, count: rect.width * rect.height * channels)
        let rowLen = rect.width * channels
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for r in 0..<rect.height {
                    let s = ((rect.y + r) * width + rect.x) * channels
                    for k in 0..<rowLen { dst[r * rowLen + k] = src[s + k] }
                }
            }
        }
        return try Image(width: rect.width, height: rect.height, channels: channels, pixels: out)
    }

    /// A copy with `patch` written over it, its top-left corner at `(x, y)`; parts outside the image are dropped.
    /// The patch is converted to this image's channel count.
    public func pasting(_ patch: Image, at x: Int, _ y: Int) throws -> Image {
        let p = try patch.converted(toChannels: channels)
        var out = self
        let area = PixelRect(x: x, y: y, width: p.width, height: p.height).clipped(width: width, height: height)
        if area.isEmpty { return out }
        out.pixels.withUnsafeMutableBufferPointer { dst in
            p.pixels.withUnsafeBufferPointer { src in
                for row in area.y..<area.maxY {
                    for col in area.x..<area.maxX {
                        let d = (row * width + col) * channels, s = ((row - y) * p.width + (col - x)) * channels
                        for k in 0..<channels { dst[d + k] = src[s + k] }
                    }
                }
            }
        }
        return out
    }

    /// How `padded` fills the new border.
    public enum PadMode: Sendable, Equatable {
        /// Repeat the edge pixel.
        case edge
        /// Mirror without repeating the edge pixel (`dcb|abcd|cba`).
        case reflect
        /// A constant value in every channel.
        case constant(Float)
    }

    /// This image with `top`, `left`, `bottom`, `right` pixels added around it.
    public func padded(top: Int, left: Int, bottom: Int, right: Int, mode: PadMode = .reflect) throws -> Image {
        guard top >= 0, left >= 0, bottom >= 0, right >= 0 else { throw ImagingError.invalidArgument("padding must not be negative") }
        let ow = width + left + right, oh = height + top + bottom
        var out = try Image(width: ow, height: oh, channels: channels)
        for oy in 0..<oh {
            for ox in 0..<ow {
                let d = (oy * ow + ox) * channels
                guard let sx = Image.sourceIndex(ox - left, count: width, mode: mode),
                      let sy = Image.sourceIndex(oy - top, count: height, mode: mode) else {
                    if case let .constant(v) = mode { for k in 0..<channels { out.pixels[d + k] = v } }
                    continue
                }
                let s = (sy * width + sx) * channels
                for k in 0..<channels { out.pixels[d + k] = pixels[s + k] }
            }
        }
        return out
    }

    /// Index into `0..<count` for a possibly outside index `i`, or nil for constant padding.
    static func sourceIndex(_ i: Int, count: Int, mode: PadMode) -> Int? {
        if i >= 0 && i < count { return i }
        switch mode {
        case .constant: return nil
        case .edge: return min(max(i, 0), count - 1)
        case .reflect:
            if count == 1 { return 0 }
            let period = 2 * (count - 1)
            var j = i % period
            if j < 0 { j += period }
            return j < count ? j : period - j
        }
    }
}

extension Mask {
    /// The values inside `rect`, which must lie within the mask and be non-empty.
    public func cropped(to rect: PixelRect) throws -> Mask {
        let img = try asImage().cropped(to: rect)
        return Mask(validWidth: img.width, height: img.height, values: img.pixels)
    }

    /// The smallest rectangle holding every masked pixel, or nil for an empty mask.
    public func boundingBox() -> PixelRect? {
        var x0 = width, y0 = height, x1 = -1, y1 = -1
        for y in 0..<height {
            let row = y * width
            for x in 0..<width where values[row + x] >= 0.5 {
                if x < x0 { x0 = x }
                if x > x1 { x1 = x }
                if y < y0 { y0 = y }
                y1 = y
            }
        }
        return x1 < 0 ? nil : PixelRect(x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1)
    }
}
