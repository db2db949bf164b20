import Tensor
import NN

/// diffusers' `Downsample2D`: a stride-2 convolution `conv` (3x3 by default) or, without one, 2x2 average pooling.
/// With `padding` 0 the input is first padded by one zero column on the right and one row at the bottom
/// (the VAE encoder's asymmetric padding, `F.pad(x, (0, 1, 0, 1))`).
public final class Downsample2D: Module {
    public let channels: Int
    public let outChannels: Int
    public let padding: Int
    /// The convolution (nil: average pooling).
    public let conv: Conv2d?

    /// A downsampler from `channels` to `outChannels` (default `channels`; pooling keeps the width).
    public init(channels: Int, useConv: Bool, outChannels: Int? = nil, padding: Int = 1, kernelSize: Int = 3,
                bias: Bool = true, rng: inout RNG) throws {
        let out = outChannels ?? channels
        guard channels > 0, out > 0, padding >= 0, kernelSize > 0 else {
            throw TensorError("Downsample2D", "invalid widths \(channels) -> \(out), padding \(padding), kernel \(kernelSize)")
        }
        guard useConv || out == channels else {
            throw TensorError("Downsample2D", "pooling cannot change the width \(channels) -> \(out)")
        }
        self.channels = channels; self.outChannels = out; self.padding = padding
        conv = useConv ? Conv2d(channels, out, kernelSize: kernelSize, stride: 2, padding: padding, bias: bias, rng: &rng) : nil
    }

    /// x (N, channels, H, W) -> (N, outChannels, H', W').
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard x.rank == 4, x.shape[1] == channels else {
            throw TensorError("Downsample2D", "input \(x.shape) should be (N, \(channels), H, W)")
        }
        guard let conv else { return try x.avgPool2d(kernel: 2, stride: 2) }
        let input = padding == 0 ? try x.padded(left: 0, right: 1, top: 0, bottom: 1) : x   // (N, C, H+1, W+1)
        return try conv(input)
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] { scoped("conv", conv) }
}

/// diffusers' `Upsample2D` (interpolating form): nearest-neighbour x2, then a convolution `conv` (3x3, padding 1 by
/// default) when it has one.
public final class Upsample2D: Module {
    public let channels: Int
    public let outChannels: Int
    public let conv: Conv2d?

    /// An upsampler from `channels` to `outChannels` (default `channels`).
    public init(channels: Int, useConv: Bool, outChannels: Int? = nil, kernelSize: Int = 3, padding: Int = 1,
                bias: Bool = true, rng: inout RNG) throws {
        let out = outChannels ?? channels
        guard channels > 0, out > 0, padding >= 0, kernelSize > 0 else {
            throw TensorError("Upsample2D", "invalid widths \(channels) -> \(out), padding \(padding), kernel \(kernelSize)")
        }
        guard useConv || out == channels else {
            throw TensorError("Upsample2D", "without a convolution the width stays \(channels), not \(out)")
        }
        self.channels = channels; self.outChannels = out
        conv = useConv ? Conv2d(channels, out, kernelSize: kernelSize, padding: padding, bias: bias, rng: &rng) : nil
    }

    /// x (N, channels, H, W) -> (N, outChannels, 2H, 2W), or (N, outChannels, oh, ow) for an `outputSize` (oh, ow)
    /// as the UNet passes for odd skip sizes. Nearest interpolation to oh in {2H - 1, 2H} reads the same source rows
    /// as x2 (floor(d * H / oh) = floor(d / 2)), so those sizes are a crop of the x2 result; others are refused.
    public func callAsFunction(_ x: Tensor, outputSize: (height: Int, width: Int)? = nil) throws -> Tensor {
        guard x.rank == 4, x.shape[1] == channels else {
            throw TensorError("Upsample2D", "input \(x.shape) should be (N, \(channels), H, W)")
        }
        let (h, w) = (x.shape[2], x.shape[3])
        var up = try x.upsampleNearest(scale: 2)                             // (N, C, 2H, 2W)
        if let size = outputSize, size != (2 * h, 2 * w) {
            guard (2 * h - 1)...(2 * h) ~= size.height, (2 * w - 1)...(2 * w) ~= size.width else {
                throw TensorError("Upsample2D", "output size (\(size.height), \(size.width)) from (\(h), \(w)) is not a x2 nearest upsampling")
            }
            if size.height != 2 * h { up = try up.slice(axis: 2, 0, size.height) }
            if size.width != 2 * w { up = try up.slice(axis: 3, 0, size.width) }
        }
        return try conv?(up) ?? up
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] { scoped("conv", conv) }
}
