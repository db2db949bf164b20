import NN
import XCTest
@testable import Diffusion

/// The shared config.json reader: defaults, bookkeeping keys, refused unknown keys, errors naming file and key.
final class ConfigFileTests: XCTestCase {
    private struct Sample: JSONConfig {
        static let knownKeys: Set<String> = ["width", "act_fn", "scale"]
        static let ignoredKeys: Set<String> = ["sample_size"]
        var width: Int, activation: Activation, scale: Float?
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: ConfigKey.self)
            width = try c.value("width", default: 8)
            activation = try Activation.named(c.value("act_fn", default: "silu"), key: "act_fn")
            scale = try c.optional("scale")
        }
    }

    private func decode(_ json: String) throws -> Sample {
        try ConfigFile.decode(Sample.self, from: Data(json.utf8), file: "vae/config.json")
    }

    func testDefaultsBookkeepingAndIgnoredKeys() throws {
        let s = try decode(#"{"_class_name": "X", "_diffusers_version": "0.42.1", "sample_size": 1024, "scale": null}"#)
        XCTAssertEqual(s.width, 8)
        XCTAssertEqual(s.activation, .silu)
        XCTAssertNil(s.scale)
        XCTAssertEqual(try decode(#"{"width": 16, "scale": 0.5}"#).scale, 0.5)
    }

    func testErrorsNameTheFileAndTheKey() {
        func error(_ json: String) -> ConfigError? {
            do { _ = try decode(json); return nil } catch { return error as? ConfigError }
        }
        XCTAssertEqual(error(#"{"width": 8, "mystery": 1}"#)?.key, "mystery")
        XCTAssertEqual(error(#"{"width": "wide"}"#)?.key, "width")
        XCTAssertEqual(error(#"{"act_fn": "mish"}"#)?.key, "act_fn")
        XCTAssertEqual(error(#"{"act_fn": "mish"}"#)?.file, "vae/config.json")
        XCTAssertNil(error(#"{"width": 8, "act_fn": "gelu"}"#))
        XCTAssertEqual(error("[1, 2]")?.key, nil)
        XCTAssertNotNil(error("[1, 2]"))
        XCTAssertTrue(error(#"{"width": 8"#)?.description.contains("vae/config.json") ?? false)
        XCTAssertThrowsError(try ConfigFile.load(Sample.self, path: "/nonexistent/config.json")) { e in
            XCTAssertTrue("\(e)".contains("/nonexistent/config.json"))
        }
    }
}
