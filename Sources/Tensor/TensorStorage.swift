import Foundation

/// The buffer behind one or more tensors: `count` elements of `dtype`. Reshapes share it, writes copy it when
/// shared. A storage either owns pooled memory, or views bytes that another object owns (a memory-mapped
/// checkpoint), in which case it is read-only and writers copy it first.
public final class TensorStorage {
    /// Number of elements in the buffer.
    public let count: Int
    /// The element type.
    public let dtype: DType
    /// Start of the buffer (`count * dtype.size` bytes; 64-byte aligned when owned).
    public let raw: UnsafeMutableRawPointer
    /// Whether the bytes belong to someone else (a mapped file): never written, copied before any write.
    public let isReadOnly: Bool
    /// Keeps viewed bytes alive (e.g. the mapped file); nil for owned memory.
    private let owner: AnyObject?
    /// The float32 copy of a half-precision buffer, made on the first read through `pointer`.
    private var shadow: UnsafeMutablePointer<Float>?
    private let shadowLock = NSLock()

    /// Bytes in the buffer.
    public var byteCount: Int { count * dtype.size }

    /// Allocates `count` elements of `dtype` (a negative count is treated as 0); zeroes them unless `zeroed` is
    /// false. Uninitialised large buffers touch no pages until written.
    public init(count: Int, dtype: DType = .f32, zeroed: Bool = true) {
        let count = Swift.max(0, count)
        self.count = count
        self.dtype = dtype
        raw = BufferPool.shared.take(bytes: max(count * dtype.size, 4))
        if dtype == .f32 { raw.bindMemory(to: Float.self, capacity: max(count, 1)) }
        if zeroed { memset(raw, 0, count * dtype.size) }
        isReadOnly = false
        owner = nil
    }

    /// A read-only view of `count` elements of `dtype` at `bytes`, which `owner` keeps alive; no copy is made.
    public init(viewing bytes: UnsafeRawPointer, count: Int, dtype: DType, owner: AnyObject) {
        self.count = Swift.max(0, count)
        self.dtype = dtype
        raw = UnsafeMutableRawPointer(mutating: bytes)
        if dtype == .f32 { raw.bindMemory(to: Float.self, capacity: max(count, 1)) }
        isReadOnly = true
        self.owner = owner
    }

    /// Allocates a buffer holding a copy of `values`.
    public convenience init(copying values: UnsafeBufferPointer<Float>) {
        self.init(count: values.count, zeroed: false)
        if let base = values.baseAddress { pointer.update(from: base, count: values.count) }
    }

    /// The elements as float32. For an f32 storage this is the buffer itself; for f16 and bf16 it is a float32
    /// copy made on first use and kept while the storage lives (correct everywhere, but it costs memory: hot
    /// paths over large weights should use `Tensor.withFloat32Values`, which does not keep it).
    public var pointer: UnsafeMutablePointer<Float> {
        if dtype == .f32 { return raw.assumingMemoryBound(to: Float.self) }
        shadowLock.lock()
        defer { shadowLock.unlock() }
        if let shadow { return shadow }
        let s = BufferPool.shared.take(bytes: max(count * 4, 4)).bindMemory(to: Float.self, capacity: max(count, 1))
        BulkConvert.run(raw, from: ElementType(dtype), s, to: .f32, count: count)
        shadow = s
        return s
    }

    /// Whether a float32 copy of this half-precision buffer is being kept (made by a read through `pointer`); the
    /// inference path checks that no weight keeps one (it would double the weight's memory).
    public var hasFloat32Shadow: Bool {
        shadowLock.lock()
        defer { shadowLock.unlock() }
        return shadow != nil
    }

    /// A new owned buffer with the same contents and dtype.
    public func copy() -> TensorStorage {
        let s = TensorStorage(count: count, dtype: dtype, zeroed: false)
        BulkConvert.run(raw, from: ElementType(dtype), s.raw, to: dtype, count: count)
        return s
    }

    /// A new owned buffer with these values converted to `dtype` (round to nearest even); a copy when equal.
    public func converted(to target: DType) -> TensorStorage {
        let s = TensorStorage(count: count, dtype: target, zeroed: false)
        BulkConvert.run(raw, from: ElementType(dtype), s.raw, to: target, count: count)
        return s
    }

    deinit {
        if owner == nil { BufferPool.shared.give(raw, bytes: max(count * dtype.size, 4)) }
        if let shadow { BufferPool.shared.give(UnsafeMutableRawPointer(shadow), bytes: max(count * 4, 4)) }
    }
}

