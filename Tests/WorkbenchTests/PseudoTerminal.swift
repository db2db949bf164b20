import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Errors of the pseudo-terminal harness; each names what was being done.
struct PseudoTerminalError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs a program on the slave side of a pseudo-terminal (as its controlling terminal, in its own session),
/// so that readline, echo, keys and Ctrl-C behave as for a person at a terminal. Reads never block past a
/// deadline: every wait polls the master side and fails with the screen contents when time runs out.
final class PseudoTerminal {
    let pid: pid_t
    private let master: Int32
    /// Everything the program wrote, raw (escape sequences included).
    private(set) var raw: [UInt8] = []
    /// Where the next `expect` starts looking, in bytes of the cleaned output.
    private var mark = 0
    private var exitStatus: Int32?
    private var sawEOF = false

    /// Starts `executable` with `arguments` and exactly `environment`, on a new 100x30 pseudo-terminal.
    init(executable: String, arguments: [String] = [], environment: [String: String]) throws {
        var masterFD: Int32 = -1, slaveFD: Int32 = -1
        var size = winsize(ws_row: 30, ws_col: 100, ws_xpixel: 0, ws_ypixel: 0)
        var name = [CChar](repeating: 0, count: 4096) // openpty writes the slave's path here (PATH_MAX)
        guard openpty(&masterFD, &slaveFD, &name, nil, &size) == 0 else {
            throw PseudoTerminalError("openpty failed: \(String(cString: strerror(errno)))")
        }
        defer { close(slaveFD) }
        _ = fcntl(masterFD, F_SETFD, FD_CLOEXEC)
        let slavePath = String(cString: name)

        // The child: a new session (POSIX_SPAWN_SETSID), then the slave opened by name becomes its controlling
        // terminal (glibc applies the session flag before file actions) and its stdin, stdout and stderr.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        let setsidFlag: Int32 = 0x80 // POSIX_SPAWN_SETSID (glibc >= 2.26)
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        sigaddset(&defaultSignals, SIGINT)
        sigaddset(&defaultSignals, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setflags(&attributes, Int16(setsidFlag | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addclose(&actions, slaveFD)
        posix_spawn_file_actions_addopen(&actions, 0, slavePath, O_RDWR, 0)
        posix_spawn_file_actions_adddup2(&actions, 0, 1)
        posix_spawn_file_actions_adddup2(&actions, 0, 2)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else {
            close(masterFD)
            throw PseudoTerminalError("cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        pid = child
        master = masterFD
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        if master >= 0 { close(master) }
    }

    /// The output so far as text, with escape sequences and carriage returns removed.
    var screen: String { String(decoding: PseudoTerminal.cleanBytes(raw), as: UTF8.self) }

    /// Sends `text` as typed keys (`\r` is Enter, `\t` Tab, `\u{03}` Ctrl-C, `\u{04}` Ctrl-D).
    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { chunk -> Int in
                guard let base = chunk.baseAddress else { return 0 }
                return write(master, base, chunk.count)
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw PseudoTerminalError("writing to the terminal failed: \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    /// Sends `line` and Enter.
    func type(_ line: String) throws { try send(line + "\r") }

    /// Reads whatever is available within `milliseconds`; false once the program closed the terminal.
    @discardableResult
    private func pump(milliseconds: Int32) -> Bool {
        if sawEOF { return false }
        var fds = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        let ready = poll(&fds, 1, milliseconds)
        if ready <= 0 { return true }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
        if n > 0 {
            raw += buffer[0..<n]
            return true
        }
        if n < 0 && errno == EINTR { return true }
        sawEOF = true // EIO: every slave descriptor is closed, the program is gone
        return false
    }

    /// Waits until `text` appears after the previous match; returns the screen text between them. Fails the
    /// test (with the screen) after `timeout` seconds or when the program ends first.
    @discardableResult
    func expect(_ text: String, timeout: Double = 10, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        let needle = Array(text.utf8)
        while true {
            let shown = PseudoTerminal.cleanBytes(raw)
            if let at = PseudoTerminal.find(needle, in: shown, from: min(mark, shown.count)) {
                defer { mark = at + needle.count }
                return String(decoding: shown[min(mark, shown.count)..<at], as: UTF8.self)
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0, pump(milliseconds: Int32(min(200, max(1, left * 1000)))) else {
                let why = left > 0 ? "the program closed the terminal" : "timed out after \(timeout) s"
                let message = "\(why) waiting for \(text.debugDescription); the terminal shows:\n\(tail(screen))"
                XCTFail(message, file: file, line: line)
                throw PseudoTerminalError(message)
            }
        }
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        for i in start...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
        }
        return nil
    }

    /// Waits for the program to end (reading its last output); returns its exit status, or fails after `timeout`.
    func waitForExit(timeout: Double = 10, file: StaticString = #filePath, line: UInt = #line) throws -> Int32 {
        if let s = exitStatus { return s }
        let deadline = Date().addingTimeInterval(timeout)
        while deadline.timeIntervalSinceNow > 0 {
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                // Take what it wrote last (the terminal closes when the program ends).
                while !sawEOF, deadline.timeIntervalSinceNow > 0 {
                    var fds = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
                    guard poll(&fds, 1, 0) > 0 else { break }
                    pump(milliseconds: 0)
                }
                let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                exitStatus = code
                return code
            }
            if !pump(milliseconds: 50) { _ = poll(nil, 0, 10) } // terminal closed: the exit is a moment away
        }
        let message = "the program did not exit within \(timeout) s; the terminal shows:\n\(tail(screen))"
        XCTFail(message, file: file, line: line)
        throw PseudoTerminalError(message)
    }

    private func tail(_ s: String) -> String {
        let lines = s.split(separator: "\n", omittingEmptySubsequences: false).suffix(30)
        return lines.map { "  | " + $0 }.joined(separator: "\n")
    }

    /// `bytes` as text without ANSI escape sequences (CSI, OSC, two-byte ESC) and without carriage returns.
    static func cleanBytes(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x1b, i + 1 < bytes.count {
                let next = bytes[i + 1]
                if next == UInt8(ascii: "[") {
                    i += 2
                    while i < bytes.count, !(0x40...0x7e).contains(bytes[i]) { i += 1 }
                    i += 1
                } else if next == UInt8(ascii: "]") {
                    i += 2
                    while i < bytes.count, bytes[i] != 0x07, bytes[i] != 0x1b { i += 1 }
                    i += bytes.count > i && bytes[i] == 0x1b ? 2 : 1
                } else {
                    i += 2
                }
                continue
            }
            if b != UInt8(ascii: "\r") && b != 0x07 && b != 0x08 { out.append(b) }
            i += 1
        }
        return out
    }
}

extension PseudoTerminal {
    /// The `rorem` executable: beside the test bundle, else in this package's .build folder.
    static var roremBinary: String? {
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments.first { $0.contains(".xctest") } ?? CommandLine.arguments[0])
            .deletingLastPathComponent()
        let candidates = [bundleDir.appendingPathComponent("rorem").path] +
            ["debug", "release"].map { URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/\($0)/rorem").standardized.path }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
