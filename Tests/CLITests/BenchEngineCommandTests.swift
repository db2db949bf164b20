import Foundation
import XCTest

/// `rorem bench engine`: a quick part end to end (its kernel lines and timings), and a bad part named.
final class BenchEngineCommandTests: XCTestCase {
    func testTheLinearPartPrintsItsKernelAndTimings() throws {
        let r = try CLI.run(["bench", "engine", "--parts", "linear", "--runs", "1", "--threads", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = Dictionary(r.stdout.split(separator: "\n").compactMap { line -> (String, String)? in
            let parts = line.split(separator: "=", maxSplits: 1)
            return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
        }, uniquingKeysWith: { $1 })
        XCTAssertFalse((lines["half_weight_gemm"] ?? "").isEmpty, r.stdout)
        XCTAssertNotNil(lines["conv_winograd"], r.stdout)
        for name in ["linear_f16_256x1280x1280_ms", "linear_f16_256x10240x1280_ms"] {
            XCTAssertGreaterThan(Double(lines[name] ?? "") ?? 0, 0, "\(name) in \(r.stdout)")
        }
        XCTAssertNil(lines["unet_fwd_ms"], "only the part asked for: \(r.stdout)")
        XCTAssertTrue(r.stderr.contains("f16/bf16 Linear weights:"), r.stderr)
    }

    func testAnUnknownPartIsNamed() throws {
        let r = try CLI.run(["bench", "engine", "--parts", "linear,gemm"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("'gemm'") && r.stderr.contains("linear"), r.stderr)
    }
}
