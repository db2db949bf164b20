import Curation
import Foundation

/// The browser review's HTTP interface, without the socket: a ``WebRequest`` in, a ``WebResponse`` out.
///
/// | route | what |
/// |---|---|
/// | `GET /` | a form asking for the reviewer's name; `GET /?by=NAME` the review page |
/// | `GET /app.js`, `GET /app.css` | the page's script and style (nothing comes from another host) |
/// | `GET /api/state?by=NAME[&at=K]` | the reviewer's ``ReviewState`` as JSON (`at`: revisit decision K) |
/// | `POST /api/decide` | a decision, undo or revision (JSON body, see ``DecisionRequest``); answers the new state |
/// | `GET /image/HASH` | a served image, by its SHA-256 (64 lower-case hex digits); no path reaches the file system |
///
/// Security: POSTs need the per-server `token` in `X-Review-Token` and a JSON body; each carries a fresh nonce,
/// and a replayed one changes nothing. When `allowedHosts` is set (a loopback server), requests whose `Host`
/// is not one of them are refused, which defeats DNS rebinding. Every page value is HTML-escaped and the
/// Content-Security-Policy forbids inline and foreign scripts.
public final class ReviewRouter: @unchecked Sendable {
    /// The workflow behind it.
    public let desk: ReviewDesk
    /// The token every POST must carry.
    public let token: String
    /// The `Host` values accepted (nil: any).
    public let allowedHosts: Set<String>?
    /// The largest POST body accepted, in bytes.
    public static let maxBody = 4096

    private let lock = NSLock()
    private var usedNonces: Set<String> = []

    /// A router over `desk` with `token`; `allowedHosts` as described above.
    public init(desk: ReviewDesk, token: String = ReviewRouter.makeToken(), allowedHosts: Set<String>? = nil) {
        self.desk = desk
        self.token = token
        self.allowedHosts = allowedHosts
    }

    /// 32 hex digits from the system's random generator.
    public static func makeToken() -> String {
        var rng = SystemRandomNumberGenerator()
        return (0..<16).map { _ in
            let b = UInt8.random(in: 0...255, using: &rng)
            return String(b >> 4, radix: 16) + String(b & 15, radix: 16)
        }.joined()
    }

    /// Answers `request`; never throws: errors become 4xx/5xx responses with a message.
    public func respond(_ request: WebRequest) -> WebResponse {
        do {
            if let allowed = allowedHosts {
                guard let host = request.headers["host"], allowed.contains(host.lowercased()) else {
                    throw ReviewWebError.forbidden("unexpected Host header \(request.headers["host"].map { "'\($0)'" } ?? "(none)"); open the URL the server printed")
                }
            }
            switch (request.method, request.path) {
            case ("GET", "/"), ("HEAD", "/"): return try page(request)
            case ("GET", "/app.js"): return asset(ReviewAssets.script, type: "text/javascript; charset=utf-8")
            case ("GET", "/app.css"): return asset(ReviewAssets.style, type: "text/css; charset=utf-8")
            case ("GET", "/favicon.ico"): return WebResponse(status: 204, headers: ReviewRouter.commonHeaders)
            case ("GET", "/api/state"): return try stateResponse(request)
            case ("POST", "/api/decide"): return try post(request)
            case let ("GET", path) where path.hasPrefix("/image/"): return try image(String(path.dropFirst("/image/".count)))
            case (_, "/api/decide"), (_, "/api/state"), (_, "/"):
                return failure(405, "\(request.method) is not allowed on \(request.path)", json: request.path.hasPrefix("/api"))
            default:
                throw ReviewWebError.notFound("nothing at \(request.path)")
            }
        } catch let e as ReviewWebError {
            return failure(e.status, e.description, json: request.path.hasPrefix("/api"))
        } catch let e as CurationError {
            return failure(500, e.description, json: request.path.hasPrefix("/api"))
        } catch {
            return failure(500, "\(error)", json: request.path.hasPrefix("/api"))
        }
    }

    // MARK: Routes

