import FlyingFox
import FlyingSocks
import Foundation

/// The browser review's HTTP server: a ``ReviewRouter`` behind FlyingFox (BSD sockets and Swift concurrency, no
/// SwiftNIO). It listens on 127.0.0.1 unless told otherwise. ``start()`` returns once it listens (or throws, e.g.
/// ``ReviewWebError/portInUse(host:port:)``); ``stop()`` ends it; ``wait(until:)`` blocks until it is stopped.
public final class ReviewServer: @unchecked Sendable {
    /// The workflow it serves.
    public let desk: ReviewDesk
    /// The token every POST must carry (it is in the page).
    public let token: String
    /// The address it listens on (`127.0.0.1`, `0.0.0.0`, `::1`, ...).
    public let host: String
    /// The port asked for (0: any free one).
    public let requestedPort: Int

    private let lock = NSLock()
    private var server: HTTPServer?
    private var runTask: Task<Void, Never>?
    private var boundPort = 0
    private let done = DispatchSemaphore(value: 0)

    /// A server for `desk` on `host`:`port` (0 picks a free port). `host` must be an IPv4 or IPv6 address or
    /// `localhost`. A loopback server accepts only requests whose Host header names it.
    public init(desk: ReviewDesk, host: String = "127.0.0.1", port: Int = 8765, token: String = ReviewRouter.makeToken()) throws {
        guard (0...65535).contains(port) else {
            throw ReviewWebError.cannotListen(host: host, port: port, reason: "a port is a number in 0...65535")
        }
        let address = host == "localhost" ? "127.0.0.1" : host
        guard ReviewServer.isIPv4(address) || ReviewServer.isIPv6(address) else {
            throw ReviewWebError.cannotListen(host: host, port: port, reason: "the host must be an IP address such as 127.0.0.1, 0.0.0.0 or ::1")
        }
        self.host = address
        self.requestedPort = port
        self.desk = desk
        self.token = token
    }

    /// Whether it listens on a loopback address only.
    public var isLoopback: Bool { host.hasPrefix("127.") || host == "::1" }

    /// The port it listens on (after ``start()``).
    public var port: Int { lock.lock(); defer { lock.unlock() }; return boundPort }

    /// The page's address, `http://127.0.0.1:PORT/`.
    public var url: String {
        let shown = host == "0.0.0.0" ? "127.0.0.1" : host == "::" ? "[::1]" : (host.contains(":") ? "[\(host)]" : host)
        return "http://\(shown):\(port)/"
    }

    /// Binds and starts serving; returns once it listens. Throws ``ReviewWebError/portInUse(host:port:)`` when the
    /// port is taken and ``ReviewWebError/cannotListen(host:port:reason:)`` for other failures.
    public func start() throws {
        lock.lock()
        let started = server != nil
        lock.unlock()
        guard !started else { throw ReviewWebError.cannotListen(host: host, port: requestedPort, reason: "the server is already started") }
        let socket: Socket
        do {
            socket = try Socket(domain: ReviewServer.isIPv6(host) ? AF_INET6 : AF_INET, type: .stream)
            try socket.setValue(true, for: .localAddressReuse)
            if ReviewServer.isIPv6(host) {
                try socket.bind(to: try sockaddr_in6.inet6(ip6: host, port: UInt16(requestedPort)))
            } else {
                try socket.bind(to: try sockaddr_in.inet(ip4: host, port: UInt16(requestedPort)))
            }
            try socket.listen()
        } catch let SocketError.failed(type, code, message) {
            if code == EADDRINUSE { throw ReviewWebError.portInUse(host: host, port: requestedPort) }
            throw ReviewWebError.cannotListen(host: host, port: requestedPort, reason: "\(type): \(message)")
        } catch {
            throw ReviewWebError.cannotListen(host: host, port: requestedPort, reason: "\(error)")
        }
        let actual: Int
        switch try? socket.sockname() {
        case let .ip4(_, port)?: actual = Int(port)
        case let .ip6(_, port)?: actual = Int(port)
        default: actual = requestedPort
        }
        try? socket.close()
        // FlyingFox binds its own socket; the probe above gave the port (0 -> a free one) and a clear error first.
        let own = host.contains(":") ? "[\(host)]" : host
        let allowed: Set<String>? = isLoopback ? Set(["127.0.0.1", "localhost", "[::1]", own].map { "\($0):\(actual)" }) : nil
        let router = ReviewRouter(desk: desk, token: token, allowedHosts: allowed)
        let address: any SocketAddress = ReviewServer.isIPv6(host)
            ? try sockaddr_in6.inet6(ip6: host, port: UInt16(actual))
            : try sockaddr_in.inet(ip4: host, port: UInt16(actual))
        let server = HTTPServer(address: address, timeout: 30, pool: NoDelayPool(base: HTTPServer.defaultPool()), logger: .disabled,
                                handler: ClosureHTTPHandler { request in
            await ReviewServer.handle(request, router: router)
        })
        let failure = ErrorBox()
        let listening = DispatchSemaphore(value: 0)
        let task = Task {
            do {
                try await server.run()
            } catch {
                failure.set(error)
            }
            listening.signal()
            self.markFinished()
        }
        Task {
            try? await server.waitUntilListening(timeout: 10)
            listening.signal()
        }
        listening.wait()
        if let error = failure.get() {
            if case let SocketError.failed(_, code, _) = error, code == EADDRINUSE {
                throw ReviewWebError.portInUse(host: host, port: actual)
            }
            throw ReviewWebError.cannotListen(host: host, port: actual, reason: "\(error)")
        }
        lock.lock()
        self.server = server
        self.runTask = task
        self.boundPort = actual
        lock.unlock()
    }

