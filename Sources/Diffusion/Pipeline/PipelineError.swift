/// A problem with a diffusion pipeline's folder, files or settings; the message names the file, component, tensor
/// or setting.
public struct PipelineError: Error, CustomStringConvertible, Equatable {
    /// What the error is about (a path, a component, a setting).
    public let place: String
    /// What is wrong.
    public let message: String

    public init(_ place: String, _ message: String) { self.place = place; self.message = message }

    public var description: String { "\(place): \(message)" }
}
