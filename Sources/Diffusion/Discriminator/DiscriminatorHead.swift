import NN
import Tensor

/// RORem's `cls_pred_branch`: three stages of a 4x4 strided convolution, GroupNorm(32) and SiLU, then a 1x1
/// convolution to one value, under PyTorch's `nn.Sequential` names `0` ... `9` (`0`, `3`, `6`: convolutions; `1`,
/// `4`, `7`: group norms; `9`: the last convolution; `2`, `5`, `8` are the SiLUs and hold nothing).
///
/// At 512 px the mid block's output is 16x16, and the strides take it to 8x8, 4x4 and 1x1 (stride 2 padding 1, stride
/// 2 padding 1, stride 4 padding 0). RORem's file has 1280 input and hidden channels; here both come from the weights.
public final class DiscriminatorHead: Module {
    /// Groups of every group norm (RORem: 32).
    public static let groups = 32
    public let conv0: Conv2d, norm1: GroupNorm
    public let conv3: Conv2d, norm4: GroupNorm
    public let conv6: Conv2d, norm7: GroupNorm
    public let conv9: Conv2d
    /// Channels of the feature map the head reads (the mid block's width).
    public let inChannels: Int
    /// Channels of the hidden stages.
    public let width: Int

    /// A head reading `inChannels` channels with `width` hidden channels, initialised as PyTorch does from `rng`.
    /// Throws unless `width` is a positive multiple of 32 (its group norms).
    public init(inChannels: Int, width: Int, rng: inout RNG) throws {
        guard inChannels > 0, width > 0, width % Self.groups == 0 else {
            throw TensorError("cls_pred_branch", "width \(width) must be a positive multiple of \(Self.groups) (GroupNorm(\(Self.groups))) and the input \(inChannels) channels positive")
        }
        self.inChannels = inChannels; self.width = width
        conv0 = Conv2d(inChannels, width, kernelSize: 4, stride: 2, padding: 1, rng: &rng)
        norm1 = GroupNorm(groups: Self.groups, channels: width)
        conv3 = Conv2d(width, width, kernelSize: 4, stride: 2, padding: 1, rng: &rng)
        norm4 = GroupNorm(groups: Self.groups, channels: width)
        conv6 = Conv2d(width, width, kernelSize: 4, stride: 4, padding: 0, rng: &rng)
        norm7 = GroupNorm(groups: Self.groups, channels: width)
        conv9 = Conv2d(width, 1, kernelSize: 1, rng: &rng)
    }

    /// The raw logit (N) for the mid block's output x (N, inChannels, H, W); the strides must bring H and W to 1
    /// (16 ... 31 at the mid block, e.g. 16x16 at 512 px for SDXL), as RORem's `squeeze(dim=[1, 2, 3])` needs.
    public func logits(_ x: Tensor) throws -> Tensor {
        guard x.rank == 4, x.shape[1] == inChannels else {
            throw TensorError("cls_pred_branch", "input \(x.shape) should be (N, \(inChannels), H, W)")
        }
        let n = x.shape[0]
        guard (16...31).contains(x.shape[2]), (16...31).contains(x.shape[3]) else {
            throw TensorError("cls_pred_branch", "the mid block's output \(x.shape) must be 16 to 31 pixels on each side so that the head's strides reach 1x1 (SDXL at 512 px: 16x16; choose the resolution accordingly)")
        }
        var h = try stage(conv0(x), norm1)                     // (N, W, H/2, W/2)
        h = try stage(conv3(h), norm4)                         // (N, W, H/4, W/4)
        h = try stage(conv6(h), norm7)                         // (N, W, 1, 1)
        return try conv9(h).reshaped([n])                      // (N)
    }

    /// softplus(logit) (N): RORem's score, which is not bounded by 1.
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try logits(x).softplus() }

    private func stage(_ x: Tensor, _ norm: GroupNorm) throws -> Tensor {
        try Tensor.groupNorm(x, groups: norm.groups, weight: norm.weight.value, bias: norm.bias.value, eps: norm.eps, activation: .silu)
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        scoped("0", conv0) + scoped("1", norm1) + scoped("3", conv3) + scoped("4", norm4) + scoped("6", conv6)
            + scoped("7", norm7) + scoped("9", conv9)
    }
}
