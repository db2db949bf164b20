/// Why a scheduler could not be built or stepped; every message names the file, the key or the tensor.
public struct SchedulerError: Error, CustomStringConvertible, Equatable {
    /// Where: a file (`scheduler_config.json '…'`), or a scheduler and its method (`EulerDiscreteScheduler.step`).
    public let place: String
    /// What went wrong, with the values involved.
    public let message: String

    /// An error found at `place`.
    public init(_ place: String, _ message: String) {
        self.place = place
        self.message = message
    }

    public var description: String { "\(place): \(message)" }
}
