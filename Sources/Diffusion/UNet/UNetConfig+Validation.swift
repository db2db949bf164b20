import Foundation

extension UNetConfig {
    /// Checks that the per-block values agree with each other (one entry per block, widths the heads and groups
    /// divide), as a config built in Swift may not; throws a `ConfigValueError` naming the diffusers key.
    public func validate() throws {
        let levels = blockOutChannels.count
        guard levels > 0, blockOutChannels.allSatisfy({ $0 > 0 }) else {
            throw ConfigValueError("block_out_channels", "should be a non-empty list of positive widths, not \(blockOutChannels)")
        }
        func count(_ key: String, _ n: Int) throws {
            guard n == levels else { throw ConfigValueError(key, "has \(n) entries for \(levels) down blocks") }
        }
        try count("down_block_types", downBlockTypes.count)
        try count("up_block_types", upBlockTypes.count)
        try count("layers_per_block", layersPerBlock.count)
        try count("cross_attention_dim", crossAttentionDim.count)
        try count("attention_head_dim", attentionHeads.count)
        try count("transformer_layers_per_block", transformerLayersPerBlock.count)
        try count("reverse_transformer_layers_per_block", reverseTransformerLayersPerBlock.count)
        for (key, value) in [("in_channels", inChannels), ("out_channels", outChannels)] where value <= 0 {
            throw ConfigValueError(key, "should be positive, not \(value)")
        }
        guard layersPerBlock.allSatisfy({ $0 > 0 }) else {
            throw ConfigValueError("layers_per_block", "should be positive, not \(layersPerBlock)")
        }
        guard crossAttentionDim.allSatisfy({ $0 > 0 }) else {
            throw ConfigValueError("cross_attention_dim", "should be positive, not \(crossAttentionDim)")
        }
        for (i, heads) in attentionHeads.enumerated() where heads <= 0 || blockOutChannels[i] % heads != 0 {
            throw ConfigValueError("attention_head_dim", "\(heads) heads do not divide block \(i)'s \(blockOutChannels[i]) channels")
        }
        guard normNumGroups > 0, blockOutChannels.allSatisfy({ $0 % normNumGroups == 0 }) else {
            throw ConfigValueError("norm_num_groups", "\(normNumGroups) does not divide every width of \(blockOutChannels)")
        }
        guard normEps.isFinite, normEps >= 0 else { throw ConfigValueError("norm_eps", "should be a non-negative number, not \(normEps)") }
        guard freqShift.isFinite else { throw ConfigValueError("freq_shift", "should be a finite number") }
        guard midBlockScaleFactor.isFinite, midBlockScaleFactor != 0 else {
            throw ConfigValueError("mid_block_scale_factor", "should be a non-zero number, not \(midBlockScaleFactor)")
        }
        guard downsamplePadding >= 0 else { throw ConfigValueError("downsample_padding", "should not be negative") }
        for (i, counts) in transformerLayersPerBlock.enumerated() where counts.count != layersPerBlock[i] || counts.contains(where: { $0 < 0 }) {
            throw ConfigValueError("transformer_layers_per_block", "block \(i) should have \(layersPerBlock[i]) non-negative counts, not \(counts)")
        }
        for (i, counts) in reverseTransformerLayersPerBlock.enumerated()
        where counts.count != layersPerBlock[levels - 1 - i] + 1 || counts.contains(where: { $0 < 0 }) {
            throw ConfigValueError("reverse_transformer_layers_per_block", "up block \(i) should have \(layersPerBlock[levels - 1 - i] + 1) non-negative counts, not \(counts)")
        }
        for (key, k) in [("conv_in_kernel", convInKernel), ("conv_out_kernel", convOutKernel)] where k <= 0 || k % 2 == 0 {
            throw ConfigValueError(key, "should be a positive odd size, not \(k)")
        }
        guard timeEmbedDim > 0 else { throw ConfigValueError("time_embedding_dim", "should be positive, not \(timeEmbedDim)") }
        if let t = timeCondProjDim, t <= 0 { throw ConfigValueError("time_cond_proj_dim", "should be positive, not \(t)") }
        if additionEmbedType == .textTime {
            guard let a = additionTimeEmbedDim, a > 0 else {
                throw ConfigValueError("addition_time_embed_dim", "a positive width is needed for addition_embed_type 'text_time'")
            }
            guard let p = projectionClassEmbeddingsInputDim, p > 6 * a else {
                throw ConfigValueError("projection_class_embeddings_input_dim", "should exceed 6 * addition_time_embed_dim = \(6 * a) (pooled text width + 6 time ids)")
            }
        }
    }
}
