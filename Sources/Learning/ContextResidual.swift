import Imaging
import Tensor

/// What the surroundings of a hole predict inside it, and how far a removal result is from that: the
/// discriminator's optional extra input.
///
/// The prediction is a normalised convolution of the source outside the mask: a Gaussian-weighted average of
/// the unmasked pixels (`blur(source * keep) / blur(keep)`, keep = 1 - hard mask). The residual is
/// `gain * (result - prediction)` inside the mask and 0 outside. A fill whose colour and shading continue the
/// surroundings leaves a small residual; a smear, a blob of the wrong colour or an object drawn back in leaves a
/// large one. It is the same comparison a person makes at a glance, handed to a network that would otherwise
/// need thousands of labels to learn it (measured: Docs/learning.md).
public enum ContextResidual {
    /// Scale of the residual (pixel differences of 0.05-0.2 become 0.2-0.8, the range of the other inputs).
    public static let gain: Float = 4
    /// Gaussian standard deviation as a fraction of the image's shorter side.
    public static let sigmaFraction = 0.125

    /// The surroundings' prediction for every pixel of `source` (RGB, in [0, 1]); pixels with no unmasked
    /// neighbour within reach keep the mean of all unmasked pixels (mid-gray when none are).
    public static func prediction(source: Image, mask: Mask) throws -> Image {
        try mask.checkSize(matches: source)
        let rgb = try source.converted(toChannels: 3)
        let (w, h) = (rgb.width, rgb.height)
        let sigma = max(0.5, sigmaFraction * Double(min(w, h)))
        let radius = max(1, Int((3 * sigma).rounded(.up)))
        let kernel = Mask.gaussianKernel(sigma: sigma, radius: radius)

        let keep = mask.values.map { $0 >= 0.5 ? Float(0) : 1 }                      // (H, W)
        let keepBlur = Mask.separableBlur(keep, width: w, height: h, kernel: kernel)
        let kept = keep.reduce(0, +)
        var out = [Float](repeating: 0, count: w * h * 3)
        for c in 0..<3 {
            var plane = [Float](repeating: 0, count: w * h)
            var sum: Float = 0
            for i in 0..<(w * h) {
                plane[i] = rgb.pixels[i * 3 + c] * keep[i]
                sum += plane[i]
            }
            let fallback = kept > 0 ? sum / kept : 0.5
            let blurred = Mask.separableBlur(plane, width: w, height: h, kernel: kernel)
            for i in 0..<(w * h) {
                out[i * 3 + c] = keepBlur[i] > 1e-4 ? blurred[i] / keepBlur[i] : fallback
            }
        }
        return try Image(width: w, height: h, channels: 3, pixels: out)
    }

    /// The residual as a tensor (1, 3, H, W): `gain * (result - prediction)` where the mask is >= 0.5, else 0.
    public static func compute(source: Image, mask: Mask, result: Image) throws -> Tensor {
        try mask.checkSize(matches: result, what: "mask (against the result)")
        return try residual(result: result, predicted: try prediction(source: source, mask: mask), mask: mask)
    }

    /// `gain * (result - predicted)` where the mask is >= 0.5, else 0, as a tensor (1, 3, H, W); `predicted` is RGB
    /// of the result's size.
    static func residual(result: Image, predicted: Image, mask: Mask) throws -> Tensor {
        let res = try result.converted(toChannels: 3)
        let (w, h) = (res.width, res.height), plane = w * h
        var values = [Float](repeating: 0, count: 3 * plane)
        for i in 0..<plane where mask.values[i] >= 0.5 {
            for c in 0..<3 { values[c * plane + i] = gain * (res.pixels[i * 3 + c] - predicted.pixels[i * 3 + c]) }
        }
        return try Tensor(values, shape: [1, 3, h, w])
    }
}
