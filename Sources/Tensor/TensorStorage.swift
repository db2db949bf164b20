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
public final class BufferPool: @unchecked Sendable {
    /// The process-wide pool used by `TensorStorage`.
    public static let shared = BufferPool()

    /// Buffers smaller than this go straight to the system allocator.
    public let minimumBytes = 1 << 16
    /// Most bytes kept cached; a freed buffer that would exceed it is returned to the system.
    public var limitBytes = 1 << 30

    private let lock = NSLock()
    private var free: [Int: [UnsafeMutableRawPointer]] = [:]
    /// Bytes currently cached (not in use by any tensor).
    public private(set) var cachedBytes = 0

    func take(bytes: Int) -> UnsafeMutableRawPointer {
        if bytes >= minimumBytes {
            lock.lock()
            if let p = free[bytes]?.popLast() {
                cachedBytes -= bytes
                lock.unlock()
                return p
            }
            lock.unlock()
        }
        return UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
    }

    func give(_ p: UnsafeMutableRawPointer, bytes: Int) {
        if bytes >= minimumBytes {
            lock.lock()
            if cachedBytes + bytes <= limitBytes {
                free[bytes, default: []].append(p)
                cachedBytes += bytes
                lock.unlock()
                return
            }
            lock.unlock()
        }
        p.deallocate()
    }

    /// Returns every cached buffer (and idle kernel workspace) to the system, e.g. between phases that use
    /// different shapes.
    public func trim() {
        ScratchPool.shared.trim()
        lock.lock()
        let all = free.values.flatMap { $0 }
        free = [:]
        cachedBytes = 0
        lock.unlock()
        for p in all { p.deallocate() }
    }
}
