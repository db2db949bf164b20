/// Errors of the browser review. Each names what is wrong; the server maps them to HTTP statuses.
public enum ReviewWebError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A request that cannot be understood (malformed JSON, a missing or mistyped field, an unknown action). 400.
    case badRequest(String)
    /// The per-server token is missing or wrong, or the Host is not the one served. 403.
    case forbidden(String)
    /// The request is well formed but no longer applies: the page was stale (another tab moved on) or the same
    /// request was already applied (a replay). Nothing changed. 409.
    case conflict(String)
    /// Nothing of that name is served. 404.
    case notFound(String)
    /// The port is taken by another program.
    case portInUse(host: String, port: Int)
    /// The server could not start (bad host, no permission, ...).
    case cannotListen(host: String, port: Int, reason: String)

    /// The HTTP status the server answers with.
    public var status: Int {
        switch self {
        case .badRequest: return 400
        case .forbidden: return 403
        case .notFound: return 404
        case .conflict: return 409
        case .portInUse, .cannotListen: return 500
        }
    }

    public var description: String {
        switch self {
        case let .badRequest(m), let .forbidden(m), let .conflict(m), let .notFound(m): return m
        case let .portInUse(host, port):
            return "port \(port) on \(host) is already in use (another rorem review, or another server); choose a free one with --port (--port 0 picks one)"
        case let .cannotListen(host, port, reason): return "cannot listen on \(host):\(port): \(reason)"
        }
    }
}
