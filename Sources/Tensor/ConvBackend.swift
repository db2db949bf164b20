import COneDNN
import Foundation

/// Which implementation runs `conv2d` and its gradients.
///
/// `onednn` is oneDNN 2.x (the library PyTorch runs CPU convolutions through), loaded at run time from
/// `libdnnl.so.2` like OpenBLAS: nothing links it, so a machine without it builds and runs everything on the
/// native path. `native` is the engine's own banded im2col + SGEMM (`Conv.tiledForward`, `Conv.backward`).
///
/// The choice: `ROREM_CONV=onednn` or `ROREM_CONV=native` when set (onednn falls back to native, with a note in
/// `ConvBackend.status`, when the library cannot be loaded); otherwise oneDNN when it loads (measured faster on
/// the project's machines: Docs/BENCHMARKS.md). Tests and benchmarks may assign `ConvBackend.current`.
public enum ConvBackend: String, CaseIterable, Sendable {
    case onednn
    case native

    /// The backend in use. Setting `.onednn` where the library is missing keeps `.native`.
    public static var current: ConvBackend {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue == .onednn && !OneDNN.isAvailable ? .native : newValue } }
    }

    /// One line for benchmarks and diagnostics, e.g. `onednn 2.6.3 (isa avx2)` or
    /// `native (ROREM_CONV=native)` / `native (oneDNN unavailable: dlopen libdnnl.so.2: ...)`.
    public static var status: String {
        switch current {
        case .onednn:
            return "onednn \(OneDNN.version) (isa \(OneDNN.isa)\(OneDNN.nativeBF16 ? ", native bf16" : ""))"
        case .native:
            if !OneDNN.isAvailable { return "native (oneDNN unavailable: \(OneDNN.loadError))" }
            return initialNote.isEmpty ? "native" : "native (\(initialNote))"
        }
    }

    /// The backend `ROREM_CONV` asks for, or nil when it is unset; an unknown value is ignored with a note.
    static func requested(_ value: String?) -> (ConvBackend?, note: String) {
        guard let value, !value.isEmpty else { return (nil, "") }
        if let backend = ConvBackend(rawValue: value.lowercased()) { return (backend, "ROREM_CONV=\(value)") }
        return (nil, "ROREM_CONV=\(value) is not onednn or native; ignored")
    }

    private static let initialNote: String = requested(getenv("ROREM_CONV").map { String(cString: $0) }).note

    private static let state = LockedValue<ConvBackend>({
        let (asked, _) = requested(getenv("ROREM_CONV").map { String(cString: $0) })
        if asked == .native { return .native }
        return OneDNN.isAvailable ? .onednn : .native
    }())
}

/// A value behind a lock (the backend switch is read from kernels on any thread).
final class LockedValue<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}

/// oneDNN primitives kept by the key they were made for: creation JIT-compiles kernels (milliseconds), execution is
/// thread-safe. A nil value records a case oneDNN cannot do, so it is not retried. Past `limit` entries the cache
/// starts afresh (a model has tens of shapes).
final class PrimitiveCache<Key: Hashable, Value>: @unchecked Sendable {
    private let table = LockedValue<[Key: Value?]>([:])
    let limit: Int
    init(limit: Int) { self.limit = limit }

    /// The value for `key`, made by `make` on first use (outside the lock: creation is slow).
    func value(for key: Key, make: () -> Value?) -> Value? {
        if let cached = table.withLock({ $0[key] }) { return cached }
        let made = make()
        table.withLock { table in
            if table.count >= limit { table.removeAll() }
            table[key] = .some(made)
        }
        return made
    }
}

/// The loaded oneDNN library (COneDNN's dlopen binding) and what it reports.
public enum OneDNN {
    /// Whether libdnnl.so.2 (oneDNN 2.x) loaded with every symbol the binding uses.
    public static let isAvailable = odnn_load() != 0
    /// Why it did not load ("" when it did).
    public static var loadError: String { String(cString: odnn_load_error()) }
    /// Its version, e.g. `2.6.3` ("" when not loaded).
    public static var version: String { String(cString: odnn_version()) }
    /// The instruction set its kernels dispatch to (`avx2`, `avx512_core`, `avx512_core_bf16`, `avx512_core_amx`).
    public static var isa: String { String(cString: odnn_cpu_isa()) }

    /// Whether the CPU computes bf16 natively (`avx512_bf16` or `amx_bf16` in /proc/cpuinfo). Only then does a
    /// bf16 weight make oneDNN compute in bf16: elsewhere oneDNN 2.x either has no bf16 convolution (AVX2) or
    /// emulates it (AVX-512 without BF16), and float32 is faster.
    public static let nativeBF16: Bool = cpuHasNativeBF16(cpuinfo: (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "")

    static func cpuHasNativeBF16(cpuinfo: String) -> Bool {
        guard let flags = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return false }
        let set = Set(flags.split(separator: " "))
        return set.contains("avx512_bf16") || set.contains("amx_bf16")
    }
}
