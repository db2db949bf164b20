import Foundation

/// A problem with a model folder's `config.json` (or `scheduler_config.json`, ...): the file, the key when one is
/// at fault, and what is wrong with it.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    /// The file that was read (a path, or a label for bytes held in memory).
    public let file: String
    /// The offending key, when one is at fault.
    public let key: String?
    /// What is wrong, with the values involved.
    public let message: String

    /// Creates an error about `key` (nil for the file as a whole) in `file`.
    public init(file: String, key: String?, _ message: String) {
        self.file = file; self.key = key; self.message = message
    }

    public var description: String {
        if let key { return "\(file): '\(key)': \(message)" }
        return "\(file): \(message)"
    }
}

/// A problem with one key found while decoding a config, before the file's name is known. `ConfigFile` turns it
/// into a `ConfigError` naming the file; a model's `init(from:)` throws it for values it does not implement.
public struct ConfigValueError: Error, CustomStringConvertible, Equatable {
    /// The key at fault.
    public let key: String
    /// What is wrong with its value.
    public let message: String

    /// Creates an error about `key`.
    public init(_ key: String, _ message: String) { self.key = key; self.message = message }

    /// The value is one this implementation does not support (e.g. an activation it does not implement).
    public static func unsupported(_ key: String, _ value: CustomStringConvertible, supported: [String]) -> ConfigValueError {
        ConfigValueError(key, "unsupported value \(value) (supported: \(supported.joined(separator: ", ")))")
    }

    public var description: String { "'\(key)': \(message)" }
}
