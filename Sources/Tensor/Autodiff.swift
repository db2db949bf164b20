import Foundation

/// A node of the reverse-mode graph: the primitive that made a tensor, its inputs, and (for leaves) the
/// accumulated gradient.
final class GradNode {
    /// The primitive and whatever it saved for its backward rule; `.leaf` for parameters and inputs;
    /// `.released` once `backward` has used and freed it.
    var op: Op
    /// The operands, with their own nodes.
    var inputs: [Tensor]
    /// Gradient accumulated by `backward`; kept only on leaves.
    var grad: Tensor?

    init(op: Op, inputs: [Tensor]) {
        self.op = op
        self.inputs = inputs
    }
}

/// Switches graph recording on and off (PyTorch's `no_grad`), per thread: a REPL program, a benchmark and a
/// training loop on other threads never see each other's setting.
public enum GradMode {
    /// The thread-local flag: absent (nil) means enabled, the default on every new thread.
    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()

    /// Whether operations on the current thread record a graph. Defaults to true on every thread.
    public internal(set) static var isEnabled: Bool {
        get { pthread_getspecific(key) == nil }
        set { pthread_setspecific(key, newValue ? nil : UnsafeRawPointer(bitPattern: 1)) }
    }

    /// Runs `body` without recording a graph on this thread: no nodes are allocated and nothing is saved for
    /// backward.
    public static func noGrad<R>(_ body: () throws -> R) rethrows -> R {
        let previous = isEnabled
        isEnabled = false
        defer { isEnabled = previous }
        return try body()
    }

    /// Runs `body` with recording on for this thread (inside a `noGrad`, e.g. to recompute a checkpointed part).
    public static func withGrad<R>(_ body: () throws -> R) rethrows -> R {
        let previous = isEnabled
        isEnabled = true
        defer { isEnabled = previous }
        return try body()
    }
}

extension Tensor {
    /// Whether gradients flow to this tensor. Setting it to true makes the tensor a leaf whose `grad`
    /// accumulates; setting it to false detaches it (freezing).
    public var requiresGrad: Bool {
        get { node != nil }
        set { node = newValue ? GradNode(op: .leaf, inputs: []) : nil }
    }

    /// This tensor as a fresh leaf that requires grad (shares storage).
    public func requiringGrad() -> Tensor {
        var t = detached
        t.requiresGrad = true
        return t
    }

    /// Whether this tensor is a leaf of the graph (a parameter or an input that requires grad).
    public var isLeaf: Bool { if case .leaf = node?.op { return true } else { return false } }

    /// The gradient accumulated on a leaf by `backward`; nil before the first backward or after `zeroGrad`.
    public var grad: Tensor? { node?.grad }

    /// Drops the accumulated gradient of a leaf.
    public func zeroGrad() { node?.grad = nil }

    /// Returns `out` with a graph node for `op` when recording is on and any input requires grad.
    @inline(__always)
    static func record(_ out: Tensor, _ inputs: [Tensor], _ op: @autoclosure () -> Op) -> Tensor {
        guard GradMode.isEnabled, inputs.contains(where: { $0.node != nil }) else { return out }
        var result = out
        result.node = GradNode(op: op(), inputs: inputs)
        return result
    }

    /// Whether an op on these inputs would record a node (so it should save data for backward).
    @inline(__always)
    static func recording(_ inputs: Tensor...) -> Bool {
        GradMode.isEnabled && inputs.contains(where: { $0.node != nil })
    }

    /// Back-propagates from this tensor, seeding with ones (a scalar loss) or with `seed`, and adds the
    /// gradients into every leaf that requires grad. Intermediate gradients are freed as soon as used.
    ///
    /// As in PyTorch, each node frees what it saved as soon as its rule has run, so memory falls during the
    /// pass; `retainGraph: true` keeps the graph for a second `backward`.
    public func backward(seed: Tensor? = nil, retainGraph: Bool = false) throws {
        guard let root = node else {
            throw TensorError("backward", "tensor of shape \(shapeText(shape)) does not require grad (no graph recorded)")
        }
        if let seed, seed.shape != shape {
            throw TensorError("backward", "seed shape \(shapeText(seed.shape)) differs from tensor shape \(shapeText(shape))")
        }
        let start = seed ?? Tensor(repeating: 1, shape: shape)
        try GradMode.noGrad {
            let order = topologicalOrder(root)
            var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): start]
            for current in order.reversed() {
                guard let g = grads.removeValue(forKey: ObjectIdentifier(current)) else { continue }
                if case .leaf = current.op {
                    current.grad = current.grad.map { $0.adding(g) } ?? g.copy()
                    continue
                }
                let started = BackwardProfile.isEnabled ? DispatchTime.now().uptimeNanoseconds : 0
                if case .released = current.op {
                    throw TensorError("backward", "the graph was already freed by an earlier backward; pass retainGraph: true to run backward twice")
                }
                let inputGrads = try current.op.backward(inputs: current.inputs, grad: g)
                if BackwardProfile.isEnabled {
                    BackwardProfile.milliseconds[current.op.name, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
                }
                for (input, ig) in zip(current.inputs, inputGrads) {
                    guard let inode = input.node, let ig else { continue }
                    if ig.shape != input.shape {
                        throw TensorError("backward", "internal: gradient shape \(shapeText(ig.shape)) for input \(shapeText(input.shape)) in \(current.op.name)")
                    }
                    let key = ObjectIdentifier(inode)
                    if let existing = grads[key] {
                        grads[key] = nil
                        grads[key] = existing.adding(ig)
                    } else {
                        grads[key] = ig
                    }
                }
                if !retainGraph {
                    current.op = .released
                    current.inputs = []
                }
            }
        }
    }

    /// Nodes reachable from `root`, each after all of its inputs (iterative DFS).
    private func topologicalOrder(_ root: GradNode) -> [GradNode] {
        var order: [GradNode] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(GradNode, Int)] = [(root, 0)]
        visited.insert(ObjectIdentifier(root))
        while let (node, index) = stack.popLast() {
            if index < node.inputs.count {
                stack.append((node, index + 1))
                if let child = node.inputs[index].node, visited.insert(ObjectIdentifier(child)).inserted {
                    stack.append((child, 0))
                }
            } else {
                order.append(node)
            }
        }
        return order
    }

    /// Elementwise sum of two same-shape tensors, reusing this tensor's storage when nobody else holds it
    /// (no graph; used to accumulate gradients).
    func adding(_ other: Tensor) -> Tensor {
        var result = self
        result.node = nil
        let n = count
        result.withMutableValues { r in
            other.withValues { o in
                Parallel.forChunks(n) { range in
                    for i in range { r[i] += o[i] }
                }
            }
        }
        return result
    }
}

/// Optional per-primitive timing of backward rules, for finding slow kernels.
public enum BackwardProfile {
    /// Whether `backward` records time per primitive (off by default).
    nonisolated(unsafe) public static var isEnabled = false
    /// Accumulated milliseconds per primitive name since the last `reset`.
    nonisolated(unsafe) public static var milliseconds: [String: Double] = [:]
    /// Clears the accumulated times.
    public static func reset() { milliseconds = [:] }
}
