import Foundation
import XCTest
@testable import Tensor

/// Half-precision storage: conversions bit-exact with PyTorch (Fixtures/dtype.safetensors, written by
/// Scripts/fixtures/make_dtype_fixtures.py), zero-copy views, and float32 compute on half inputs.
final class DTypeTests: XCTestCase {
    private func fixture() throws -> SafeTensorsFile {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/dtype.safetensors").path
        return try SafeTensorsFile(path: path)
    }

    func testRoundingMatchesPyTorchBitForBit() throws {
        let file = try fixture()
        let input = try file.tensor("input")
        for (dtype, name) in [(DType.bf16, "bf16_bits"), (.f16, "f16_bits")] {
            let expected = try file.tensor(name).values.map { UInt16(bitPattern: Int16($0)) }
            let converted = input.to(dtype)
            XCTAssertEqual(converted.dtype, dtype)
            let bits: [UInt16] = converted.withRawBytes { Array($0.bindMemory(to: UInt16.self)) }
            XCTAssertEqual(bits.count, expected.count); XCTAssertGreaterThan(bits.count, 3000)
            var mismatches = 0
            for (i, (got, want)) in zip(bits, expected).enumerated() where got != want {
                if mismatches < 5 { XCTFail("\(dtype) of \(input.values[i]) (bits \(String(input.values[i].bitPattern, radix: 16))): got \(String(got, radix: 16)), PyTorch \(String(want, radix: 16))") }
                mismatches += 1
            }
            XCTAssertEqual(mismatches, 0, "\(dtype): \(mismatches) of \(bits.count) values differ from PyTorch")
        }
    }

    func testNaNStaysNaN() throws {
        let file = try fixture()
        XCTAssertEqual(try file.tensor("nan_bf16_is_nan").item, 1)
        let nan = Tensor(scalar: .nan)
        XCTAssertTrue(nan.to(.bf16).item.isNaN)
        XCTAssertTrue(nan.to(.f16).item.isNaN)
        XCTAssertTrue(Tensor(scalar: -.nan).to(.bf16).to(.f32).item.isNaN)
    }

    /// Every f16 and bf16 bit pattern widens exactly (checked against Swift's own IEEE `Float16`), and narrowing
    /// the result gives the pattern back (NaNs aside).
    func testWideningIsExactForEveryPattern() {
        for bits in 0...UInt16.max {
            let h = HalfConversion.float(f16: bits)
            let reference = Float(Float16(bitPattern: bits))
            if reference.isNaN {
                XCTAssertTrue(h.isNaN)
            } else {
                XCTAssertEqual(h.bitPattern, reference.bitPattern, "f16 \(String(bits, radix: 16))")
                XCTAssertEqual(HalfConversion.f16Bits(h), bits, "f16 round trip \(String(bits, radix: 16))")
            }
            let b = HalfConversion.float(bf16: bits)
            if !b.isNaN { XCTAssertEqual(HalfConversion.bf16Bits(b), bits, "bf16 round trip \(String(bits, radix: 16))") }
        }
    }

