/// A single-channel mask over an image: 1 marks pixels to remove, 0 pixels to keep.
///
/// Values are `Float` in [0, 1] so that feathered masks can be represented; a pixel counts as masked
/// when its value is at least 0.5 (``isMasked(_:)``). Stored row-major, `values[y * width + x]`.
public struct Mask: Equatable, Sendable {
    /// Width in pixels (> 0).
    public let width: Int
    /// Height in pixels (> 0).
    public let height: Int
    /// Row-major values in [0, 1]; `count == width * height`.
    public var values: [Float]

    /// An empty (all-zero) mask, or one filled with `value`.
    public init(width: Int, height: Int, value: Float = 0) throws {
        try Image.validate(width: width, height: height, channels: 1)
        self.width = width
        self.height = height
        self.values = [Float](repeating: value, count: width * height)
    }

    /// A mask over existing values; `values.count` must equal `width * height`.
    public init(width: Int, height: Int, values: [Float]) throws {
        try Image.validate(width: width, height: height, channels: 1)
        guard values.count == width * height else {
            throw ImagingError.sizeMismatch(what: "mask values", expected: "\(width * height)", got: "\(values.count)")
        }
        self.width = width
        self.height = height
        self.values = values
    }

    /// A mask over values whose size is already known to be valid (derived from another image or mask).
    init(validWidth width: Int, height: Int, values: [Float]) {
        assert(values.count == width * height)
        self.width = width
        self.height = height
        self.values = values
    }

    /// Whether pixel index `i` (`y * width + x`) is to be removed.
    @inlinable public func isMasked(_ i: Int) -> Bool { values[i] >= 0.5 }

    /// Whether `(x, y)` is to be removed.
    @inlinable public func isMasked(x: Int, y: Int) -> Bool { values[y * width + x] >= 0.5 }

    /// Number of pixels, `width * height`.
    @inlinable public var pixelCount: Int { width * height }

    /// Number of masked pixels.
    public var maskedCount: Int { values.reduce(0) { $0 + ($1 >= 0.5 ? 1 : 0) } }

    /// Fraction of masked pixels, in [0, 1].
    public var area: Double { Double(maskedCount) / Double(pixelCount) }

    /// True when no pixel is masked.
    public var isEmpty: Bool { !values.contains { $0 >= 0.5 } }

    /// True when every pixel is masked.
    public var isFull: Bool { !values.contains { $0 < 0.5 } }

    /// A one-line summary such as `<mask 512x384 area 9.8%>`.
    public var summary: String {
        let pct = (area * 1000).rounded() / 10
        return "<mask \(width)x\(height) area \(pct)%>"
    }

    /// Throws unless this mask has the size of `image`.
    public func checkSize(matches image: Image, what: String = "mask") throws {
        guard width == image.width, height == image.height else {
            throw ImagingError.sizeMismatch(what: "\(what) size", expected: "\(image.width)x\(image.height) (the image's)", got: "\(width)x\(height)")
        }
    }
}
