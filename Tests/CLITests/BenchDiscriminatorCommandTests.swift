import Foundation
import XCTest

/// `rorem bench discriminator` on the tiny RORem discriminator fixture.
final class BenchDiscriminatorCommandTests: XCTestCase {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("DiffusionTests/Fixtures/tiny-rorem-discriminator").path

    func testPrintsEveryMeasurement() throws {
        let r = try CLI.run(["bench", "discriminator", "--base", Self.fixture + "/base", "--lora", Self.fixture + "/lora",
                             "--variant", "fp16", "--resolution", "64", "--batch", "1,2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        var values: [String: Double] = [:]
        for line in r.stdout.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2, let v = Double(parts[1]) { values[String(parts[0])] = v }
        }
        for name in ["score_ms", "train_step_b1_ms", "train_step_b2_ms", "peak_rss_mb"] {
            XCTAssertGreaterThan(values[name] ?? 0, 0, "\(name) in \(r.stdout)")
        }
        XCTAssertEqual(values["params"], 294_401)
        XCTAssertEqual(values["trainable_params"], 168_577)
    }

    func testRefusesAResolutionTheHeadCannotReduce() throws {
        let r = try CLI.run(["bench", "discriminator", "--base", Self.fixture + "/base", "--variant", "fp16",
                             "--head-width", "64", "--resolution", "32"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("resolution") && r.stderr.contains("8x8 mid block"), r.stderr)
    }
}
