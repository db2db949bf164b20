import XCTest
@testable import Tensor

/// The exact-size cache behind large tensor buffers: reuse, the limit, and which buffers make room.
final class BufferPoolTests: XCTestCase {
    private let kb = 1 << 10

    func testReusesTheMostRecentBufferOfASize() {
        let pool = BufferPool(limitBytes: 1 << 20)
        let a = pool.take(bytes: 100 * kb), b = pool.take(bytes: 100 * kb)
        pool.give(a, bytes: 100 * kb)
        pool.give(b, bytes: 100 * kb)
        XCTAssertEqual(pool.cachedBytes, 200 * kb)
        XCTAssertEqual(pool.take(bytes: 100 * kb), b, "the most recently cached buffer comes back first")
        XCTAssertEqual(pool.take(bytes: 100 * kb), a)
        XCTAssertEqual(pool.cachedBytes, 0)
        let c = pool.take(bytes: 100 * kb + 4)   // another size: a new buffer
        XCTAssertNotEqual(c, a)
        for (p, n) in [(a, 100 * kb), (b, 100 * kb), (c, 100 * kb + 4)] { pool.give(p, bytes: n) }
        pool.trim()
        XCTAssertEqual(pool.cachedBytes, 0)
    }

    func testMakesRoomByReleasingTheLeastRecentlyCached() {
        let pool = BufferPool(limitBytes: 1000 * kb)
        let old = (0..<2).map { _ in pool.take(bytes: 400 * kb) }      // an earlier phase's size
        for p in old { pool.give(p, bytes: 400 * kb) }
        XCTAssertEqual(pool.cachedBytes, 800 * kb)
        let new = (0..<2).map { _ in pool.take(bytes: 300 * kb) }      // the current phase's size
        for p in new { pool.give(p, bytes: 300 * kb) }
        // 800 + 300 > 1000: the oldest 400 KB buffer went; then 400 + 300 + 300 = 1000 fits.
        XCTAssertEqual(pool.cachedBytes, 1000 * kb)
        XCTAssertEqual(pool.take(bytes: 300 * kb), new[1])
        XCTAssertEqual(pool.take(bytes: 300 * kb), new[0])
        XCTAssertEqual(pool.take(bytes: 400 * kb), old[1], "the more recent of the earlier size stayed")
        XCTAssertEqual(pool.cachedBytes, 0)
        for p in new { pool.give(p, bytes: 300 * kb) }
        pool.give(old[1], bytes: 400 * kb)
        pool.trim()
    }

    func testBuffersOverTheLimitOrTooSmallAreNotCached() {
        let pool = BufferPool(limitBytes: 200 * kb)
        let big = pool.take(bytes: 300 * kb), small = pool.take(bytes: 1 * kb)
        pool.give(big, bytes: 300 * kb)
        pool.give(small, bytes: 1 * kb)
        XCTAssertEqual(pool.cachedBytes, 0)
        let off = BufferPool(limitBytes: 0)
        off.give(off.take(bytes: 100 * kb), bytes: 100 * kb)
        XCTAssertEqual(off.cachedBytes, 0)
    }

    func testTheLimitComesFromTheEnvironmentValue() {
        XCTAssertEqual(BufferPool.limit(fromEnvironment: nil), 2 << 30)
        XCTAssertEqual(BufferPool.limit(fromEnvironment: "4096"), 4096 << 20)
        XCTAssertEqual(BufferPool.limit(fromEnvironment: " 0 "), 0)
        XCTAssertEqual(BufferPool.limit(fromEnvironment: "-1"), 2 << 30)
        XCTAssertEqual(BufferPool.limit(fromEnvironment: "lots"), 2 << 30)
    }
}