    static let commonHeaders: [(String, String)] = [
        ("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
    ]

    private func page(_ request: WebRequest) throws -> WebResponse {
        guard let raw = request.query["by"] else { return html(200, ReviewPage.namePage(error: nil)) }
        let name: String
        do {
            name = try ReviewerName.validated(raw)
        } catch let e as ReviewWebError {
            return html(400, ReviewPage.namePage(error: e.description))
        }
        _ = try desk.state(for: name) // opens (or resumes) the session now, so errors show on the page
        return html(200, ReviewPage.reviewPage(reviewer: name, token: token))
    }

    private func stateResponse(_ request: WebRequest) throws -> WebResponse {
        guard let by = request.query["by"] else { throw ReviewWebError.badRequest("missing ?by=NAME") }
        var at: Int?
        if let text = request.query["at"] {
            guard let k = Int(text) else { throw ReviewWebError.badRequest("at must be a whole number, got '\(text)'") }
            at = k
        }
        return try json(desk.state(for: by, at: at))
    }

    private func post(_ request: WebRequest) throws -> WebResponse {
        guard let given = request.headers["x-review-token"], ReviewRouter.equalInConstantTime(given, token) else {
            throw ReviewWebError.forbidden("missing or wrong X-Review-Token; reload the page")
        }
        guard request.headers["content-type"]?.lowercased().hasPrefix("application/json") == true else {
            throw ReviewWebError.badRequest("the body must be JSON (Content-Type: application/json)")
        }
        guard request.body.count <= ReviewRouter.maxBody else {
            return failure(413, "the body is \(request.body.count) bytes; at most \(ReviewRouter.maxBody) are accepted", json: true)
        }
        let command = try DecisionRequest.parse(request.body)
        try consume(nonce: command.nonce)
        let state: ReviewState
        switch command.action {
        case .decide(let d): state = try desk.decide(d, reviewer: command.reviewer, position: command.position, candidate: command.candidate ?? -1)
        case .revise(let d): state = try desk.revise(d, reviewer: command.reviewer, position: command.position, candidate: command.candidate ?? -1)
        case .undo: state = try desk.undo(reviewer: command.reviewer, position: command.position)
        }
        return try json(state)
    }

    private func image(_ name: String) throws -> WebResponse {
        let hash = name.hasSuffix(".png") ? String(name.dropLast(4)) : name
        guard hash.count == 64, hash.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            throw ReviewWebError.badRequest("images are addressed by their SHA-256 (64 lower-case hex digits)")
        }
        guard let path = desk.imagePath(hash) else { throw ReviewWebError.notFound("image \(hash) is not served") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ReviewWebError.notFound("image \(hash) is missing from the store")
        }
        return WebResponse(status: 200, headers: ReviewRouter.commonHeaders + [
            ("Content-Type", "image/png"), ("Cache-Control", "private, max-age=31536000, immutable"),
        ], body: [UInt8](data))
    }

    // MARK: Helpers

    private func consume(nonce: String) throws {
        lock.lock()
        defer { lock.unlock() }
        guard usedNonces.insert(nonce).inserted else {
            throw ReviewWebError.conflict("replayed request (nonce \(nonce) was already used); nothing changed")
        }
    }

    static func equalInConstantTime(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }

    private func asset(_ text: String, type: String) -> WebResponse {
        WebResponse(status: 200, headers: ReviewRouter.commonHeaders + [("Content-Type", type), ("Cache-Control", "no-cache")], body: Array(text.utf8))
    }

    private func html(_ status: Int, _ text: String) -> WebResponse {
        WebResponse(status: status, headers: ReviewRouter.commonHeaders + [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")],
                    body: Array(text.utf8))
    }

    private func json(_ value: some Encodable) throws -> WebResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(value)
        return WebResponse(status: 200, headers: ReviewRouter.commonHeaders + [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
                           body: [UInt8](data))
    }

    private func failure(_ status: Int, _ message: String, json: Bool) -> WebResponse {
        if json {
            let body = (try? JSONEncoder().encode(["error": message])) ?? Data("{\"error\":\"error\"}".utf8)
            return WebResponse(status: status, headers: ReviewRouter.commonHeaders + [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
                               body: [UInt8](body))
        }
        return html(status, ReviewPage.errorPage(status: status, message: message))
    }
}