/// A cache of large freed buffers by exact size. Training repeats the same shapes every step, and fresh
/// large allocations cost page faults (on the VMs measured, a 37 MB im2col buffer cost more than the GEMM).
///
/// When a freed buffer would take the cache past its limit, the least recently cached buffers are released to
/// make room (not the new one): a pipeline that moves from one network to another (the VAE's 512 px maps, then
/// the UNet's) keeps the sizes it is using now instead of the previous phase's.
public final class BufferPool: @unchecked Sendable {
    /// The process-wide pool used by `TensorStorage`.
    public static let shared = BufferPool()

    /// Buffers smaller than this go straight to the system allocator.
    public let minimumBytes = 1 << 16
    /// Most bytes kept cached. Default 2 GiB (`defaultLimitBytes`), or `ROREM_BUFFER_POOL_MB` megabytes when that
    /// is set to a whole number (0 turns the cache off).
    public var limitBytes: Int

    private let lock = NSLock()
    /// Cached buffers by size, oldest first, each with the `clock` value at which it was cached (no size maps to
    /// an empty list, so every list's first entry is that size's oldest).
    private var free: [Int: [(pointer: UnsafeMutableRawPointer, stamp: Int)]] = [:]
    /// Counts `give` calls: the cache order.
    private var clock = 0
    /// Bytes currently cached (not in use by any tensor).
    public private(set) var cachedBytes = 0

    /// A pool that caches at most `limitBytes` (default: from the environment, see `limitBytes`).
    public init(limitBytes: Int? = nil) {
        self.limitBytes = limitBytes ?? BufferPool.limit(fromEnvironment: getenv("ROREM_BUFFER_POOL_MB").map { String(cString: $0) })
    }

    /// The default cache limit, 2 GiB: the SDXL VAE at 512 px frees more than 1 GiB of 128 MB maps between its
    /// passes, and with a 1 GiB cap each encode and decode faulted about 450 MB back in (1.5 million page faults in
    /// four of each instead of 0.59 million; both about 6% faster with 2 GiB, measured alternately twice).
    public static let defaultLimitBytes = 2 << 30

    /// The cache limit for a `ROREM_BUFFER_POOL_MB` value: `defaultLimitBytes` when unset or not a whole number >= 0.
    static func limit(fromEnvironment value: String?) -> Int {
        guard let value, let mb = Int(value.trimmingCharacters(in: .whitespaces)), mb >= 0, mb < 1 << 40 else { return defaultLimitBytes }
        return mb << 20
    }

    /// A buffer of `bytes` (contents undefined): the most recently cached one of that size, else a new one.
    func take(bytes: Int) -> UnsafeMutableRawPointer {
        if bytes >= minimumBytes {
            lock.lock()
            if let entry = free[bytes]?.popLast() {
                if free[bytes]?.isEmpty == true { free[bytes] = nil }
                cachedBytes -= bytes
                lock.unlock()
                return entry.pointer
            }
            lock.unlock()
        }
        return UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
    }

    /// Takes back a buffer from `take`: cached when it fits under the limit (releasing the least recently cached
    /// buffers to make room), else released.
    func give(_ p: UnsafeMutableRawPointer, bytes: Int) {
        guard bytes >= minimumBytes else { p.deallocate(); return }
        var released: [UnsafeMutableRawPointer] = []
        lock.lock()
        if bytes > limitBytes {
            lock.unlock()
            p.deallocate()
            return
        }
        // The least recently cached buffer is the first of the size list whose first stamp is smallest (sizes are
        // few: one per distinct tensor size in use).
        while cachedBytes + bytes > limitBytes,
              let size = free.min(by: { $0.value[0].stamp < $1.value[0].stamp })?.key {
            released.append(free[size]!.removeFirst().pointer)
            if free[size]!.isEmpty { free[size] = nil }
            cachedBytes -= size
        }
        clock += 1
        free[bytes, default: []].append((p, clock))
        cachedBytes += bytes
        lock.unlock()
        for r in released { r.deallocate() }
    }

    /// Returns every cached buffer (and idle kernel workspace) to the system, e.g. between phases that use
    /// different shapes.
    public func trim() {
        ScratchPool.shared.trim()
        lock.lock()
        let all = free.values.flatMap { $0.map(\.pointer) }
        free = [:]
        cachedBytes = 0
        lock.unlock()
        for p in all { p.deallocate() }
    }
}
