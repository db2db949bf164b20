import Foundation
import Lang
#if canImport(Glibc)
import Glibc
#endif

/// Single keys from a terminal: while it exists the terminal is in raw-ish mode (no line buffering, no echo,
/// Ctrl-C and Ctrl-S arrive as bytes instead of signals); `restore()` (called by `deinit` too) puts the saved
/// settings back. Output processing stays on, so `\n` still starts a new line.
final class KeyReader {
    private let fd: Int32
    private var saved = termios()
    private var restored = false
    private var pending: [ReviewKey] = []

    /// Puts terminal `fd` in raw mode, or throws when it is not a terminal.
    init(fd: Int32 = STDIN_FILENO) throws {
        self.fd = fd
        guard isatty(fd) != 0, tcgetattr(fd, &saved) == 0 else {
            throw PrimitiveError("review(): standard input is not a terminal")
        }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO | ISIG | IEXTEN)
        raw.c_iflag &= ~tcflag_t(IXON | ICRNL)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        // TCSANOW, not TCSAFLUSH: keys typed just before the review starts are kept.
        guard tcsetattr(fd, TCSANOW, &raw) == 0 else {
            throw PrimitiveError("review(): cannot put the terminal in raw mode: \(String(cString: strerror(errno)))")
        }
    }

    deinit { restore() }

    /// Puts back the terminal settings saved at creation (once).
    func restore() {
        guard !restored else { return }
        restored = true
        _ = tcsetattr(fd, TCSANOW, &saved)
    }

    /// The next key, waiting as long as needed; `.quit` when a SIGINT was caught meanwhile (the REPL's handler
    /// sets `Interrupt`), nil at end of input.
    func next() throws -> ReviewKey? {
        while pending.isEmpty {
            if Interrupt.isRequested { return .quit }
            var fds = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&fds, 1, 200)
            if ready < 0 {
                if errno == EINTR { continue }
                throw PrimitiveError("review(): cannot read the terminal: \(String(cString: strerror(errno)))")
            }
            if ready == 0 { continue }
            var buffer = [UInt8](repeating: 0, count: 64)
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            if n <= 0 { return nil }
            pending = ReviewKey.parse(Array(buffer[0..<n]))
        }
        return pending.removeFirst()
    }

    /// The terminal's width in character cells (80 when unknown).
    static func columns(fd: Int32 = STDOUT_FILENO) -> Int {
        var size = winsize()
        guard ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }
}
