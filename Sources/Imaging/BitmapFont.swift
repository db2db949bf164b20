/// The project's one bitmap font, 3x5 pixels: digits, upper-case letters (lower case draws as upper case) and a
/// few signs, for plot labels and contact-sheet ids. Each glyph is five rows of three bits, top row first; bit 4 is
/// the left pixel.
public enum BitmapFont {
    /// Rows of each glyph.
    public static let glyphs: [Character: [UInt8]] = [
        "0": [7, 5, 5, 5, 7], "1": [2, 6, 2, 2, 7], "2": [7, 1, 7, 4, 7], "3": [7, 1, 3, 1, 7], "4": [5, 5, 7, 1, 1],
        "5": [7, 4, 7, 1, 7], "6": [7, 4, 7, 5, 7], "7": [7, 1, 2, 2, 2], "8": [7, 5, 7, 5, 7], "9": [7, 5, 7, 1, 7],
        "A": [2, 5, 7, 5, 5], "B": [6, 5, 6, 5, 6], "C": [3, 4, 4, 4, 3], "D": [6, 5, 5, 5, 6], "E": [7, 4, 6, 4, 7],
        "F": [7, 4, 6, 4, 4], "G": [3, 4, 5, 5, 3], "H": [5, 5, 7, 5, 5], "I": [7, 2, 2, 2, 7], "J": [1, 1, 1, 5, 2],
        "K": [5, 5, 6, 5, 5], "L": [4, 4, 4, 4, 7], "M": [5, 7, 7, 5, 5], "N": [6, 5, 5, 5, 5], "O": [2, 5, 5, 5, 2],
        "P": [6, 5, 6, 4, 4], "Q": [2, 5, 5, 6, 3], "R": [6, 5, 6, 5, 5], "S": [3, 4, 2, 1, 6], "T": [7, 2, 2, 2, 2],
        "U": [5, 5, 5, 5, 7], "V": [5, 5, 5, 5, 2], "W": [5, 5, 7, 7, 5], "X": [5, 5, 2, 5, 5], "Y": [5, 5, 2, 2, 2],
        "Z": [7, 1, 2, 4, 7], ".": [0, 0, 0, 0, 2], ",": [0, 0, 0, 2, 4], "-": [0, 0, 7, 0, 0], "+": [0, 2, 7, 2, 0],
        "%": [5, 1, 2, 4, 5], ":": [0, 2, 0, 2, 0], "/": [1, 1, 2, 4, 4], "(": [1, 2, 2, 2, 1], ")": [4, 2, 2, 2, 4],
        "=": [0, 7, 0, 7, 0], "_": [0, 0, 0, 0, 7], "#": [5, 7, 5, 7, 5], " ": [0, 0, 0, 0, 0],
    ]

    /// Width in pixels of `text` at `scale` (3 px glyphs and 1 px spacing, times scale).
    public static func width(_ text: String, scale: Int = 1) -> Int { max(0, text.count * 4 * scale - scale) }

    /// Height in pixels of a line at `scale`.
    public static func height(scale: Int = 1) -> Int { 5 * scale }

    /// Draws `text` into `image` with its top-left corner at (x, y) in `color` (one value per channel, repeated if
    /// shorter); pixels outside the image are skipped and characters without a glyph draw as `#`.
    public static func draw(_ text: String, into image: inout Image, x: Int, y: Int, scale: Int = 1, color: [Float]) {
        var cx = x
        for ch in text.uppercased() {
            let rows = glyphs[ch] ?? glyphs["#"] ?? []
            for (r, bits) in rows.enumerated() {
                for col in 0..<3 where bits & (4 >> UInt8(col)) != 0 {
                    for dy in 0..<scale {
                        for dx in 0..<scale {
                            let px = cx + col * scale + dx, py = y + r * scale + dy
                            guard px >= 0, py >= 0, px < image.width, py < image.height, !color.isEmpty else { continue }
                            for c in 0..<image.channels { image[px, py, c] = color[c % color.count] }
                        }
                    }
                }
            }
            cx += 4 * scale
        }
    }
}
