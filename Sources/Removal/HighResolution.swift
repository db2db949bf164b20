import Imaging

/// How ``Remover/remove(_:mask:strategy:)`` handles large images: it works on a crop around the mask with
/// some context, downscales the crop when it is larger than the remover's working size, and pastes the
/// fill back at full resolution.
public struct HighResolution: Hashable, Sendable {
    /// Context kept on each side of the mask's bounding box, as a fraction of the box's larger side.
    public var margin: Double
    /// Least context kept on each side, in pixels (at least 1).
    public var minimumMargin: Int
    /// Pixels by which a downscaled mask is grown, so that the object's edge stays covered.
    public var dilation: Int
    /// Hand the remover the whole image instead of a crop around the mask (removers that resize the whole image
    /// themselves, as RORem's scripts do).
    public var wholeImage = false

    /// The whole image, no crop.
    public static let whole: HighResolution = { var s = HighResolution(); s.wholeImage = true; return s }()

    /// A strategy with the given margins; the defaults keep half the box's larger side (32 px at least)
    /// of context and grow a downscaled mask by 1 px.
    public init(margin: Double = 0.5, minimumMargin: Int = 32, dilation: Int = 1) {
        self.margin = max(0, margin.isFinite ? margin : 0)
        self.minimumMargin = max(1, minimumMargin)
        self.dilation = max(0, dilation)
    }
}

extension Remover {
    /// Removes the masked object from `image`: the result has the image's size, and every pixel outside the
    /// mask (value < 0.5) is exactly the input's.
    ///
    /// An empty mask returns `image` unchanged (callers may want to warn). Throws
    /// ``RemovalError/sizeMismatch(image:mask:)`` when the sizes differ and ``RemovalError/fullMask(remover:size:)``
    /// when the mask covers every pixel.
    public func remove(_ image: Image, mask: Mask, strategy given: HighResolution? = nil) throws -> Image {
        guard try RemovalInput.needsFill(image, mask: mask, remover: name),
              let bounds = mask.boundingBox() else { return image }
        let strategy = given ?? preferredStrategy
        let box = strategy.cropBox(around: bounds, width: image.width, height: image.height)
        let binary = mask.thresholded()
        let cropImage = try image.cropped(to: box)
        let cropMask = try binary.cropped(to: box)

        var work = cropImage, workMask = cropMask
        let longest = max(box.width, box.height)
        if let size = workingSize, size > 0, longest > size {
            let scale = Double(size) / Double(longest)
            let w = max(1, Int((Double(box.width) * scale).rounded()))
            let h = max(1, Int((Double(box.height) * scale).rounded()))
            // Any coverage marks a small pixel, then growing covers the object's antialiased edge.
            let small = try cropMask.resized(width: w, height: h, threshold: 0.01)
            // A square, not Imaging's elliptical kernel: bilinear upsampling reads diagonal neighbours too.
            let square = MaskOps.dilated(small.values.map { $0 >= 0.5 }, width: w, height: h, radius: strategy.dilation)
            let grown = try Mask(width: w, height: h, values: square.map { $0 ? 1 : 0 })
            // Growing can swallow a small crop whole; fall back to the ungrown mask, then to full size.
            if let usable = [grown, small].first(where: { !$0.isFull }) {
                work = try cropImage.resized(width: w, height: h, filter: .area)
                workMask = usable
            }
        }

        var fill = try inpaint(work, mask: workMask)
        guard fill.width == work.width, fill.height == work.height, fill.channels == work.channels else {
            throw RemovalError.badResult(remover: name, expected: "\(work.width)x\(work.height)x\(work.channels)",
                                         got: "\(fill.width)x\(fill.height)x\(fill.channels)")
        }
        if fill.width != box.width || fill.height != box.height {
            fill = try fill.resized(width: box.width, height: box.height, filter: .bilinear)
        }
        // Bilinear, not bicubic: its one-pixel reach stays inside the grown mask, so the pasted pixels come
        // from the fill alone. Paste back: only pixels of the original (binary) mask take the fill.
        let pasted = try image.pasting(fill, at: box.x, box.y)
        return try Compositing.composite(result: pasted, original: image, mask: binary)
    }
}

extension HighResolution {
    /// The crop around `bounds` with this strategy's margin, clamped to a `width` x `height` image.
    func cropBox(around bounds: PixelRect, width: Int, height: Int) -> PixelRect {
        if wholeImage { return PixelRect(x: 0, y: 0, width: width, height: height) }
        let extra = max(minimumMargin, Int((margin * Double(max(bounds.width, bounds.height))).rounded()))
        let x0 = max(0, bounds.x - extra), y0 = max(0, bounds.y - extra)
        let x1 = min(width, bounds.x + bounds.width + extra), y1 = min(height, bounds.y + bounds.height + extra)
        return PixelRect(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }
}

/// Input checks shared by ``Remover/remove(_:mask:strategy:)`` and the removers' `inpaint`.
enum RemovalInput {
    /// Throws when the sizes differ or the mask is full; returns false when the mask is empty (nothing to do).
    static func needsFill(_ image: Image, mask: Mask, remover: String) throws -> Bool {
        guard image.width == mask.width, image.height == mask.height else {
            throw RemovalError.sizeMismatch(image: "\(image.width)x\(image.height)", mask: "\(mask.width)x\(mask.height)")
        }
        if mask.isEmpty { return false }
        if mask.isFull { throw RemovalError.fullMask(remover: remover, size: "\(image.width)x\(image.height)") }
        return true
    }
}
