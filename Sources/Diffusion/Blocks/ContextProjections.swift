import Foundation
import Tensor
import NN

/// A memo of cross-attention's key and value projections of a fixed context, for one denoising loop.
///
/// Every UNet evaluation of a loop projects the same text context through each cross-attention layer's `to_k` and
/// `to_v` (SDXL: 70 layers, 140 products of 77 x 2048 by 2048 x 640 or 1280 per sample). With a memo passed to the
/// UNet, the first evaluation computes them and the later ones reuse them; the results are the same bits, since the
/// same products run once instead of at every step.
///
/// An entry is used only while it matches: the same context tensor (storage and shape) and the same weight and bias
/// storages of `to_k` and `to_v`, and only for inference (no graph recorded) and for layers without an unfused
/// LoRA adapter; anything else computes afresh, and a new context replaces the entry. The memo holds the context and
/// the weights it was made from, so a copy-on-write tensor cannot change under it; an in-place edit of a
/// parameter's values (`Parameter.withMutableValues`, as optimizers do) is not seen, so keep one memo for one loop.
/// Safe to share between threads.
public final class ContextProjections: @unchecked Sendable {
    /// One layer's projections and what they were computed from.
    struct Entry {
        let context: Tensor
        let sources: [TensorStorage]         // to_k weight, to_v weight, then their biases
        let key: Tensor                      // (N, Lc, inner)
        let value: Tensor                    // (N, Lc, inner)

        func matches(_ context: Tensor, _ sources: [TensorStorage]) -> Bool {
            context.storage === self.context.storage && context.shape == self.context.shape
                && sources.count == self.sources.count && zip(sources, self.sources).allSatisfy { $0 === $1 }
        }
    }

    private let lock = NSLock()
    private var entries: [ObjectIdentifier: Entry] = [:]
    private var computedCount = 0

    /// An empty memo.
    public init() {}

    /// How many layers' projections the memo has computed (a layer computed again after its context changed counts
    /// twice).
    public var computed: Int { lock.withLock { computedCount } }

    /// How many layers it holds.
    public var count: Int { lock.withLock { entries.count } }

    /// `(to_k(context), to_v(context))` of `layer`: from the memo when it matches, else computed and kept. Callers
    /// check that no graph is recorded and that the projections have no unfused adapter.
    func projections(of layer: Attention, context: Tensor) throws -> (key: Tensor, value: Tensor) {
        let sources = [layer.toK.weight.value.storage, layer.toV.weight.value.storage]
            + [layer.toK.bias, layer.toV.bias].compactMap { $0?.value.storage }
        let id = ObjectIdentifier(layer)
        if let entry = lock.withLock({ entries[id] }), entry.matches(context, sources) {
            return (entry.key, entry.value)
        }
        let key = try layer.toK(context), value = try layer.toV(context)   // (N, Lc, inner) each
        lock.withLock {
            entries[id] = Entry(context: context, sources: sources, key: key, value: value)
            computedCount += 1
        }
        return (key, value)
    }
}
