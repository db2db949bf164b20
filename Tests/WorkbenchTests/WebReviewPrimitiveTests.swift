import Foundation
import Lang
import XCTest
@testable import Workbench

/// `review(cands, web: true, port:)`: serves the browser review from a script until interrupted, and returns the
/// reviewers' progress.
final class WebReviewPrimitiveTests: SessionTestCase {
    /// Output collected from the interpreter's thread and read from the test's.
    final class LockedOutput: OutputSink, @unchecked Sendable {
        private let lock = NSLock()
        private var buffer = ""
        func write(_ text: String) { lock.lock(); buffer += text; lock.unlock() }
        var text: String { lock.lock(); defer { lock.unlock() }; return buffer }
    }

    func testServesUntilInterruptedAndReturnsTheReviews() throws {
        let out = LockedOutput()
        let s = Session(output: out, baseDirectory: dir)
        try s.interpreter.run("""
            let st = open_store("store")
            generate(st, remover("telea"), synth(3, width: 32, height: 32, seed: 2), round: 1)
            let c = candidates(st, round: 1)
            """)
        let failure = LockedOutput()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            do { try s.interpreter.run("let rs = review(c, web: true, port: 0, by: \"ann\")") } catch { failure.write("\(error)") }
            done.signal()
        }
        thread.start()
        var port: Int?
        for _ in 0..<200 where port == nil {
            if let range = out.text.range(of: #"http://127\.0\.0\.1:(\d+)/\?by=ann"#, options: .regularExpression) {
                let url = String(out.text[range])
                port = Int(url.split(separator: ":")[2].prefix { $0.isNumber })
            } else {
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        let p = try XCTUnwrap(port, "no address printed: \(out.text)")
        let state = try httpGet(port: p, path: "/api/state?by=ann")
        XCTAssertTrue(state.contains("\"total\":3"), state)
        Interrupt.request()
        XCTAssertEqual(done.wait(timeout: .now() + 20), .success, "review(web: true) did not return after the interrupt")
        XCTAssertEqual(failure.text, "")
        guard case .list(let reviews)? = s.interpreter.global("rs"), case .object(let r as ReviewValue)? = reviews.first else {
            return XCTFail("review(web: true) should return a list of reviews, got \(String(describing: s.interpreter.global("rs")))")
        }
        XCTAssertEqual(reviews.count, 1)
        XCTAssertEqual(r.reviewer, "ann")
        XCTAssertEqual(r.progress.total, 3)
        XCTAssertFalse(Interrupt.isRequested)
    }

    func testWebReviewRefusesABadHost() throws {
        let (s, _) = session()
        try s.interpreter.run("""
            let st = open_store("store")
            generate(st, remover("telea"), synth(2, width: 32, height: 32), round: 1)
            """)
        XCTAssertThrowsError(try s.interpreter.run("review(candidates(st), web: true, host: \"not a host\")")) { error in
            XCTAssertTrue("\(error)".contains("IP address"), "\(error)")
        }
    }

    /// One GET on a fresh loopback connection; the body as text.
    private func httpGet(port: Int, path: String) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard ok == 0 else { throw PrimitiveError("connect failed") }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var data: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            data += buffer[0..<n]
        }
        return String(decoding: data, as: UTF8.self)
    }
}
