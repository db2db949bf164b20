import Imaging

/// A minimal sixel encoder: colours quantised to a fixed 6x6x6 cube palette, six pixel rows per band.
enum Sixel {
    static func encode(_ image: Image, maxWidth: Int = 800) throws -> String {
        var img = try image.converted(toChannels: 3)
        if img.width > maxWidth {
            img = try img.resized(width: maxWidth, height: max(1, img.height * maxWidth / img.width))
        }
        // Palette index per pixel: 6 levels per channel.
        var index = [Int](repeating: 0, count: img.width * img.height)
        for y in 0..<img.height {
            for x in 0..<img.width {
                let r = Int((img[x, y, 0] * 5).rounded()), g = Int((img[x, y, 1] * 5).rounded()), b = Int((img[x, y, 2] * 5).rounded())
                index[y * img.width + x] = r * 36 + g * 6 + b
            }
        }
        var out = "\u{1b}Pq\"1;1;\(img.width);\(img.height)"
        for c in 0..<216 {
            out += "#\(c);2;\(c / 36 * 20);\(c / 6 % 6 * 20);\(c % 6 * 20)"
        }
        var band = 0
        while band < img.height {
            var used = Set<Int>()
            for y in band..<min(band + 6, img.height) { for x in 0..<img.width { used.insert(index[y * img.width + x]) } }
            for color in used.sorted() {
                out += "#\(color)"
                for x in 0..<img.width {
                    var bits = 0
                    for dy in 0..<6 where band + dy < img.height && index[(band + dy) * img.width + x] == color { bits |= 1 << dy }
                    out.unicodeScalars.append(Unicode.Scalar(UInt8(63 + bits)))
                }
                out += "$"
            }
            out += "-"
            band += 6
        }
        return out + "\u{1b}\\\n"
    }
}
