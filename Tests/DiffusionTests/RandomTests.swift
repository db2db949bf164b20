import NN
import Foundation
import XCTest
@testable import Diffusion

/// TorchGenerator against torch.Generator("cpu") (Fixtures/sched/random.json, Scripts/fixtures/make_diffusion_sched_fixtures.py).
final class RandomTests: XCTestCase {
    struct Call: Decodable { let op: String; let count: Int; let head: [UInt32]; let fnv1a64: String }
    struct Sequence: Decodable { let seed: String; let calls: [Call] }
    struct Shape: Decodable { let seed: String; let shape: [Int]; let head: [UInt32]; let fnv1a64: String }
    struct File: Decodable { let torch: String; let capability: String; let sequences: [Sequence]; let shapes: [Shape]; let generic: [Sequence] }

    static func fixture() throws -> File {
        let data = try Data(contentsOf: URL(fileURLWithPath: DiffusionFixtures.path("sched/random.json")))
        return try JSONDecoder().decode(File.self, from: data)
    }

    /// FNV-1a (64 bit) of the little-endian float32 bytes, as the fixture script hashes them.
    static func fnv1a64(_ values: [Float]) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for v in values {
            var bits = v.bitPattern.littleEndian
            withUnsafeBytes(of: &bits) { for b in $0 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 } }
        }
        return h
    }

    func testCallSequencesMatchTorchBitForBit() throws {
        let file = try Self.fixture()
        XCTAssertEqual(file.sequences.count, 5)
        for sequence in file.sequences {
            let seed = try XCTUnwrap(UInt64(sequence.seed))
            let g = TorchGenerator(seed: seed)
            for (k, call) in sequence.calls.enumerated() {
                let values = call.op == "randn" ? g.randn(count: call.count) : g.rand(count: call.count)
                XCTAssertEqual(values.count, call.count)
                XCTAssertEqual(values.prefix(4).map(\.bitPattern), call.head, "seed \(seed) call \(k) (\(call.op) \(call.count)): first values")
                XCTAssertEqual(String(Self.fnv1a64(values)), call.fnv1a64, "seed \(seed) call \(k) (\(call.op) \(call.count)): hash of all values")
            }
        }
    }

    func testGenericKernelMatchesTorchsDefaultCapability() throws {
        let file = try Self.fixture()
        XCTAssertEqual(file.capability, "AVX2")
        for sequence in file.generic {
            let g = TorchGenerator(seed: try XCTUnwrap(UInt64(sequence.seed)))
            g.normalKernel = .generic
            for (k, call) in sequence.calls.enumerated() {
                let values = g.randn(count: call.count)
                XCTAssertEqual(values.prefix(4).map(\.bitPattern), call.head, "generic seed \(sequence.seed) call \(k)")
                XCTAssertEqual(String(Self.fnv1a64(values)), call.fnv1a64, "generic seed \(sequence.seed) call \(k) (randn \(call.count))")
            }
            // the kernels differ (in the last bits), so the test above can tell them apart
            let x86 = TorchGenerator(seed: try XCTUnwrap(UInt64(sequence.seed)))
            let generic = x86.copy()
            generic.normalKernel = .generic
            XCTAssertNotEqual(x86.randn(count: 1000), generic.randn(count: 1000))
        }
    }

    func testTensorShapesMatchTorch() throws {
        for item in try Self.fixture().shapes {
            let g = TorchGenerator(seed: try XCTUnwrap(UInt64(item.seed)))
            let t = g.randn(item.shape)
            XCTAssertEqual(t.shape, item.shape)
            let values = t.values
            XCTAssertEqual(values.prefix(4).map(\.bitPattern), item.head, "shape \(item.shape)")
            XCTAssertEqual(String(Self.fnv1a64(values)), item.fnv1a64, "shape \(item.shape)")
        }
    }

    func testOnlyTheLow32BitsOfTheSeedReachTheTwister() {
        let a = TorchGenerator(seed: 5), b = TorchGenerator(seed: (1 << 32) + 5)
        XCTAssertEqual(a.randn(count: 40), b.randn(count: 40))
        XCTAssertEqual(b.initialSeed, (1 << 32) + 5)
        XCTAssertEqual(TorchGenerator(seed: -1).initialSeed, UInt64.max)
    }

    func testCopyContinuesIdenticallyIncludingTheCachedNormal() {
        let g = TorchGenerator(seed: 42)
        _ = g.randn(count: 3)  // leaves the sine half of a pair cached
        let c = g.copy()
        XCTAssertEqual(g.randn(count: 1), c.randn(count: 1))
        XCTAssertEqual(g.randn(count: 100), c.randn(count: 100))
        XCTAssertEqual(g.rand(count: 7), c.rand(count: 7))
    }

    func testManualSeedDropsTheCachedNormal() {
        let g = TorchGenerator(seed: 9)
        _ = g.randn(count: 1)
        g.manualSeed(9)
        XCTAssertEqual(g.randn(count: 5), TorchGenerator(seed: 9).randn(count: 5))
    }

    func testRandomBitsAreTheReferenceMersenneTwister() {
        // std::mt19937 with the default seed 5489: the 10000th output is 4123659995 (C++ standard, [rand.predef])
        let g = TorchGenerator(seed: 5489)
        var last: UInt32 = 0
        for _ in 0..<10_000 { last = g.random32() }
        XCTAssertEqual(last, 4_123_659_995)
        let h = TorchGenerator(seed: 1)
        let high = UInt64(h.copy().random32())
        XCTAssertEqual(h.random64() >> 32, high)
    }

    func testBoxMullerKernelsAreAccurate() {
        // Independent of torch: the float32 polynomials agree with the platform's log, sin and cos.
        var worstLog: Double = 0, worstTrig: Double = 0
        for i in 1...20_000 {
            let u = Float(i) / 20_000
            worstLog = max(worstLog, abs(Double(TorchBoxMuller.log(u)) - Foundation.log(Double(u))))
            let theta = Float(2 * Double.pi) * Float(i - 1) / 20_000
            let (s, c) = TorchBoxMuller.sincos(theta)
            worstTrig = max(worstTrig, abs(Double(s) - Foundation.sin(Double(theta))), abs(Double(c) - Foundation.cos(Double(theta))))
        }
        XCTAssertLessThan(worstLog, 1e-6)
        XCTAssertLessThan(worstTrig, 1e-6)
        XCTAssertTrue(TorchBoxMuller.log(0).isNaN)
    }

    func testNormalsHaveTheRightMoments() {
        let values = TorchGenerator(seed: 3).randn(count: 100_000).map(Double.init)
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
        XCTAssertEqual(mean, 0, accuracy: 0.01)
        XCTAssertEqual(variance, 1, accuracy: 0.02)
        let scaled = TorchGenerator(seed: 3).randn([4, 25], mean: 2, std: 0.5)
        XCTAssertEqual(scaled.shape, [4, 25])
        XCTAssertEqual(Double(scaled.values.reduce(0, +)) / 100, 2, accuracy: 0.2)
        XCTAssertEqual(TorchGenerator(seed: 1).randn(count: 0), [])
        XCTAssertEqual(TorchGenerator(seed: 1).randn([0, 3]).shape, [0, 3])
    }
}
