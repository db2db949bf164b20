/// Gradient checkpointing: a segment of the network runs forward without keeping its activations, and backward
/// runs it again with recording on to get them. Memory for a deep network falls from all activations to those at
/// segment boundaries, for one extra forward per segment (PyTorch's `torch.utils.checkpoint`).
final class Recompute {
    let body: ([Tensor]) throws -> Tensor

    init(_ body: @escaping ([Tensor]) throws -> Tensor) { self.body = body }

    /// Reruns the segment on fresh leaves holding the inputs' values, back-propagates `grad` through it, and
    /// returns the gradients of the inputs. Parameters the segment reads directly (its weights) get their
    /// gradients added by that inner backward, exactly as without checkpointing.
    func backward(inputs: [Tensor], grad: Tensor) throws -> [Tensor?] {
        let leaves = inputs.map { $0.node == nil ? $0.detached : $0.detached.requiringGrad() }
        let output = try GradMode.withGrad { try body(leaves) }
        guard output.shape == grad.shape else {
            throw TensorError("checkpoint", "the recomputed segment returned shape \(shapeText(output.shape)), not \(shapeText(grad.shape)); a checkpointed body must be deterministic")
        }
        if output.node != nil { try output.backward(seed: grad) }
        return leaves.map { $0.node == nil ? nil : ($0.grad ?? Tensor(zeros: $0.shape)) }
    }
}

extension Tensor {
    /// Runs `body(inputs)` as a checkpointed segment: when a graph would be recorded, the forward keeps nothing
    /// but the inputs, and backward recomputes the segment. Without recording it is a plain call.
    ///
    /// `body` must be deterministic (no dropout drawn from a shared RNG) and read its weights as parameters
    /// (captured `Parameter` values), whose gradients accumulate as usual.
    public static func checkpoint(_ inputs: [Tensor], _ body: @escaping ([Tensor]) throws -> Tensor) throws -> Tensor {
        guard GradMode.isEnabled else { return try body(inputs) }
        let output = try GradMode.noGrad { try body(inputs.map(\.detached)) }
        // The segment's parameters are not among `inputs`; record a node whenever any gradient can flow, so that the
        // inner backward reaches them.
        var result = output.detached
        result.node = GradNode(op: .checkpoint(Recompute(body)), inputs: inputs)
        return result
    }
}
