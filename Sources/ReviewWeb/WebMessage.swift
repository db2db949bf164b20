/// An HTTP request as the router sees it, independent of the server library.
public struct WebRequest: Sendable {
    /// `GET`, `POST`, ...
    public var method: String
    /// The path, percent-encoded as received (`/image/ab12...`).
    public var path: String
    /// Query items, decoded; the first of each name counts.
    public var query: [String: String]
    /// Headers by lower-cased name.
    public var headers: [String: String]
    /// The body's bytes.
    public var body: [UInt8]

    /// A request from its parts; header names are lower-cased.
    public init(method: String, path: String, query: [String: String] = [:], headers: [String: String] = [:], body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.query = query
        var lowered: [String: String] = [:]
        for (k, v) in headers where lowered[k.lowercased()] == nil { lowered[k.lowercased()] = v }
        self.headers = lowered
        self.body = body
    }
}

/// An HTTP response as the router makes it.
public struct WebResponse: Sendable {
    /// The status code.
    public var status: Int
    /// Headers in order.
    public var headers: [(String, String)]
    /// The body's bytes.
    public var body: [UInt8]

    /// A response from its parts.
    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The value of header `name` (case-insensitive), if set.
    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}
