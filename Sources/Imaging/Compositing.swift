/// Putting removal results back into the original image.
public enum Compositing {
    /// `result` over `original` through `mask`: where the mask is 0 the output is exactly the original's pixel,
    /// where it is 1 exactly the result's, and soft (feathered) values blend linearly.
    /// All three must have the same size; `result` is converted to the original's channel count.
    public static func composite(result: Image, original: Image, mask: Mask) throws -> Image {
        guard result.width == original.width, result.height == original.height else {
            throw ImagingError.sizeMismatch(what: "result size", expected: "\(original.width)x\(original.height)", got: "\(result.width)x\(result.height)")
        }
        try mask.checkSize(matches: original)
        let r = try result.converted(toChannels: original.channels)
        var out = original
        let c = original.channels
        out.pixels.withUnsafeMutableBufferPointer { dst in
            r.pixels.withUnsafeBufferPointer { src in
                mask.values.withUnsafeBufferPointer { m in
                    for i in 0..<mask.pixelCount {
                        let a = min(max(m[i], 0), 1)
                        if a == 0 { continue }
                        for k in 0..<c {
                            let j = i * c + k
                            dst[j] = a == 1 ? src[j] : a * src[j] + (1 - a) * dst[j]
                        }
                    }
                }
            }
        }
        return out
    }
}

extension Image {
    /// This image with masked pixels tinted by `color` (RGB in [0, 1]) at `opacity`, for showing a mask over a photo.
    public func overlay(_ mask: Mask, color: (Float, Float, Float) = (1, 0.15, 0.15), opacity: Float = 0.5) throws -> Image {
        try mask.checkSize(matches: self)
        var out = try converted(toChannels: 3)
        let tint = [color.0, color.1, color.2]
        for i in 0..<pixelCount {
            let a = min(max(mask.values[i], 0), 1) * opacity
            if a == 0 { continue }
            for k in 0..<3 { out.pixels[i * 3 + k] = (1 - a) * out.pixels[i * 3 + k] + a * tint[k] }
        }
        return out
    }

    /// This image with masked pixels set to `value` in every channel (how learned removers see their input).
    public func blanked(_ mask: Mask, value: Float = 0) throws -> Image {
        try mask.checkSize(matches: self)
        var out = self
        for i in 0..<pixelCount where mask.isMasked(i) {
            for k in 0..<channels { out.pixels[i * channels + k] = value }
        }
        return out
    }
}
