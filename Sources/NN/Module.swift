import Foundation
import Tensor

/// A network part that owns parameters under PyTorch state-dict names (`conv1.weight`, `down.0.norm.bias`).
public protocol Module: AnyObject {
    /// Every parameter of this module and its children, in a fixed order, with dotted PyTorch names.
    func namedParameters() -> [(name: String, parameter: Parameter)]
}

extension Module {
    /// The parameters in `namedParameters` order.
    public var parameters: [Parameter] { namedParameters().map(\.parameter) }

    /// Total number of scalars in all parameters.
    public var parameterCount: Int { namedParameters().reduce(0) { $0 + $1.parameter.value.count } }

    /// Name -> values (shared storage), for checkpoints.
    public func stateDict() -> [String: Tensor] {
        Dictionary(namedParameters().map { ($0.name, $0.parameter.value.detached) }, uniquingKeysWith: { a, _ in a })
    }

    /// Copies values into parameters by name. Throws on a shape mismatch (naming the tensor and both shapes),
    /// and, when `strict`, on missing or unexpected names.
    public func load(stateDict: [String: Tensor], strict: Bool = true) throws {
        let named = namedParameters()
        let known = Set(named.map(\.name))
        if strict {
            let missing = named.map(\.name).filter { stateDict[$0] == nil }
            let unexpected = stateDict.keys.filter { !known.contains($0) }.sorted()
            if !missing.isEmpty || !unexpected.isEmpty {
                throw TensorError("load state dict", "missing \(missing.prefix(5)); unexpected \(unexpected.prefix(5))")
            }
        }
        for (name, p) in named {
            if let t = stateDict[name] { try p.assign(t, name: name) }
        }
    }

    /// Freezes (or unfreezes) every parameter.
    public func setFrozen(_ frozen: Bool) { for p in parameters { p.isFrozen = frozen } }

    /// Drops every parameter's gradient.
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }
}

/// Prefixes a child's parameter names with `prefix.`.
public func scoped(_ prefix: String, _ child: Module?) -> [(name: String, parameter: Parameter)] {
    guard let child else { return [] }
    return child.namedParameters().map { ("\(prefix).\($0.name)", $0.parameter) }
}

/// A module that maps one tensor to another.
public protocol Layer: Module {
    /// Applies the layer.
    func callAsFunction(_ x: Tensor) throws -> Tensor
}

/// PyTorch's default initialisers, drawn from a seeded `RNG` so the same seed gives the same weights.
public enum Initializer {
    private static let deferredKey: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()

    /// Whether initialisers on this thread skip drawing (inside `deferred`).
    public static var isDeferred: Bool { pthread_getspecific(deferredKey) != nil }

    /// Builds modules inside `body` without initialising their weights: every initialiser returns an uninitialised
    /// tensor (no random draws, no fill; large buffers touch no memory) for a loader to fill or replace with views
    /// of a checkpoint. Use it only when every weight will be loaded (a strict load checks that).
    public static func deferred<R>(_ body: () throws -> R) rethrows -> R {
        let previous = pthread_getspecific(deferredKey)
        pthread_setspecific(deferredKey, UnsafeRawPointer(bitPattern: 1))
        defer { pthread_setspecific(deferredKey, previous) }
        return try body()
    }

    /// `kaiming_uniform_(a=sqrt(5))` as used by `nn.Conv2d` / `nn.Linear` weights: U(-1/sqrt(fanIn), 1/sqrt(fanIn)).
    public static func defaultWeight(_ shape: [Int], fanIn: Int, rng: inout RNG) -> Tensor {
        if isDeferred { return Tensor.empty(shape) }
        let bound = 1 / Float(max(fanIn, 1)).squareRoot()
        return Tensor.uniform(shape, low: -bound, high: bound, rng: &rng)
    }

    /// The matching bias initialiser: U(-1/sqrt(fanIn), 1/sqrt(fanIn)).
    public static func defaultBias(_ count: Int, fanIn: Int, rng: inout RNG) -> Tensor {
        defaultWeight([count], fanIn: fanIn, rng: &rng)
    }

    /// `kaiming_normal_(mode='fan_in', nonlinearity='relu')`: N(0, 2/fanIn).
    public static func kaimingNormal(_ shape: [Int], fanIn: Int, rng: inout RNG) -> Tensor {
        if isDeferred { return Tensor.empty(shape) }
        return Tensor.randn(shape, std: (2 / Float(max(fanIn, 1))).squareRoot(), rng: &rng)
    }

    /// `xavier_uniform_`: U(-a, a) with a = sqrt(6 / (fanIn + fanOut)).
    public static func xavierUniform(_ shape: [Int], fanIn: Int, fanOut: Int, rng: inout RNG) -> Tensor {
        if isDeferred { return Tensor.empty(shape) }
        let a = (6 / Float(max(fanIn + fanOut, 1))).squareRoot()
        return Tensor.uniform(shape, low: -a, high: a, rng: &rng)
    }
}