    /// Stops serving (connections in flight get a quarter of a second to finish) and returns when it has stopped.
    public func stop() {
        lock.lock()
        let server = self.server
        let task = runTask
        lock.unlock()
        guard let server, let task else { return }
        let stopped = DispatchSemaphore(value: 0)
        Task {
            await server.stop(timeout: 0.25)
            task.cancel()
            _ = await task.value
            stopped.signal()
        }
        stopped.wait()
    }

    /// Blocks until the server has stopped, calling `shouldStop` every 100 ms and stopping when it says so.
    public func wait(until shouldStop: () -> Bool = { false }) {
        while true {
            if done.wait(timeout: .now() + .milliseconds(100)) == .success { done.signal(); return }
            if shouldStop() { stop(); return }
        }
    }

    private func markFinished() { done.signal() }

    /// Adapts a FlyingFox request to the router and back.
    static func handle(_ request: HTTPRequest, router: ReviewRouter) async -> HTTPResponse {
        var headers: [String: String] = [:]
        for (key, value) in request.headers where headers[key.rawValue.lowercased()] == nil { headers[key.rawValue.lowercased()] = value }
        var body: [UInt8] = []
        if request.method == .POST {
            if let length = headers["content-length"].flatMap(Int.init), length > ReviewRouter.maxBody {
                body = [UInt8](repeating: 0, count: ReviewRouter.maxBody + 1) // refused below without reading it
            } else {
                body = (try? await [UInt8](request.bodyData)) ?? []
            }
        }
        var query: [String: String] = [:]
        for item in request.query where query[item.name] == nil { query[item.name] = item.value }
        let answer = router.respond(WebRequest(method: request.method.rawValue, path: request.path, query: query,
                                               headers: headers, body: body))
        var out = HTTPHeaders()
        for (k, v) in answer.headers { out[HTTPHeader(k)] = v }
        return HTTPResponse(statusCode: HTTPStatusCode(answer.status, phrase: ReviewServer.phrase(answer.status)), headers: out, body: Data(answer.body))
    }

    static func phrase(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 204: return "No Content"
        case 400: return "Bad Request"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 409: return "Conflict"
        case 413: return "Payload Too Large"
        default: return "Internal Server Error"
        }
    }

    static func isIPv4(_ text: String) -> Bool {
        var addr = in_addr()
        return inet_pton(AF_INET, text, &addr) == 1
    }

    static func isIPv6(_ text: String) -> Bool {
        var addr = in6_addr()
        return inet_pton(AF_INET6, text, &addr) == 1
    }
}

/// One error, set from a task and read from a thread.
private final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var error: Error?
    func set(_ e: Error) { lock.lock(); error = e; lock.unlock() }
    func get() -> Error? { lock.lock(); defer { lock.unlock() }; return error }
}
