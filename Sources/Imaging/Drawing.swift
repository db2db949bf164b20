extension Mask {
    /// A `width` x `height` mask with the rectangle `rect` (clipped to the mask) set.
    public static func box(width: Int, height: Int, rect: PixelRect) throws -> Mask {
        var m = try Mask(width: width, height: height)
        let r = rect.clipped(width: width, height: height)
        if r.isEmpty { return m }
        for y in r.y..<r.maxY { for x in r.x..<r.maxX { m.values[y * width + x] = 1 } }
        return m
    }

    /// A `width` x `height` mask with the ellipse centred at `(cx, cy)` with radii `rx`, `ry` set
    /// (a pixel is inside when its centre is).
    public static func ellipse(width: Int, height: Int, cx: Double, cy: Double, rx: Double, ry: Double) throws -> Mask {
        guard rx > 0, ry > 0 else { throw ImagingError.invalidArgument("ellipse radii must be positive, got \(rx), \(ry)") }
        var m = try Mask(width: width, height: height)
        let y0 = max(0, Int((cy - ry).rounded(.down))), y1 = min(height - 1, Int((cy + ry).rounded(.up)))
        let x0 = max(0, Int((cx - rx).rounded(.down))), x1 = min(width - 1, Int((cx + rx).rounded(.up)))
        if y0 > y1 || x0 > x1 { return m }
        for y in y0...y1 {
            for x in x0...x1 {
                let dx = (Double(x) + 0.5 - cx) / rx, dy = (Double(y) + 0.5 - cy) / ry
                if dx * dx + dy * dy <= 1 { m.values[y * width + x] = 1 }
            }
        }
        return m
    }
}

extension Image {
    /// Images laid out left to right, top to bottom in `columns` columns (default: all in one row), each cell as
    /// large as the largest image, images centred, `gap` pixels between cells, on a `background` gray. Gray and RGBA
    /// images are converted to RGB.
    public static func grid(_ images: [Image], columns: Int? = nil, gap: Int = 4, background: Float = 1) throws -> Image {
        guard !images.isEmpty else { throw ImagingError.invalidArgument("grid needs at least one image") }
        let cols = max(1, min(columns ?? images.count, images.count))
        guard gap >= 0 else { throw ImagingError.invalidArgument("grid gap must not be negative") }
        let rows = (images.count + cols - 1) / cols
        let cw = images.map(\.width).max() ?? 1, ch = images.map(\.height).max() ?? 1
        var out = try Image(width: cols * cw + (cols - 1) * gap, height: rows * ch + (rows - 1) * gap, channels: 3, value: background)
        for (n, img) in images.enumerated() {
            let col = n % cols, row = n / cols
            let x = col * (cw + gap) + (cw - img.width) / 2, y = row * (ch + gap) + (ch - img.height) / 2
            out = try out.pasting(img.converted(toChannels: 3), at: x, y)
        }
        return out
    }
}
