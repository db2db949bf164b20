/// A process-wide "interrupt requested" flag that a SIGINT handler may set; the interpreter polls it at
/// loop iterations and calls and stops with an `interrupted` error.
public enum Interrupt {
    /// The flag's storage: a plain `sig_atomic_t`-sized word, written from a signal handler, read by the interpreter.
    nonisolated(unsafe) public static let flag: UnsafeMutablePointer<Int32> = {
        let p = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        p.initialize(to: 0)
        return p
    }()

    /// Asks the running program to stop at its next loop iteration or call.
    public static func request() { flag.pointee = 1 }

    /// Clears a pending request.
    public static func clear() { flag.pointee = 0 }

    /// Whether a stop was requested.
    public static var isRequested: Bool { flag.pointee != 0 }
}

/// Where the interpreter writes text and shows values.
public protocol OutputSink: AnyObject {
    /// Writes `text` as is (it includes its own newlines).
    func write(_ text: String)
    /// Shows the value of an echoed expression (REPL, notebooks); the default writes its printed form and a newline.
    func display(_ value: Value)
}

extension OutputSink {
    /// Writes the printed form and a newline.
    public func display(_ value: Value) { write(value.printed + "\n") }
}

/// Writes to standard output.
public final class StandardOutput: OutputSink {
    /// A sink that writes to stdout.
    public init() {}
    /// Writes `text` to stdout.
    public func write(_ text: String) { print(text, terminator: "") }
}

/// Collects everything written, for tests and notebooks.
public final class CapturedOutput: OutputSink {
    /// Everything written so far.
    public private(set) var text = ""
    /// An empty capture.
    public init() {}
    /// Appends `text`.
    public func write(_ text: String) { self.text += text }
    /// Empties the capture.
    public func clear() { text = "" }
}
