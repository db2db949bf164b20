import Tensor
import NN

/// SDXL's added conditions (diffusers' `added_cond_kwargs` for `addition_embed_type: "text_time"`).
public struct AddedConditions {
    /// The pooled, projected text embedding of the second text encoder (N, textEmbedsDim); 1280 wide for SDXL.
    public var textEmbeds: Tensor
    /// The micro-conditioning ids (N, k), usually k = 6: original size (h, w), crop top-left (y, x), target size
    /// (h, w), e.g. (512, 512, 0, 0, 512, 512).
    public var timeIds: Tensor

    public init(textEmbeds: Tensor, timeIds: Tensor) {
        self.textEmbeds = textEmbeds; self.timeIds = timeIds
    }
}

/// What the encoder half computes: the mid block's output, the skip tensors for the up path, and the summed
/// time embedding the blocks received.
public struct UNetEncoderOutput {
    /// The mid block's output (N, block_out_channels.last, H / 2^(levels-1), ...), or the last down block's output
    /// for a UNet without a mid block.
    public var sample: Tensor
    /// conv_in's output, then each down block's skips, in diffusers' order (`down_block_res_samples`).
    public var skips: [Tensor]
    /// The time embedding (N, timeEmbedDim) after the added embedding and `time_embedding_act_fn`.
    public var embedding: Tensor
}

/// The encoder half of `UNet2DConditionModel`: `conv_in`, the time embedding (`time_proj` + `time_embedding`), the
/// `text_time` added embedding (`add_time_proj` + `add_embedding`), the down blocks and the mid block, under
/// diffusers' parameter names, so that a full UNet checkpoint loads into it (strictly, through `encoderPart(of:)`,
/// which drops the up path's tensors) and RORem's discriminator (`UNet2DConditionDiscriminator`, issue 17) can put its head on
/// `sample`. `UNet2DConditionModel` owns one and adds the up path.
public final class UNetEncoder: Module {
    public let config: UNetConfig
    public let convIn: Conv2d
    public let timeProj: Timesteps
    public let timeEmbedding: TimestepEmbedding
    public let addTimeProj: Timesteps?
    public let addEmbedding: TimestepEmbedding?
    public let downBlocks: [UNetDownBlock]
    public let midBlock: UNetMidBlock2DCrossAttn?
    /// Recompute each resnet and transformer in backward instead of keeping its activations (training only;
    /// diffusers' `enable_gradient_checkpointing`).
    public var gradientCheckpointing = false

    /// The encoder of `config` with PyTorch's default initialisation from `rng` (or none, inside
    /// `Initializer.deferred`). Throws on widths that do not fit.
    public init(config: UNetConfig, rng: inout RNG) throws {
        try config.validate()
        self.config = config
        let c = config
        let first = c.blockOutChannels[0]
        convIn = Conv2d(c.inChannels, first, kernelSize: c.convInKernel, padding: (c.convInKernel - 1) / 2, rng: &rng)
        timeProj = Timesteps(channels: first, flipSinToCos: c.flipSinToCos, downscaleFreqShift: c.freqShift)
        timeEmbedding = TimestepEmbedding(inChannels: first, timeEmbedDim: c.timeEmbedDim, activation: c.activation,
                                          postActivation: c.timestepPostActivation, condProjDim: c.timeCondProjDim, rng: &rng)
        if c.additionEmbedType == .textTime, let a = c.additionTimeEmbedDim, let p = c.projectionClassEmbeddingsInputDim {
            addTimeProj = Timesteps(channels: a, flipSinToCos: c.flipSinToCos, downscaleFreqShift: c.freqShift)
            // diffusers builds it with its default activation (silu), whatever act_fn says.
            addEmbedding = TimestepEmbedding(inChannels: p, timeEmbedDim: c.timeEmbedDim, rng: &rng)
        } else {
            addTimeProj = nil; addEmbedding = nil
        }
        let settings = UNetResnetSettings(c)
        var blocks: [UNetDownBlock] = []
        var channels = first
        for i in 0..<c.blockOutChannels.count {
            blocks.append(try UNetDownBlock(config: c, index: i, inChannels: channels, settings: settings, rng: &rng))
            channels = c.blockOutChannels[i]
        }
        downBlocks = blocks
        midBlock = c.midBlockType == nil ? nil : try UNetMidBlock2DCrossAttn(config: c, settings: settings, rng: &rng)
    }