    /// Narrowing to f16 agrees with Swift's `Float16(_:)` (IEEE round to nearest even) on random float32 patterns.
    /// The bulk f16 -> f32 path (the F16C kernel where the CPU has it) gives the scalar conversion's bits for every
    /// pattern, NaN payloads included, at every offset of its 8-lane blocks.
    func testBulkWideningMatchesTheScalarConversionBitForBit() {
        let patterns = (0...Int(UInt16.max)).map { UInt16($0) } + [0x7C01, 0x7E00, 0xFC01, 0x0001]   // 65,540: a tail
        var out = [Float](repeating: 0, count: patterns.count)
        patterns.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                BulkConvert.run(src.baseAddress!, from: .f16, dst.baseAddress!, to: .f32, count: patterns.count)
            }
        }
        let differing = zip(patterns, out).filter { HalfConversion.float(f16: $0).bitPattern != $1.bitPattern }
        XCTAssertTrue(differing.isEmpty, "\(differing.count) patterns differ, e.g. \(differing.prefix(3).map { String($0.0, radix: 16) })")
    }

    func testNarrowingToF16AgreesWithStandardLibrary() {
        var rng = RNG(seed: 7)
        for _ in 0..<200_000 {
            let x = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            guard !x.isNaN else { continue }
            XCTAssertEqual(HalfConversion.f16Bits(x), Float16(x).bitPattern, "\(x)")
        }
    }

    func testConversionIsTheSameOnAnyThreadCount() {
        var rng = RNG(seed: 3)
        let x = Tensor.randn([3, 70_001], std: 100, rng: &rng)
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        var results: [[UInt16]] = []
        for t in [1, 2, 4] {
            Parallel.threads = t
            results.append(x.to(.bf16).withRawBytes { Array($0.bindMemory(to: UInt16.self)) })
        }
        XCTAssertEqual(results[0], results[1])
        XCTAssertEqual(results[0], results[2])
    }

    /// Operations compute in float32 on half inputs: a bf16 weight gives PyTorch's `x @ w.bfloat16().float().t()`.
    func testLinearOnHalfWeightsMatchesPyTorch() throws {
        let file = try fixture()
        let x = try file.tensor("linear_x"), w = try file.tensor("linear_w")
        for (dtype, name) in [(DType.bf16, "linear_w_bf16_f32"), (.f16, "linear_w_f16_f32")] {
            let y = try Tensor.linear(x, weight: w.to(dtype))
            XCTAssertEqual(y.dtype, .f32)
            let want = try file.tensor(name).values
            for (a, b) in zip(y.values, want) { XCTAssertEqual(a, b, accuracy: 1e-4 + 1e-5 * abs(b)) }
        }
    }

    func testViewsAreZeroCopyAndCopiedBeforeWrites() throws {
        final class Owner { let bytes: UnsafeMutableRawPointer; init(_ n: Int) { bytes = .allocate(byteCount: n, alignment: 64) }; deinit { bytes.deallocate() } }
        let owner = Owner(6 * 2)
        let halves = owner.bytes.bindMemory(to: UInt16.self, capacity: 6)
        for i in 0..<6 { halves[i] = HalfConversion.bf16Bits(Float(i) + 0.5) }
        var t = try Tensor(viewing: owner.bytes, dtype: .bf16, shape: [2, 3], owner: owner)
        XCTAssertEqual(t.storage.raw, owner.bytes, "a view shares the bytes")
        XCTAssertTrue(t.storage.isReadOnly)
        XCTAssertEqual(t.values, [0.5, 1.5, 2.5, 3.5, 4.5, 5.5])
        t.withMutableValues { $0[0] = 100 }
        XCTAssertEqual(t.dtype, .f32, "writing a half tensor makes it float32")
        XCTAssertEqual(HalfConversion.float(bf16: halves[0]), 0.5, "the viewed bytes are untouched")
        XCTAssertThrowsError(try Tensor(viewing: owner.bytes, dtype: .f32, shape: [-1, 3], owner: owner))
    }

    func testConvertingFromFileElementTypes() throws {
        let ints: [Int64] = [-3, 0, 7, 1 << 40]
        let t = try ints.withUnsafeBytes { try Tensor(converting: $0.baseAddress!, from: .i64, shape: [4], to: .f32) }
        XCTAssertEqual(t.values, [-3, 0, 7, Float(1 << 40)])
        // Unaligned f16 source (offset by one byte).
        var bytes = [UInt8](repeating: 0, count: 9)
        let values: [Float] = [1, -2, 0.25, 65504]
        for (i, v) in values.enumerated() {
            let b = HalfConversion.f16Bits(v)
            bytes[1 + 2 * i] = UInt8(b & 0xFF); bytes[2 + 2 * i] = UInt8(b >> 8)
        }
        let h = try bytes.withUnsafeBytes { try Tensor(converting: $0.baseAddress! + 1, from: .f16, shape: [4], to: .bf16) }
        XCTAssertEqual(h.dtype, .bf16)
        XCTAssertEqual(h.values, [1, -2, 0.25, 65536], "65504 rounds to 65536 in bf16, as in PyTorch")
    }

    func testParameterReplaceSharesAndOptimizerStepsConvert() throws {
        let p = Parameter(Tensor(zeros: [4]))
        let half = try Tensor([1, 2, 3, 4], shape: [4]).to(.bf16)
        try p.replace(with: half, name: "w")
        XCTAssertEqual(p.dtype, .bf16)
        XCTAssertTrue(p.value.storage === half.storage, "replace takes the storage without a copy")
        XCTAssertTrue(p.value.requiresGrad, "the parameter stays a trainable leaf")
        XCTAssertThrowsError(try p.replace(with: Tensor(zeros: [5]), name: "w")) { error in
            XCTAssertTrue("\(error)".contains("'w'"))
        }
        p.withMutableValues { $0[0] += 1 }
        XCTAssertEqual(p.dtype, .f32)
        XCTAssertEqual(p.value.values, [2, 2, 3, 4])
        let q = Parameter(Tensor(zeros: [2]).to(.f16))
        try q.assign(try Tensor([1.0009765625, 3], shape: [2]), name: "q")
        XCTAssertEqual(q.dtype, .f16, "assign keeps the parameter's dtype")
        XCTAssertEqual(q.value.values, [1.0009765625, 3])
    }

    func testGradModeIsPerThread() throws {
        let x = Tensor(repeating: 1, shape: [3]).requiringGrad()
        let started = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        var recordedOnOtherThread = false
        let other = Thread {
            GradMode.noGrad {
                started.signal()
                release.wait()
            }
        }
        other.start()
        started.wait()
        // Another thread is inside noGrad; this one still records.
        recordedOnOtherThread = (x * 2).requiresGrad
        release.signal()
        XCTAssertTrue(recordedOnOtherThread)
        let inside = GradMode.noGrad { (x * 2).requiresGrad }
        XCTAssertFalse(inside)
        XCTAssertTrue(GradMode.isEnabled)
    }
}

