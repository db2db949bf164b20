/// Errors raised by the learned models and their training. Each message names the place and the problem.
public enum LearningError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A checkpoint file could not be used: not safetensors, wrong model kind, bad configuration,
    /// missing tensors or tensors whose shapes do not fit.
    case checkpoint(path: String, reason: String)
    /// A configuration value is out of its range.
    case invalidConfig(what: String, reason: String)
    /// Training data is unusable (empty, inconsistent sizes, bad labels).
    case invalidData(what: String, reason: String)

    public var description: String {
        switch self {
        case let .checkpoint(path, reason): return "checkpoint '\(path)': \(reason)"
        case let .invalidConfig(what, reason): return "\(what): \(reason)"
        case let .invalidData(what, reason): return "\(what): \(reason)"
        }
    }
}