    /// The summed time embedding (N, timeEmbedDim) for `timesteps` (1 value for the whole batch, or N).
    public func embedding(batch n: Int, timesteps: [Float], added: AddedConditions?, timestepCond: Tensor?) throws -> Tensor {
        guard timesteps.count == 1 || timesteps.count == n else {
            throw TensorError("UNet", "\(timesteps.count) timesteps for a batch of \(n) (give 1 or \(n))")
        }
        guard timesteps.allSatisfy({ $0.isFinite }) else { throw TensorError("UNet", "timesteps \(timesteps) are not finite") }
        let t = timesteps.count == n ? timesteps : Array(repeating: timesteps[0], count: n)
        if timestepCond != nil, timeEmbedding.condProj == nil {
            throw TensorError("UNet", "a timestep_cond was given but the config has no time_cond_proj_dim")
        }
        // Without a timestep_cond, diffusers adds nothing, even where the config has time_cond_proj_dim.
        var emb = try timeEmbedding(timeProj(t), condition: timestepCond)   // (N, T)
        if let addTimeProj, let addEmbedding {
            guard let added else {
                throw TensorError("UNet", "addition_embed_type 'text_time' needs text_embeds and time_ids")
            }
            let text = added.textEmbeds, ids = added.timeIds
            let width = addEmbedding.inChannels, a = addTimeProj.channels
            guard text.rank == 2, ids.rank == 2, text.shape[0] == n, ids.shape[0] == n,
                  text.shape[1] + ids.shape[1] * a == width else {
                throw TensorError("UNet", "text_embeds \(text.shape) and time_ids \(ids.shape) should be (\(n), E) and (\(n), k) with E + k * \(a) = \(width) (projection_class_embeddings_input_dim)")
            }
            let idValues = ids.values
            guard idValues.allSatisfy({ $0.isFinite }) else { throw TensorError("UNet", "time_ids are not finite") }
            let timeEmbeds = try addTimeProj(idValues).reshaped([n, ids.shape[1] * a])          // (N, k * a)
            emb = try emb + addEmbedding(Tensor.concat([text, timeEmbeds], axis: 1))
        } else if added != nil {
            throw TensorError("UNet", "text_embeds and time_ids were given but the config has no addition_embed_type")
        }
        if let act = config.timeEmbeddingActivation { emb = act(emb) }
        return emb
    }

    /// Runs the encoder half, recording a graph when `GradMode` is on (training); see `callAsFunction` for
    /// inference. sample (N, in_channels, H, W), context (N, L, cross_attention_dim).
    /// `projections` memoizes the cross-attention layers' key and value projections of the context across calls
    /// (inference only; see `ContextProjections`).
    public func forward(_ sample: Tensor, timesteps: [Float], encoderHiddenStates context: Tensor,
                        added: AddedConditions? = nil, timestepCond: Tensor? = nil,
                        projections: ContextProjections? = nil) throws -> UNetEncoderOutput {
        guard sample.rank == 4, sample.shape[0] > 0, sample.shape[1] == config.inChannels, sample.shape[2] > 0, sample.shape[3] > 0 else {
            throw TensorError("UNet", "sample \(sample.shape) should be (N, \(config.inChannels), H, W)")
        }
        let n = sample.shape[0]
        guard context.rank == 3, context.shape[0] == n, context.shape[1] > 0 else {
            throw TensorError("UNet", "encoder_hidden_states \(context.shape) should be (\(n), L, \(config.crossAttentionDim[0]))")
        }
        let emb = try embedding(batch: n, timesteps: timesteps, added: added, timestepCond: timestepCond)
        let x = config.centerInputSample ? sample * 2 - 1 : sample
        var h = try convIn(x)                                                // (N, C0, H, W)
        var skips = [h]
        for block in downBlocks {
            let (out, blockSkips) = try block(h, temb: emb, context: context, projections: projections,
                                             checkpointing: gradientCheckpointing)
            h = out
            skips += blockSkips
        }
        if let midBlock { h = try midBlock(h, temb: emb, context: context, projections: projections,
                                                checkpointing: gradientCheckpointing) }
        return UNetEncoderOutput(sample: h, skips: skips, embedding: emb)
    }

    /// Inference: `forward` without recording a graph (nothing is kept for backward).
    public func callAsFunction(_ sample: Tensor, timesteps: [Float], encoderHiddenStates: Tensor,
                               added: AddedConditions? = nil, timestepCond: Tensor? = nil,
                               projections: ContextProjections? = nil) throws -> UNetEncoderOutput {
        try GradMode.noGrad {
            try forward(sample, timesteps: timesteps, encoderHiddenStates: encoderHiddenStates, added: added,
                        timestepCond: timestepCond, projections: projections)
        }
    }

    /// Inference at one timestep for the whole batch.
    public func callAsFunction(_ sample: Tensor, timestep: Float, encoderHiddenStates: Tensor,
                               added: AddedConditions? = nil, timestepCond: Tensor? = nil,
                               projections: ContextProjections? = nil) throws -> UNetEncoderOutput {
        try self(sample, timesteps: [timestep], encoderHiddenStates: encoderHiddenStates, added: added,
                 timestepCond: timestepCond, projections: projections)
    }

    /// The name prefixes of a full UNet checkpoint's up path, which the encoder does not have.
    public static let upPathPrefixes = ["up_blocks.", "conv_norm_out.", "conv_out."]

    /// Whether the tensor `name` of a full UNet checkpoint belongs to the up path.
    public static func isUpPath(_ name: String) -> Bool { upPathPrefixes.contains { name.hasPrefix($0) } }

    /// A full UNet state dict without its up path: what a strict `load(stateDict:)` into the encoder expects, so a
    /// tensor missing from the checkpoint, or one that is neither the encoder's nor the up path's, is still an error.
    public static func encoderPart(of stateDict: [String: Tensor]) -> [String: Tensor] {
        stateDict.filter { !isUpPath($0.key) }
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        var out = scoped("conv_in", convIn) + scoped("time_embedding", timeEmbedding) + scoped("add_embedding", addEmbedding)
        for (i, b) in downBlocks.enumerated() { out += scoped("down_blocks.\(i)", b) }
        return out + scoped("mid_block", midBlock)
    }
}
