import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 client over a loopback TCP socket, for tests: it sends exactly the bytes given (so that
/// malformed requests can be sent too) and reads one response.
struct LoopbackClient {
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
                throw NSError(domain: "LoopbackClient", code: 1, userInfo: [NSLocalizedDescriptionKey: "not a JSON object: \(text)"])
            }
            return object
        }
    }

    let port: Int

    /// Sends a request built from its parts, with Host, Connection: close and Content-Length added.
    func send(_ method: String, _ target: String, headers: [String: String] = [:], body: [UInt8] = [],
              host: String? = nil) throws -> Response {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: \(host ?? "127.0.0.1:\(port)")\r\nConnection: close\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if method == "POST" || !body.isEmpty { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        return try raw(Array(head.utf8) + body)
    }

    func get(_ target: String) throws -> Response { try send("GET", target) }

    /// POSTs `json` (an object) to /api/decide with `token`.
    func post(_ json: [String: Any], token: String?) throws -> Response {
        let body = try JSONSerialization.data(withJSONObject: json)
        var headers = ["Content-Type": "application/json"]
        if let token { headers["X-Review-Token"] = token }
        return try send("POST", "/api/decide", headers: headers, body: [UInt8](body))
    }

    /// Sends `bytes` as they are and reads the response (until the body's Content-Length, or the end).
    func raw(_ bytes: [UInt8]) throws -> Response {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw posixError("socket") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw posixError("connect") }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw posixError("send") }
            sent += n
        }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if let response = parse(data) { return response }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            data += buffer[0..<n]
        }
        if let response = parse(data, atEnd: true) { return response }
        throw NSError(domain: "LoopbackClient", code: 2, userInfo: [NSLocalizedDescriptionKey: "no complete response (\(data.count) bytes)"])
    }

    private func parse(_ data: [UInt8], atEnd: Bool = false) -> Response? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard data.count >= 4, let end = (0...(data.count - 4)).first(where: { Array(data[$0..<($0 + 4)]) == separator }) else { return nil }
        let head = String(decoding: data[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let parts = head[0].split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let body = Array(data[(end + 4)...])
        if let length = headers["content-length"].flatMap(Int.init) {
            return body.count >= length ? Response(status: status, headers: headers, body: Array(body.prefix(length))) : nil
        }
        return atEnd ? Response(status: status, headers: headers, body: body) : nil
    }

    private func posixError(_ what: String) -> NSError {
        NSError(domain: "LoopbackClient", code: Int(errno), userInfo: [NSLocalizedDescriptionKey: "\(what): \(String(cString: strerror(errno)))"])
    }
}
