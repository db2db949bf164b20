import Foundation

/// A problem with a file of a tokenizer or text-encoder folder: the file's path, and what is wrong (with the line,
/// key or tensor where there is one).
public struct TextFolderError: Error, CustomStringConvertible, Equatable {
    /// The file (or folder) at fault.
    public let file: String
    /// What is wrong with it.
    public let message: String

    /// An error about `file`.
    public init(_ file: String, _ message: String) {
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}

/// Reading JSON files of a folder with errors that name the file.
enum TextFolderJSON {
    /// The top-level object of the JSON file at `path`.
    static func object(at path: String) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TextFolderError(path, FileManager.default.fileExists(atPath: path) ? "cannot be read" : "missing")
        }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data)
        } catch {
            let detail = (error as NSError).userInfo["NSDebugDescription"] as? String ?? "\(error)"
            throw TextFolderError(path, "not valid JSON (\(detail))")
        }
        guard let object = parsed as? [String: Any] else {
            throw TextFolderError(path, "the top level is not a JSON object")
        }
        return object
    }

    /// `value` as an exact integer (a JSON number without fraction, not a boolean), or nil.
    static func integer(_ value: Any?) -> Int? {
        guard let n = value as? NSNumber, !isBoolean(n) else { return nil }
        let d = n.doubleValue
        guard d.isFinite, d == d.rounded(), Swift.abs(d) < 9.0e15 else { return nil }
        return Int(d)
    }

    /// `value` as a finite number (not a boolean), or nil.
    static func number(_ value: Any?) -> Double? {
        guard let n = value as? NSNumber, !isBoolean(n), n.doubleValue.isFinite else { return nil }
        return n.doubleValue
    }

    /// Whether an NSNumber from JSONSerialization came from `true`/`false`.
    static func isBoolean(_ n: NSNumber) -> Bool {
        #if canImport(Darwin)
        return CFGetTypeID(n) == CFBooleanGetTypeID()
        #else
        return n === NSNumber(value: true) || n === NSNumber(value: false) || String(cString: n.objCType) == "c"
        #endif
    }
}
