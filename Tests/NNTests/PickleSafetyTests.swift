import Foundation
import XCTest
import Tensor
@testable import NN

/// Hostile and damaged checkpoints (Fixtures/checkpoints/evil, built by hand in make_checkpoint_fixtures.py) are
/// refused with an error that names the file and the problem, and nothing they ask for is run: the payloads
/// would create /tmp/rorem-pickle-ran.
final class PickleSafetyTests: XCTestCase {
    let marker = "/tmp/rorem-pickle-ran"

    private func assertRefused(_ name: String, _ fragments: [String], line: UInt = #line) {
        let path = CheckpointFixtures.path("evil/\(name).pt")
        XCTAssertTrue(FileManager.default.fileExists(atPath: path), "fixture \(name) missing", line: line)
        XCTAssertThrowsError(try Checkpoint.open(path), name, line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("\(name).pt"), "error should name the file: \(text)", line: line)
            for f in fragments { XCTAssertTrue(text.contains(f), "error should mention '\(f)': \(text)", line: line) }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "\(name) ran its payload", line: line)
    }

    func testForbiddenGlobalsAreRefusedByName() {
        try? FileManager.default.removeItem(atPath: marker)
        assertRefused("os_system", ["refuses global 'os.system'"])
        assertRefused("posix_system", ["refuses global 'posix.system'"])
        assertRefused("builtins_eval", ["refuses global 'builtins.eval'"])
        assertRefused("subprocess_popen", ["refuses global 'subprocess.Popen'"])
        assertRefused("load_from_bytes", ["refuses global 'torch.storage._load_from_bytes'"])
        assertRefused("legacy_os_system", ["refuses global 'os.system'"])
    }

    func testAllowedCallablesWithWrongArgumentsAreRefused() {
        assertRefused("rebuild_wrong_args", ["torch._utils._rebuild_tensor_v2", "(str, int)"])
        assertRefused("storage_class_called", ["torch.FloatStorage"])
        assertRefused("ordered_dict_with_args", ["collections.OrderedDict", "no arguments"])
        assertRefused("newobj", ["NEWOBJ", "collections.OrderedDict"])
        assertRefused("view_past_storage", ["reaches element 7 of a storage of 4"])
    }

    func testTruncatedOversizedAndDeepPicklesAreRefused() {
        assertRefused("truncated_zip", ["zip"])
        assertRefused("truncated_legacy", ["past the end"])
        assertRefused("truncated_pickle", ["truncated"])
        assertRefused("huge_string", ["runs past the end of the pickle"])
        assertRefused("huge_storage", ["overflows"])
        assertRefused("deep_marks", ["nested deeper"])
        assertRefused("deep_tuples", ["deeper than 64"])
        assertRefused("undefined_memo", ["memo key 9"])
        assertRefused("self_reference", ["refers to itself"])
        assertRefused("compressed", ["compressed"])
    }

    func testEveryPrefixOfAValidCheckpointIsAnErrorNotATrap() throws {
        for name in ["nested_zip.pt", "nested_legacy.pt"] {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: CheckpointFixtures.path(name))))
            var refused = 0
            for cut in stride(from: 0, to: bytes.count, by: 7) {
                if (try? TorchCheckpoint(bytes: Array(bytes[..<cut]), label: "cut \(cut)")) == nil { refused += 1 }
            }
            XCTAssertEqual(refused, (bytes.count + 6) / 7, name)
        }
    }

    func testRandomByteFlipsNeverTrap() throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: CheckpointFixtures.path("nested_legacy.pt"))))
        var rng = RNG(seed: 15)
        for _ in 0..<300 {
            var b = bytes
            for _ in 0..<3 { b[rng.nextInt(b.count)] = UInt8(rng.nextInt(256)) }
            if let c = try? TorchCheckpoint(bytes: b) { for n in c.names { _ = try? c.tensor(n) } }
        }
    }
}
