import NN
import Support
import Tensor

/// The network of RORem's `UNet2DConditionDiscriminator`: the SDXL UNet's encoder half (`conv_in`, the time and
/// `text_time` embeddings, the down blocks, the mid block; no up path) with LoRA adapters on the attention
/// projections, and `cls_pred_branch` on the mid block's output. Parameters carry RORem's names: the encoder's
/// diffusers names (adapters as `<module>.lora.down.weight` / `.lora.up.weight`) and `cls_pred_branch.N.*`.
///
/// The base weights are frozen; the adapters and the head are what training updates (`trainableParameters`).
public final class RORemDiscriminatorNetwork: Module {
    /// The attention projections RORem adapts (its `LoraConfig.target_modules`).
    public static let loraTargets = ["to_q", "to_k", "to_v", "to_out.0"]

    public let encoder: UNetEncoder
    public let head: DiscriminatorHead

    /// `encoder` (its weights are frozen here) under `head`.
    public init(encoder: UNetEncoder, head: DiscriminatorHead) throws {
        guard let width = encoder.config.blockOutChannels.last, width == head.inChannels else {
            throw TensorError("RORem discriminator", "the head reads \(head.inChannels) channels but the UNet's mid block has \(encoder.config.blockOutChannels.last ?? 0)")
        }
        self.encoder = encoder; self.head = head
        for p in encoder.parameters { p.isFrozen = true }
    }

    /// Whether the dotted module name is one of RORem's LoRA targets.
    public static func isLoRATarget(_ name: String) -> Bool {
        loraTargets.contains { name.hasSuffix("." + $0) } && (name.contains(".attn1.") || name.contains(".attn2."))
    }

    /// The adapted projections by module name.
    public var adapters: [(name: String, layer: Linear, adapter: LoRAAdapter)] {
        encoder.namedModules().compactMap { entry in
            guard let l = entry.module as? Linear, let a = l.lora else { return nil }
            return (entry.name, l, a)
        }
    }

    /// Attaches fresh adapters of `rank` (scale `alpha / rank`) to every target projection that has none, as PEFT's
    /// `init_lora_weights="gaussian"` does: down ~ N(0, 1/rank), up = 0. Returns the modules adapted.
    @discardableResult
    public func attachLoRA(rank: Int, alpha: Float? = nil, rng: inout RNG) throws -> [String] {
        let names = try LoRA.wrap(encoder, rank: rank, alpha: alpha, rng: &rng, matching: Self.isLoRATarget)
        for (name, _, adapter) in adapters where names.contains(name) {
            var values = [Float](repeating: 0, count: adapter.down.value.count)
            for i in values.indices { values[i] = rng.nextNormal() / Float(rank) }
            try adapter.down.assign(Tensor(values, shape: adapter.down.shape), name: name + ".lora.down.weight")
        }
        return names
    }

    /// The adapters' and the head's parameters: what training updates.
    public var trainableParameters: [Parameter] {
        adapters.flatMap { [$0.adapter.down, $0.adapter.up] } + head.parameters
    }

    /// Scores (N) for sample (N, in_channels, h, w) at timestep 0 with context (N, L, D) and the added conditions;
    /// records a graph when `GradMode` is on.
    public func forward(_ sample: Tensor, context: Tensor, added: AddedConditions) throws -> Tensor {
        try head(encoder.forward(sample, timesteps: [0], encoderHiddenStates: context, added: added).sample)
    }

    /// The head's logits (N) instead of the scores (for BCE on logits).
    public func logits(_ sample: Tensor, context: Tensor, added: AddedConditions) throws -> Tensor {
        try head.logits(encoder.forward(sample, timesteps: [0], encoderHiddenStates: context, added: added).sample)
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        encoder.namedParameters() + scoped("cls_pred_branch", head)
    }
}
