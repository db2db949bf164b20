import Imaging

/// Draws short labels (digits, `#`, `-`, letters used in ids) with a 3x5 pixel font, for contact sheets.
enum TextStamp {
    /// Rows of each glyph, top to bottom, 3 bits each (4 = left pixel).
    static let glyphs: [Character: [UInt8]] = [
        "0": [7, 5, 5, 5, 7], "1": [2, 6, 2, 2, 7], "2": [7, 1, 7, 4, 7], "3": [7, 1, 7, 1, 7], "4": [5, 5, 7, 1, 1],
        "5": [7, 4, 7, 1, 7], "6": [7, 4, 7, 5, 7], "7": [7, 1, 1, 1, 1], "8": [7, 5, 7, 5, 7], "9": [7, 5, 7, 1, 7],
        "#": [5, 7, 5, 7, 5], "-": [0, 0, 7, 0, 0], " ": [0, 0, 0, 0, 0],
    ]

    /// Width in pixels of `text` drawn at `scale` (3 px glyphs, 1 px spacing, times scale).
    static func width(_ text: String, scale: Int) -> Int { max(1, text.count * 4 * scale - scale) }

    /// Draws `text` into the RGB `image` at `(x, y)` in `color`; characters without a glyph are left blank.
    static func draw(_ text: String, into image: inout Image, x: Int, y: Int, scale: Int, color: Float = 0) {
        var cx = x
        for ch in text {
            let rows = glyphs[ch] ?? [0, 0, 0, 0, 0]
            for (r, bits) in rows.enumerated() {
                for col in 0..<3 where bits & (4 >> UInt8(col)) != 0 {
                    for dy in 0..<scale {
                        for dx in 0..<scale {
                            let px = cx + col * scale + dx, py = y + r * scale + dy
                            guard px >= 0, py >= 0, px < image.width, py < image.height else { continue }
                            for k in 0..<image.channels { image[px, py, k] = color }
                        }
                    }
                }
            }
            cx += 4 * scale
        }
    }
}
