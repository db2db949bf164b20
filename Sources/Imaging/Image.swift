/// A raster image with 1 (gray), 3 (RGB) or 4 (RGBA) interleaved channels of `Float` in [0, 1].
///
/// Pixels are stored row-major, channel-interleaved: the value of channel `c` at `(x, y)` is
/// `pixels[(y * width + x) * channels + c]`. 8- and 16-bit files convert exactly: decoding then encoding
/// at the same bit depth gives back the same integers.
public struct Image: Equatable, Sendable {
    /// Width in pixels (> 0).
    public let width: Int
    /// Height in pixels (> 0).
    public let height: Int
    /// Channels per pixel: 1, 3 or 4.
    public let channels: Int
    /// Row-major, interleaved samples in [0, 1]; `count == width * height * channels`.
    public var pixels: [Float]

    /// An image filled with `value`. Sizes must be positive and channels 1, 3 or 4.
    public init(width: Int, height: Int, channels: Int = 3, value: Float = 0) throws {
        try Image.validate(width: width, height: height, channels: channels)
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = [Float](repeating: value, count: width * height * channels)
    }

    /// An image over existing samples; `pixels.count` must equal `width * height * channels`.
    public init(width: Int, height: Int, channels: Int, pixels: [Float]) throws {
        try Image.validate(width: width, height: height, channels: channels)
        guard pixels.count == width * height * channels else {
            throw ImagingError.sizeMismatch(what: "image samples", expected: "\(width * height * channels)", got: "\(pixels.count)")
        }
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// An image over samples whose size is already known to be valid (derived from another image or mask).
    init(validWidth width: Int, height: Int, channels: Int, pixels: [Float]) {
        assert(pixels.count == width * height * channels)
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    static func validate(width: Int, height: Int, channels: Int) throws {
        guard width > 0, height > 0 else { throw ImagingError.invalidArgument("image size must be positive, got \(width)x\(height)") }
        guard width <= ImageLimits.maxSide, height <= ImageLimits.maxSide, width * height <= ImageLimits.maxPixels else {
            throw ImagingError.tooLarge(path: "<memory>", width: width, height: height, limit: "at most \(ImageLimits.maxSide) px a side")
        }
        guard [1, 3, 4].contains(channels) else { throw ImagingError.invalidArgument("channels must be 1, 3 or 4, got \(channels)") }
    }

    /// Number of pixels, `width * height`.
    @inlinable public var pixelCount: Int { width * height }

    /// Sample of channel `c` at `(x, y)`. Indices must be in range.
    @inlinable public subscript(x: Int, y: Int, c: Int) -> Float {
        get { pixels[(y * width + x) * channels + c] }
        set { pixels[(y * width + x) * channels + c] = newValue }
    }

    /// A one-line summary such as `<image 512x384 rgb>`.
    public var summary: String {
        let kind = channels == 1 ? "gray" : channels == 3 ? "rgb" : "rgba"
        return "<image \(width)x\(height) \(kind)>"
    }

    /// This image with `channels` channels: gray replicates, RGB gains an opaque alpha, alpha is dropped,
    /// RGB to gray uses Rec. 601 luma.
    public func converted(toChannels target: Int) throws -> Image {
        guard [1, 3, 4].contains(target) else { throw ImagingError.invalidArgument("channels must be 1, 3 or 4, got \(target)") }
        if target == channels { return self }
        var out = [Float](repeating: 1, count: pixelCount * target)
        let src = channels
        pixels.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { d in
                for i in 0..<pixelCount {
                    let si = i * src, di = i * target
                    switch (src, target) {
                    case (1, _):
                        d[di] = s[si]; d[di + 1] = s[si]; d[di + 2] = s[si]
                    case (3, 4), (4, 3):
                        d[di] = s[si]; d[di + 1] = s[si + 1]; d[di + 2] = s[si + 2]
                    default: // 3 or 4 to 1
                        d[di] = 0.299 * s[si] + 0.587 * s[si + 1] + 0.114 * s[si + 2]
                    }
                }
            }
        }
        return Image(validWidth: width, height: height, channels: target, pixels: out)
    }
}
