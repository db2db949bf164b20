import Imaging

// The removers' working representation: a plain interleaved float plane (no validation, cheap to copy
// and mutate in place) and a square dilation of boolean masks (patch overlap is a square, not Imaging's
// elliptical kernel).

/// An interleaved float plane: `(height, width, channels)` row-major.
struct Plane {
    var width: Int, height: Int, channels: Int
    var data: [Float]

    init(width: Int, height: Int, channels: Int, data: [Float]) {
        self.width = width; self.height = height; self.channels = channels; self.data = data
    }
    init(_ image: Image) { self.init(width: image.width, height: image.height, channels: image.channels, data: image.pixels) }
}

/// Helpers over row-major `[Bool]` masks.
enum MaskOps {
    /// `mask` dilated by a square of half-size `radius` (a separable max filter).
    static func dilated(_ mask: [Bool], width: Int, height: Int, radius: Int) -> [Bool] {
        guard radius > 0 else { return mask }
        var horizontal = [Bool](repeating: false, count: mask.count)
        for y in 0..<height {
            let row = y * width
            var last = -radius - 1   // x of the last set pixel seen, scanning right
            for x in 0..<min(width, radius) where mask[row + x] { last = x }
            for x in 0..<width {
                let ahead = x + radius
                if ahead < width, mask[row + ahead] { last = ahead }
                if last >= x - radius { horizontal[row + x] = true }
            }
        }
        var out = [Bool](repeating: false, count: mask.count)
        for x in 0..<width {
            var last = -radius - 1
            for y in 0..<min(height, radius) where horizontal[y * width + x] { last = y }
            for y in 0..<height {
                let ahead = y + radius
                if ahead < height, horizontal[ahead * width + x] { last = ahead }
                if last >= y - radius { out[y * width + x] = true }
            }
        }
        return out
    }
}
