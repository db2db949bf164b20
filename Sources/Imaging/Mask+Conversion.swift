extension Mask {
    /// A mask from an image: gray values, or for RGB(A) the alpha channel when it is not uniformly opaque, else luma;
    /// values at or above `threshold` become 1, the rest 0.
    public init(fromImage image: Image, threshold: Float = 0.5) {
        var values = [Float](repeating: 0, count: image.pixelCount)
        let c = image.channels
        var useAlpha = false
        if c == 4 {
            for i in 0..<image.pixelCount where image.pixels[i * 4 + 3] < 1 { useAlpha = true; break }
        }
        image.pixels.withUnsafeBufferPointer { p in
            for i in 0..<image.pixelCount {
                let v: Float
                switch c {
                case 1: v = p[i]
                case _ where useAlpha: v = p[i * 4 + 3]
                default: v = 0.299 * p[i * c] + 0.587 * p[i * c + 1] + 0.114 * p[i * c + 2]
                }
                values[i] = v >= threshold ? 1 : 0
            }
        }
        // An Image always has a valid size, so the mask does too.
        self.width = image.width
        self.height = image.height
        self.values = values
    }

    /// The mask as a gray image (1 = masked shows white).
    public func asImage() -> Image {
        Image(validWidth: width, height: height, channels: 1, pixels: values.map { min(max($0, 0), 1) })
    }

    /// This mask made binary: values at or above `threshold` become 1, others 0.
    public func thresholded(_ threshold: Float = 0.5) -> Mask {
        var m = self
        for i in 0..<m.values.count { m.values[i] = m.values[i] >= threshold ? 1 : 0 }
        return m
    }

    /// The complement: masked pixels become unmasked and the reverse (soft values become `1 - v`).
    public func inverted() -> Mask {
        var m = self
        for i in 0..<m.values.count { m.values[i] = 1 - m.values[i] }
        return m
    }

    /// Pixel-wise union (maximum) with another mask of the same size.
    public func union(_ other: Mask) throws -> Mask {
        guard other.width == width, other.height == height else {
            throw ImagingError.sizeMismatch(what: "mask union", expected: "\(width)x\(height)", got: "\(other.width)x\(other.height)")
        }
        var m = self
        for i in 0..<m.values.count { m.values[i] = max(m.values[i], other.values[i]) }
        return m
    }
}
