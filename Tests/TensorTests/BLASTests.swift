import XCTest
@testable import Tensor

/// The blocked parallel SGEMM path (large products) against plain loops, for every transpose combination and
/// for splits along M and along N.
final class BLASTests: XCTestCase {
    private func reference(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, ta: Bool, tb: Bool) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s: Double = 0
                for p in 0..<k {
                    let av = ta ? a[p * m + i] : a[i * k + p]
                    let bv = tb ? b[j * k + p] : b[p * n + j]
                    s += Double(av) * Double(bv)
                }
                c[i * n + j] = Float(s)
            }
        }
        return c
    }

    func testSplitProductsMatchReference() throws {
        for (m, n, k) in [(200, 72, 160), (40, 300, 190)] {
            XCTAssertGreaterThanOrEqual(m * n * k, BLAS.splitThreshold)
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = rand(ta ? [k, m] : [m, k], seed: 1), b = rand(tb ? [n, k] : [k, n], seed: 2)
                let c = try Tensor.matmul(a, b, transposeA: ta, transposeB: tb)
                XCTAssertEqual(c.shape, [m, n])
                assertClose(c.values, reference(a.values, b.values, m: m, n: n, k: k, ta: ta, tb: tb),
                            atol: 1e-4, rtol: 1e-4, "sgemm \(m)x\(n)x\(k) transA \(ta) transB \(tb)")
            }
        }
    }

    func testSingleSampleConvolutionMatchesBatchedPath() throws {
        // Batch 1 splits the GEMM; batch 2 runs one sample per lane. Both must agree with each other.
        let x = rand([2, 16, 40, 40], seed: 3), w = rand([24, 16, 3, 3], seed: 4)
        let both = try Tensor.conv2d(x, weight: w, geometry: ConvGeometry(padding: 1))
        let first = try Tensor.conv2d(x.slice(axis: 0, 0, 1), weight: w, geometry: ConvGeometry(padding: 1))
        assertClose(first.values, Array(both.values.prefix(first.count)), atol: 1e-4, rtol: 1e-5, "conv batch 1 vs 2")
    }
}

final class BLASLoaderTests: XCTestCase {
    func testSkylakeXIsForcedOnlyWithAVX512AndNoUserChoice() {
        let avx512 = "processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512bw\n"
        let avx2 = "processor\t: 0\nflags\t\t: fpu sse avx2 fma\nmodel name\t: avx512f-free CPU\n"
        XCTAssertEqual(BLAS.coreTypeToForce(cpuinfo: avx512, userSetting: nil), "SkylakeX")
        XCTAssertNil(BLAS.coreTypeToForce(cpuinfo: avx512, userSetting: "Haswell"))
        XCTAssertNil(BLAS.coreTypeToForce(cpuinfo: avx2, userSetting: nil))
        XCTAssertNil(BLAS.coreTypeToForce(cpuinfo: "", userSetting: nil))
    }

    func testOpenBLASIsLoaded() {
        XCTAssertNotEqual(BLAS.coreName, "swift-fallback", "libopenblas.so.0 should load with dlopen")
    }
}
