extension Image {
    /// This image transformed so that it displays upright, given an EXIF orientation tag (1...8).
    /// 1 is upright; 2 mirrors; 3 rotates 180; 4 flips vertically; 5 transposes; 6 rotates 90 clockwise;
    /// 7 transverses; 8 rotates 90 counter-clockwise. Unknown values leave the image as it is.
    public func oriented(exif orientation: Int) -> Image {
        guard (2...8).contains(orientation) else { return self }
        let swaps = orientation >= 5
        let ow = swaps ? height : width, oh = swaps ? width : height
        var out = [Float](repeating: 0, count: pixels.count)
        let c = channels
        for oy in 0..<oh {
            for ox in 0..<ow {
                // Source coordinate of output pixel (ox, oy).
                let sx: Int, sy: Int
                switch orientation {
                case 2: sx = width - 1 - ox; sy = oy
                case 3: sx = width - 1 - ox; sy = height - 1 - oy
                case 4: sx = ox; sy = height - 1 - oy
                case 5: sx = oy; sy = ox
                case 6: sx = oy; sy = height - 1 - ox
                case 7: sx = width - 1 - oy; sy = height - 1 - ox
                default: sx = width - 1 - oy; sy = ox // 8
                }
                let s = (sy * width + sx) * c, d = (oy * ow + ox) * c
                for k in 0..<c { out[d + k] = pixels[s + k] }
            }
        }
        return Image(validWidth: ow, height: oh, channels: c, pixels: out)
    }
}

extension Mask {
    /// This mask transformed like ``Image/oriented(exif:)`` (same orientation numbers), keeping soft values.
    public func oriented(exif orientation: Int) -> Mask {
        let img = Image(validWidth: width, height: height, channels: 1, pixels: values).oriented(exif: orientation)
        return Mask(validWidth: img.width, height: img.height, values: img.pixels)
    }
}
