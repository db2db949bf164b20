/// Errors raised by Curation. Every case names the thing at fault (a file, a row, a name) and the problem.
public enum CurationError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The store folder or database cannot be opened or created.
    case storeUnavailable(path: String, reason: String)
    /// A content-addressed image is missing or damaged.
    case missingBlob(hash: String, path: String)
    /// A named or numbered thing (dataset, model, candidate, session) is not in the store.
    case notFound(what: String)
    /// A name is already taken, or a request contradicts what the store holds.
    case conflict(String)
    /// A dataset file (RORem JSON, folder import) is missing, unreadable or malformed.
    case badDataset(path: String, reason: String)
    /// Rows of a review CSV that cannot be read; each entry names its line.
    case badCSV(path: String, problems: [String])
    /// An argument is out of its range.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .storeUnavailable(path, reason): return "cannot open the store at '\(path)': \(reason)"
        case let .missingBlob(hash, path): return "image \(hash) is missing or damaged in the store (expected at '\(path)')"
        case let .notFound(what): return "\(what) is not in the store"
        case let .conflict(message): return message
        case let .badDataset(path, reason): return "dataset '\(path)': \(reason)"
        case let .badCSV(path, problems):
            let shown = problems.prefix(20).joined(separator: "; ")
            let more = problems.count > 20 ? " (and \(problems.count - 20) more)" : ""
            return "review sheet '\(path)' has \(problems.count) bad row(s): \(shown)\(more)"
        case let .invalidArgument(message): return message
        }
    }
}
