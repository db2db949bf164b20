import Foundation

/// A config that a model reads from its folder's JSON file (diffusers' `config.json`, transformers' `config.json`,
/// `scheduler_config.json`). Conformers decode with `ConfigKey` and `KeyedDecodingContainer.value(_:default:)`
/// and list the keys they understand, so that `ConfigFile.load` can refuse unknown keys that would change the
/// computation while ignoring bookkeeping ones.
public protocol JSONConfig: Decodable {
    /// Every key this config reads (whether or not the file has it).
    static var knownKeys: Set<String> { get }
    /// Keys that are accepted and ignored because they do not change the computation here (e.g. `sample_size`),
    /// beyond `ConfigFile.bookkeepingKeys`.
    static var ignoredKeys: Set<String> { get }
}

extension JSONConfig {
    public static var ignoredKeys: Set<String> { [] }
}

/// A JSON object key given by its string, for configs whose keys are snake_case names.
public struct ConfigKey: CodingKey, Hashable {
    public let stringValue: String
    public var intValue: Int? { nil }
    public init(_ name: String) { stringValue = name }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { return nil }
}

extension KeyedDecodingContainer where Key == ConfigKey {
    /// The value under `key`, or `defaultValue` when the key is absent or null (as diffusers' defaults apply).
    public func value<T: Decodable>(_ key: String, default defaultValue: T) throws -> T {
        try decodeIfPresent(T.self, forKey: ConfigKey(key)) ?? defaultValue
    }

    /// The value under `key`, nil when absent or null.
    public func optional<T: Decodable>(_ key: String) throws -> T? {
        try decodeIfPresent(T.self, forKey: ConfigKey(key))
    }
}

/// Reads config files into `JSONConfig` structs, with errors that name the file and the key.
public enum ConfigFile {
    /// Keys every diffusers / transformers config may carry that never change the computation.
    public static let bookkeepingKeys: Set<String> = [
        "_class_name", "_diffusers_version", "_name_or_path", "_use_default_values", "_commit_hash",
        "architectures", "transformers_version", "torch_dtype", "dtype", "model_type",
    ]

    /// Reads and decodes the file at `path`.
    public static func load<C: JSONConfig>(_ type: C.Type, path: String) throws -> C {
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            throw ConfigError(file: path, key: nil, exists ? (isDirectory.boolValue ? "is a folder, not a file" : "cannot be read")
                                                         : "no such file")
        }
        return try decode(type, from: data, file: path)
    }

    /// Decodes JSON bytes; `file` names them in errors.
    public static func decode<C: JSONConfig>(_ type: C.Type, from data: Data, file: String) throws -> C {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw ConfigError(file: file, key: nil, "is not valid JSON (\((error as NSError).localizedDescription))")
        }
        guard let dictionary = object as? [String: Any] else {
            throw ConfigError(file: file, key: nil, "should hold a JSON object")
        }
        let allowed = C.knownKeys.union(C.ignoredKeys).union(bookkeepingKeys)
        if let unknown = dictionary.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw ConfigError(file: file, key: unknown, "unknown key; this implementation does not know what it changes")
        }
        do {
            return try JSONDecoder().decode(C.self, from: data)
        } catch let error as ConfigValueError {
            throw ConfigError(file: file, key: error.key, error.message)
        } catch let error as DecodingError {
            throw describe(error, file: file)
        }
    }

    private static func describe(_ error: DecodingError, file: String) -> ConfigError {
        func path(_ context: DecodingError.Context) -> String? {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return keys.isEmpty ? nil : keys.joined(separator: ".")
        }
        switch error {
        case .typeMismatch(let type, let context):
            return ConfigError(file: file, key: path(context), "should be \(typeName(type))")
        case .valueNotFound(let type, let context):
            return ConfigError(file: file, key: path(context), "should be \(typeName(type)), not null")
        case .keyNotFound(let key, let context):
            return ConfigError(file: file, key: key.stringValue, "missing (at \(path(context) ?? "top level"))")
        case .dataCorrupted(let context):
            return ConfigError(file: file, key: path(context), context.debugDescription)
        @unknown default:
            return ConfigError(file: file, key: nil, "\(error)")
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type: return "an integer"
        case is Float.Type, is Double.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is String.Type: return "a string"
        case is [Int].Type: return "a list of integers"
        case is [String].Type: return "a list of strings"
        default: return "\(type)"
        }
    }
}
