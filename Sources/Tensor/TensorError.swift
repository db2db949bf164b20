/// An error from the tensor engine; every message names the operation or file and the offending values.
public struct TensorError: Error, CustomStringConvertible, Equatable {
    /// Where the problem was found, e.g. `conv2d` or `safetensors 'model.safetensors'`.
    public let place: String
    /// What went wrong, with the values involved.
    public let message: String

    /// Creates an error found at `place`.
    public init(_ place: String, _ message: String) {
        self.place = place
        self.message = message
    }

    public var description: String { "\(place): \(message)" }
}

/// Formats a shape as `[2, 3, 4]` for error messages.
@inlinable func shapeText(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }
