import Tensor
import NN

/// diffusers' `UNet2DConditionModel` as SDXL (base, inpainting, RORem) uses it, built from its `config.json`
/// (`UNetConfig`) with diffusers' parameter names, so its `diffusion_pytorch_model.safetensors` loads by name.
///
///     emb = time_embedding(time_proj(t)) + add_embedding([text_embeds, add_time_proj(time_ids)])
///     h = conv_in(sample); skips = [h] + down blocks' skips; h = mid_block(h)
///     for each up block: h = up(h, its skips from the end, resized to the next skip)
///     out = conv_out(act(conv_norm_out(h)))
///
/// The encoder half (`encoder`) is a module of its own, for RORem's discriminator.
public final class UNet2DConditionModel: Module {
    public let config: UNetConfig
    /// conv_in, the embeddings, the down blocks and the mid block.
    public let encoder: UNetEncoder
    public let upBlocks: [UNetUpBlock]
    public let convNormOut: GroupNorm
    public let convOut: Conv2d

    /// The UNet of `config`, initialised as PyTorch does from `rng` (no memory is touched inside
    /// `Initializer.deferred`, for loading). Throws on widths that do not fit.
    public init(config: UNetConfig, rng: inout RNG) throws {
        self.config = config
        encoder = try UNetEncoder(config: config, rng: &rng)
        let settings = UNetResnetSettings(config)
        var blocks: [UNetUpBlock] = []
        for i in 0..<config.blockOutChannels.count {
            blocks.append(try UNetUpBlock(config: config, index: i, settings: settings, rng: &rng))
        }
        upBlocks = blocks
        let first = config.blockOutChannels[0]
        convNormOut = GroupNorm(groups: config.normNumGroups, channels: first, eps: config.normEps)
        convOut = Conv2d(first, config.outChannels, kernelSize: config.convOutKernel, padding: (config.convOutKernel - 1) / 2, rng: &rng)
    }

    /// Recompute each resnet and transformer in backward instead of keeping its activations (training only).
    public var gradientCheckpointing: Bool {
        get { encoder.gradientCheckpointing }
        set { encoder.gradientCheckpointing = newValue }
    }

    /// The noise (or v) prediction, recording a graph when `GradMode` is on; `callAsFunction` is the inference form.
    ///
    /// - sample: (N, in_channels, H, W), any H and W (odd sizes are resized on the way up as diffusers does)
    /// - timesteps: one value for the batch, or N
    /// - encoderHiddenStates: (N, L, cross_attention_dim), the text encoders' hidden states
    /// - added: `text_embeds` and `time_ids`, required for `addition_embed_type: "text_time"`
    /// - timestepCond: (N, time_cond_proj_dim) for LCM-distilled UNets, else nil
    /// - projections: a memo of the cross-attention layers' key and value projections of `encoderHiddenStates`,
    ///   kept across the calls of a denoising loop (inference only; see `ContextProjections`)
    /// - returns: (N, out_channels, H, W)
    public func forward(_ sample: Tensor, timesteps: [Float], encoderHiddenStates: Tensor, added: AddedConditions? = nil,
                        timestepCond: Tensor? = nil, projections: ContextProjections? = nil) throws -> Tensor {
        let encoded = try encoder.forward(sample, timesteps: timesteps, encoderHiddenStates: encoderHiddenStates,
                                          added: added, timestepCond: timestepCond, projections: projections)
        var h = encoded.sample
        var skips = encoded.skips
        for block in upBlocks {
            let mine = Array(skips.suffix(block.skipCount))
            skips.removeLast(mine.count)
            let next = skips.last.map { ($0.shape[2], $0.shape[3]) }
            h = try block(h, skips: mine, temb: encoded.embedding, context: encoderHiddenStates, projections: projections, outputSize: next,
                          checkpointing: gradientCheckpointing)
        }
        return try convOut(config.activation.after(convNormOut, h))     // (N, out, H, W)
    }

    /// Inference: `forward` without recording a graph, so nothing is kept for backward and activations are freed as
    /// soon as the next block has used them.
    public func callAsFunction(_ sample: Tensor, timesteps: [Float], encoderHiddenStates: Tensor,
                               added: AddedConditions? = nil, timestepCond: Tensor? = nil,
                               projections: ContextProjections? = nil) throws -> Tensor {
        try GradMode.noGrad {
            try forward(sample, timesteps: timesteps, encoderHiddenStates: encoderHiddenStates, added: added,
                        timestepCond: timestepCond, projections: projections)
        }
    }

    /// Inference at one timestep for the whole batch.
    public func callAsFunction(_ sample: Tensor, timestep: Float, encoderHiddenStates: Tensor,
                               added: AddedConditions? = nil, timestepCond: Tensor? = nil,
                               projections: ContextProjections? = nil) throws -> Tensor {
        try self(sample, timesteps: [timestep], encoderHiddenStates: encoderHiddenStates, added: added,
                 timestepCond: timestepCond, projections: projections)
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        var out = encoder.namedParameters()
        for (i, b) in upBlocks.enumerated() { out += scoped("up_blocks.\(i)", b) }
        return out + scoped("conv_norm_out", convNormOut) + scoped("conv_out", convOut)
    }
}
