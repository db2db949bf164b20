import Imaging
import NN
import Tensor

/// Training RORem's discriminator: the adapters and the head learn, the base stays frozen, as RORem's
/// `train_RORem_discriminator.py` does (there with `trainable_modules = ["cls_pred_branch"]` plus the LoRA).
extension RORemDiscriminator {
    /// One labelled triplet in latent space; `latents(for:)` and `maskLatents(for:)` make them from images, so a
    /// training loop can cache them across epochs.
    public struct Example {
        /// The result's latents (1, 4, h, w).
        public var resultLatents: Tensor
        /// The mask at latent size (1, 1, h, w), 0 or 1.
        public var mask: Tensor
        /// The source's latents (1, 4, h, w).
        public var sourceLatents: Tensor
        /// 1 for an accepted removal, 0 for a rejected one.
        public var label: Float

        public init(resultLatents: Tensor, mask: Tensor, sourceLatents: Tensor, label: Float) {
            self.resultLatents = resultLatents; self.mask = mask; self.sourceLatents = sourceLatents; self.label = label
        }
    }

    /// The training objective.
    public enum Loss: String, CaseIterable, Sendable {
        /// RORem's: mean squared error between the softplus score and the 0/1 label.
        case mse
        /// Binary cross-entropy with sigmoid(logit) as the probability, on the head's logit before softplus
        /// (`binary_cross_entropy_with_logits`). The score reported stays softplus(logit), so after BCE training
        /// the score that means "accepted with probability p" is softplus(log(p / (1 - p))): p = 0.5 is a score
        /// of 0.69, and RORem's threshold 0.9 corresponds to p = 0.59.
        case bce
    }

    /// One labelled (source, mask, result) triplet in latent space (posterior means, the mask at latent size), as a
    /// training loop caches it.
    public func example(source: Image, mask: Mask, result: Image, label: Float) throws -> Example {
        Example(resultLatents: try latents(for: result), mask: try maskLatents(for: mask),
                sourceLatents: try latents(for: source), label: label)
    }

    /// The adapters' and the head's parameters.
    public var trainableParameters: [Parameter] { network.trainableParameters }

    /// AdamW over `trainableParameters` with PyTorch's defaults (betas 0.9 / 0.999, eps 1e-8, weight decay 0.01).
    public func makeOptimizer(learningRate: Float = 1e-4, weightDecay: Float = 0.01) -> Adam {
        Adam.adamW(parameters: trainableParameters, learningRate: learningRate, weightDecay: weightDecay)
    }

    /// The loss of `batch` as a scalar tensor with its graph (what `Learning.Trainer.run` takes); backward fills the
    /// trainable parameters' `grad`. Records a graph whatever the calling thread's `GradMode`; with
    /// `gradientCheckpointing` (the default) the encoder recomputes its blocks in backward instead of keeping them.
    public func loss(batch: [Example], loss: Loss = .mse, gradientCheckpointing: Bool = true) throws -> Tensor {
        guard !batch.isEmpty else { throw PipelineError("training batch", "is empty") }
        guard batch.allSatisfy({ $0.label.isFinite }) else { throw PipelineError("training batch", "labels must be finite") }
        let input = try Tensor.concat(batch.map {
            try Self.input(resultLatents: $0.resultLatents, mask: $0.mask, sourceLatents: $0.sourceLatents)
        }, axis: 0)                                                                  // (N, 9, h, w)
        let labels = try Tensor(batch.map(\.label), shape: [batch.count])            // (N)
        let encoder = network.encoder
        let previous = encoder.gradientCheckpointing
        encoder.gradientCheckpointing = gradientCheckpointing
        defer { encoder.gradientCheckpointing = previous }
        return try GradMode.withGrad {
            let (context, added) = try conditioning(batch: batch.count)
            switch loss {
            case .mse: return try Tensor.mseLoss(network.forward(input, context: context, added: added), labels)
            case .bce: return try Tensor.bceWithLogitsLoss(network.logits(input, context: context, added: added), labels)
            }
        }
    }

    /// The loss of `batch` and its gradients, accumulated into the trainable parameters' `grad` (call `zeroGrad`
    /// first, or use `trainStep`).
    @discardableResult
    public func lossAndGradients(batch: [Example], loss: Loss = .mse, gradientCheckpointing: Bool = true) throws -> Float {
        let value = try self.loss(batch: batch, loss: loss, gradientCheckpointing: gradientCheckpointing)
        try GradMode.withGrad { try value.backward() }
        return value.item
    }

    /// The adapters' rank (RORem's: 4); 0 without adapters.
    public var loraRank: Int { network.adapters.first?.adapter.down.shape[0] ?? 0 }

    /// One optimisation step on `batch`: zero the gradients, `lossAndGradients`, `optimizer.step()`; returns the loss.
    @discardableResult
    public func trainStep(batch: [Example], loss: Loss = .mse, optimizer: Optimizer, gradientCheckpointing: Bool = true) throws -> Float {
        for p in trainableParameters { p.zeroGrad() }
        let value = try lossAndGradients(batch: batch, loss: loss, gradientCheckpointing: gradientCheckpointing)
        optimizer.step()
        return value
    }
}
