import Imaging
import Tensor

/// Conversions between Imaging's interleaved images and masks and NCHW tensors, where images meet tensors.
public enum ImageTensor {
    /// How pixel values in [0, 1] map to tensor values.
    public enum ValueScale: String, Codable, Sendable {
        /// Tensor values equal pixel values, in [0, 1].
        case unit
        /// Tensor value = 2 * pixel - 1, in [-1, 1] (the convention of diffusion and inpainting models).
        case signed

        /// Tensor value for a pixel value.
        @inline(__always) func encode(_ v: Float) -> Float { self == .unit ? v : 2 * v - 1 }
        /// Pixel value for a tensor value, clamped to [0, 1].
        @inline(__always) func decode(_ v: Float) -> Float {
            let p = self == .unit ? v : (v + 1) * 0.5
            return min(max(p, 0), 1)
        }
    }

    /// Images of one size as a batch (N, 3, H, W); gray and RGBA images are converted to RGB first.
    public static func batch(_ images: [Image], scale: ValueScale = .unit) throws -> Tensor {
        guard let first = images.first else { throw LearningError.invalidData(what: "ImageTensor.batch", reason: "no images") }
        let (h, w) = (first.height, first.width)
        var out = Tensor(zeros: [images.count, 3, h, w])
        try out.withMutableValues { dst in
            for (n, image) in images.enumerated() {
                guard image.width == w, image.height == h else {
                    throw LearningError.invalidData(what: "ImageTensor.batch",
                                                    reason: "image \(n) is \(image.width)x\(image.height) but image 0 is \(w)x\(h)")
                }
                let rgb = try image.converted(toChannels: 3)
                rgb.pixels.withUnsafeBufferPointer { src in
                    let plane = h * w, base = n * 3 * plane
                    for i in 0..<plane {
                        for c in 0..<3 { dst[base + c * plane + i] = scale.encode(src[i * 3 + c]) }
                    }
                }
            }
        }
        return out
    }

    /// Masks of one size as a batch (N, 1, H, W); with `binary` (default) values are 1 where masked (>= 0.5), else 0.
    public static func batch(_ masks: [Mask], binary: Bool = true) throws -> Tensor {
        guard let first = masks.first else { throw LearningError.invalidData(what: "ImageTensor.batch", reason: "no masks") }
        let (h, w) = (first.height, first.width)
        var out = Tensor(zeros: [masks.count, 1, h, w])
        try out.withMutableValues { dst in
            for (n, mask) in masks.enumerated() {
                guard mask.width == w, mask.height == h else {
                    throw LearningError.invalidData(what: "ImageTensor.batch",
                                                    reason: "mask \(n) is \(mask.width)x\(mask.height) but mask 0 is \(w)x\(h)")
                }
                for i in 0..<(h * w) {
                    let v = mask.values[i]
                    dst[n * h * w + i] = binary ? (v >= 0.5 ? 1 : 0) : min(max(v, 0), 1)
                }
            }
        }
        return out
    }

    /// A batch (N, C, H, W) with C of 1, 3 or 4 back as images, values decoded by `scale` and clamped to [0, 1].
    public static func images(from tensor: Tensor, scale: ValueScale = .unit) throws -> [Image] {
        guard tensor.rank == 4, [1, 3, 4].contains(tensor.shape[1]) else {
            throw LearningError.invalidData(what: "ImageTensor.images",
                                            reason: "tensor of shape \(tensor.shape) is not (N, C, H, W) with C of 1, 3 or 4")
        }
        let (n, c, h, w) = (tensor.shape[0], tensor.shape[1], tensor.shape[2], tensor.shape[3])
        let plane = h * w
        return try tensor.withValues { src in
            try (0..<n).map { b in
                var pixels = [Float](repeating: 0, count: plane * c)
                for i in 0..<plane {
                    for ch in 0..<c { pixels[i * c + ch] = scale.decode(src[(b * c + ch) * plane + i]) }
                }
                return try Image(width: w, height: h, channels: c, pixels: pixels)
            }
        }
    }

    /// The remover's input (N, 4, H, W): the sources in [-1, 1] with masked pixels set to 0 (so nothing of the
    /// object leaks through), then the binary mask as the fourth channel. Images and masks must share one size.
    public static func zeroedInput(images: [Image], masks: [Mask]) throws -> Tensor {
        guard images.count == masks.count else {
            throw LearningError.invalidData(what: "ImageTensor.zeroedInput", reason: "\(images.count) images but \(masks.count) masks")
        }
        let rgb = try batch(images, scale: .signed)    // (N, 3, H, W)
        let m = try batch(masks, binary: true)          // (N, 1, H, W)
        guard rgb.shape[2] == m.shape[2], rgb.shape[3] == m.shape[3] else {
            throw LearningError.invalidData(what: "ImageTensor.zeroedInput",
                                            reason: "masks are \(m.shape[3])x\(m.shape[2]) but images are \(rgb.shape[3])x\(rgb.shape[2])")
        }
        return try zeroedInput(signedImages: rgb, masks: m)
    }

    /// The remover's input (N, 4, H, W) from signed images (N, 3, H, W) and binary masks (N, 1, H, W).
    static func zeroedInput(signedImages rgb: Tensor, masks m: Tensor) throws -> Tensor {
        let (n, h, w) = (rgb.shape[0], rgb.shape[2], rgb.shape[3])
        let plane = h * w
        var out = Tensor(zeros: [n, 4, h, w])
        out.withMutableValues { dst in
            rgb.withValues { src in
                m.withValues { mv in
                    for b in 0..<n {
                        for i in 0..<plane {
                            let keep: Float = mv[b * plane + i] >= 0.5 ? 0 : 1
                            for c in 0..<3 { dst[(b * 4 + c) * plane + i] = src[(b * 3 + c) * plane + i] * keep }
                            dst[(b * 4 + 3) * plane + i] = 1 - keep
                        }
                    }
                }
            }
        }
        return out
    }
}