/// Gradient checkpointing gives the gradients of the plain computation.
final class GradientCheckpointTests: XCTestCase {
    func testCheckpointedSegmentGivesTheSameGradients() throws {
        var rng = RNG(seed: 11)
        let w1 = Parameter(Tensor.randn([6, 5], rng: &rng)), w2 = Parameter(Tensor.randn([4, 6], rng: &rng))
        let x = Tensor.randn([3, 5], rng: &rng).requiringGrad()
        func segment(_ inputs: [Tensor]) throws -> Tensor {
            try Tensor.linear(Tensor.linear(inputs[0], weight: w1.value).silu(), weight: w2.value).tanh()
        }
        let plain = try segment([x]).sum()
        try plain.backward()
        let g1 = w1.grad!.values, g2 = w2.grad!.values, gx = x.grad!.values
        w1.zeroGrad(); w2.zeroGrad(); x.zeroGrad()

        let checkpointed = try Tensor.checkpoint([x], segment).sum()
        XCTAssertEqual(checkpointed.item, plain.item, accuracy: 1e-6)
        try checkpointed.backward()
        for (a, b) in zip(w1.grad!.values, g1) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        for (a, b) in zip(w2.grad!.values, g2) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        for (a, b) in zip(x.grad!.values, gx) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testWithoutRecordingItIsAPlainCall() throws {
        let x = Tensor(repeating: 2, shape: [2])
        let y = try GradMode.noGrad { try Tensor.checkpoint([x]) { try $0[0] * $0[0] } }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertEqual(y.values, [4, 4])
    }
}
