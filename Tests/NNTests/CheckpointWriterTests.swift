import Foundation
import XCTest
import Tensor
@testable import NN

/// The writers: torch.save-compatible zips (checked by torch.load(weights_only=True) in
/// make_checkpoint_fixtures.py on the committed file this test reproduces byte for byte) and streamed safetensors.
final class CheckpointWriterTests: XCTestCase {
    static func smallStateDict() throws -> [String: Tensor] {
        [
            "a.weight": try Tensor((0..<6).map { Float($0) / 4 - 0.5 }, shape: [2, 3]),
            "b": try Tensor([1e-3, -65504, 3.140625], shape: [3]),
            "scalar": Tensor(scalar: 1.5),
        ]
    }

    func testTorchWriterOutputIsTheFileTorchLoadChecked() throws {
        let dir = try CheckpointFixtures.scratch("torchwrite")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/state.pt"
        try TorchWriter.write(Self.smallStateDict(), to: path)
        let committed = CheckpointFixtures.path("written_by_rorem.pt")
        if ProcessInfo.processInfo.environment["ROREM_WRITE_FIXTURES"] == "1" {
            try? FileManager.default.removeItem(atPath: committed)
            try FileManager.default.copyItem(atPath: path, toPath: committed)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), try Data(contentsOf: URL(fileURLWithPath: committed)),
                       "the writer's bytes changed; regenerate with ROREM_WRITE_FIXTURES=1 and rerun make_checkpoint_fixtures.py")
        // And our own reader reads it back.
        let back = try TorchCheckpoint(path: path)
        XCTAssertEqual(back.names, ["a.weight", "b", "scalar"])
        for (name, t) in try Self.smallStateDict() {
            XCTAssertEqual(try back.tensor(name, dtype: .f32).values, t.values, name)
            XCTAssertEqual(back.info(name)?.shape, t.shape, name)
        }
        let zip = try ZipArchive(file: MappedFile(path: path))
        for n in zip.names where n.contains("/data/") { XCTAssertEqual(zip.entries[n].map { $0.offset % 64 }, 0, n) }
    }

    func testTorchWriterHalfPrecisionRoundTrips() throws {
        let dir = try CheckpointFixtures.scratch("torchhalf")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for dtype in [DType.f16, .bf16] {
            let path = dir + "/h-\(dtype).pt"
            try TorchWriter.write(["w": try Tensor([1, -2.5, 0.75], shape: [3])], dtype: dtype, to: path)
            let back = try TorchCheckpoint(path: path)
            XCTAssertEqual(back.info("w")?.elementType, dtype == .f16 ? .f16 : .bf16)
            XCTAssertEqual(try back.tensor("w", dtype: .f32).values, [1, -2.5, 0.75])
        }
    }

    func testSafeTensorsStreamingKeepsOrderAndDtypes() throws {
        let dir = try CheckpointFixtures.scratch("stwrite")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = try Tensor([1, -2.5, 3.25, 0, 65504, 1e-3], shape: [2, 3]), b = try Tensor([7, 1.00390625], shape: [2])
        for dtype in [DType.f32, .f16, .bf16] {
            let path = dir + "/m-\(dtype).safetensors"
            try SafeTensors.write([("z", a), ("a", b)], metadata: ["k": "v"], dtype: dtype, to: path)
            let f = try SafeTensorsFile(path: path)
            XCTAssertEqual(f.names, ["z", "a"])
            XCTAssertEqual(f.metadata, ["k": "v"])
            XCTAssertEqual(f.entries["z"]?.dtype, ElementType(dtype))
            let tol: Float = dtype == .f32 ? 0 : (dtype == .f16 ? 1e-3 : 8e-3)
            for (x, y) in zip(try f.tensor("z", dtype: .f32).values, a.values) { XCTAssertEqual(x, y, accuracy: abs(y) * tol, "\(dtype)") }
            // bf16 rounds to nearest even: 1.00390625 is halfway between 1 and 1.0078125 and goes to 1.
            if dtype == .bf16 { XCTAssertEqual(try f.tensor("a", dtype: .f32).values, [7, 1]) }
        }
        XCTAssertThrowsError(try SafeTensors.write([("x", a), ("x", b)], to: dir + "/dup.safetensors")) {
            XCTAssertTrue("\($0)".contains("'x'"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/dup.safetensors"))
    }

    func testAFailedWriteLeavesNoFileAndKeepsTheOldOne() throws {
        let dir = try CheckpointFixtures.scratch("atomic")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/keep.safetensors"
        try SafeTensors.write(["w": Tensor(zeros: [2])], to: path)
        do {
            let out = try AtomicFile(path: path)
            try out.write([1, 2, 3])
            // Dropped without commit.
        }
        XCTAssertEqual(try SafeTensorsFile(path: path).names, ["w"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["keep.safetensors"])
        XCTAssertThrowsError(try SafeTensors.write(["w": Tensor(zeros: [2])], to: dir + "/no/such/dir/x.safetensors")) {
            XCTAssertTrue("\($0)".contains("temporary file"), "\($0)")
        }
    }
}
