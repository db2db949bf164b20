import XCTest
import Support

final class SeededRandomTests: XCTestCase {
    /// SplitMix64's published first outputs for seed 0 (the reference C implementation).
    func testMatchesReferenceSequence() {
        var rng = SeededRandom(seed: 0)
        XCTAssertEqual(rng.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(rng.next(), 0x6E78_9E6A_A1B9_65F4)
    }

    func testBelowCoversItsRangeEvenly() {
        var rng = SeededRandom(seed: 42)
        var counts = [Int](repeating: 0, count: 5)
        for _ in 0..<5000 { counts[rng.below(5)] += 1 }
        for c in counts { XCTAssertEqual(Double(c), 1000, accuracy: 120, "\(counts)") }
    }

    func testPermutationIsAShuffleFixedBySeed() {
        var a = SeededRandom(seed: 3), b = SeededRandom(seed: 3)
        let p = a.permutation(50)
        XCTAssertEqual(p, b.permutation(50))
        XCTAssertEqual(p.sorted(), Array(0..<50))
        XCTAssertNotEqual(p, Array(0..<50))
        let u = a.unit()
        XCTAssertTrue(u >= 0 && u < 1)
    }
}
