import Foundation

/// The float32 buffer behind one or more tensors; reshapes share it, writes copy it when shared.
public final class TensorStorage {
    /// Number of floats in the buffer.
    public let count: Int
    /// Start of the buffer (64-byte aligned).
    public let pointer: UnsafeMutablePointer<Float>

    /// Allocates `count` floats (a negative count is treated as 0); zeroes them unless `zeroed` is false.
    public init(count: Int, zeroed: Bool = true) {
        let count = Swift.max(0, count)
        self.count = count
        pointer = BufferPool.shared.take(bytes: max(count, 1) * 4).bindMemory(to: Float.self, capacity: max(count, 1))
        if zeroed { pointer.initialize(repeating: 0, count: count) }
    }

    /// Allocates a buffer holding a copy of `values`.
    public convenience init(copying values: UnsafeBufferPointer<Float>) {
        self.init(count: values.count, zeroed: false)
        if let base = values.baseAddress { pointer.update(from: base, count: values.count) }
    }

    /// A new buffer with the same contents.
    public func copy() -> TensorStorage {
        TensorStorage(copying: UnsafeBufferPointer(start: pointer, count: count))
    }

    deinit { BufferPool.shared.give(UnsafeMutableRawPointer(pointer), bytes: max(count, 1) * 4) }
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
