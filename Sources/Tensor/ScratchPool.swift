import Foundation

/// Reusable scratch buffers for kernel workspaces (im2col columns) whose sizes vary from layer to layer.
/// A request takes the smallest free buffer that is large enough, so a network keeps about one buffer per
/// concurrent convolution instead of one per distinct size.
final class ScratchPool: @unchecked Sendable {
    static let shared = ScratchPool()

    private let lock = NSLock()
    private var free: [(pointer: UnsafeMutablePointer<Float>, capacity: Int)] = []

    /// A buffer of at least `count` floats (contents undefined); hand it back with `give`.
    func take(_ count: Int) -> (pointer: UnsafeMutablePointer<Float>, capacity: Int) {
        lock.lock()
        var best: Int? = nil
        for (i, b) in free.enumerated() where b.capacity >= count && (best.map { b.capacity < free[$0].capacity } ?? true) {
            best = i
        }
        if let best {
            let b = free.remove(at: best)
            lock.unlock()
            return b
        }
        // None fits: drop the largest smaller buffer so the pool does not grow one buffer per size.
        var dropped: UnsafeMutablePointer<Float>? = nil
        if let largest = free.indices.max(by: { free[$0].capacity < free[$1].capacity }) {
            dropped = free.remove(at: largest).pointer
        }
        lock.unlock()
        dropped?.deallocate()
        let capacity = max(count, 1)
        return (UnsafeMutablePointer<Float>.allocate(capacity: capacity), capacity)
    }

    /// Returns a buffer obtained from `take`.
    func give(_ buffer: (pointer: UnsafeMutablePointer<Float>, capacity: Int)) {
        lock.lock()
        free.append(buffer)
        lock.unlock()
    }

    /// Frees every idle buffer.
    func trim() {
        lock.lock()
        let all = free
        free = []
        lock.unlock()
        for b in all { b.pointer.deallocate() }
    }
}
