import Foundation
import XCTest
import Tensor
@testable import NN

/// The pickle reader on files written by torch.save (Fixtures/checkpoints, from make_checkpoint_fixtures.py):
/// every tensor must equal PyTorch's values exactly (f16, bf16 and small integers are exact in f32).
final class TorchCheckpointTests: XCTestCase {
    let expectedNames = [
        "model.conv.weight", "model.conv.bias", "model.half", "model.bf", "model.steps", "model.flags", "model.param",
        "model.scalar", "model.empty", "shared.whole", "shared.row", "shared.block", "shared.t", "list.0", "list.1",
    ]

    private func checkAgainstPyTorch(_ file: String) throws {
        let ckpt = try TorchCheckpoint(path: CheckpointFixtures.path(file))
        let expected = try SafeTensorsFile(path: CheckpointFixtures.path("expected.safetensors"))
        XCTAssertEqual(ckpt.names, expectedNames, file)
        XCTAssertEqual(Set(ckpt.names), Set(expected.names), file)
        for name in expected.names {
            let want = try expected.tensor(name)
            let got = try ckpt.tensor(name, dtype: .f32)
            // The reference writer stores 0-d tensors as [1] (numpy's ascontiguousarray); ours keeps PyTorch's [].
            XCTAssertEqual(got.shape, want.shape == [1] && name == "model.scalar" ? [] : want.shape, "\(file) \(name)")
            XCTAssertEqual(got.values, want.values, "\(file) \(name)")
        }
        XCTAssertEqual(ckpt.info("model.half")?.elementType, .f16)
        XCTAssertEqual(ckpt.info("model.bf")?.elementType, .bf16)
        XCTAssertEqual(ckpt.info("model.steps")?.elementType, .i64)
        XCTAssertEqual(ckpt.info("model.flags")?.elementType, .bool)
        XCTAssertEqual(ckpt.info("model.scalar")?.shape, [])
        XCTAssertEqual(ckpt.info("model.empty")?.shape, [0, 3])
        XCTAssertEqual(ckpt.metadata["epoch"], "7")
        XCTAssertEqual(ckpt.metadata["lr"], "0.25")
        XCTAssertEqual(ckpt.metadata["name"], "tiny")
        XCTAssertTrue(ckpt.isContiguous("shared.row"))
        XCTAssertFalse(ckpt.isContiguous("shared.block"))
        XCTAssertFalse(ckpt.isContiguous("shared.t"))
    }

    func testZipFormatMatchesPyTorch() throws { try checkAgainstPyTorch("nested_zip.pt") }

    func testLegacyFormatMatchesPyTorch() throws { try checkAgainstPyTorch("nested_legacy.pt") }

    /// The same archive with every size and offset in ZIP64 records, as torch.save writes files over 4 GiB.
    func testZip64ArchiveMatchesPyTorch() throws { try checkAgainstPyTorch("nested_zip64.pt") }

    func testOpenPicksTheFormatAndLoadsWithPrefix() throws {
        let source = try Checkpoint.open(CheckpointFixtures.path("nested_zip.pt"))
        XCTAssertTrue(source is TorchCheckpoint)
        var rng = RNG(seed: 1)
        let conv = Conv2d(3, 2, kernelSize: 3, rng: &rng)
        let report = try conv.load(from: source, strict: false, prefix: "model.conv.")
        XCTAssertEqual(report.loaded, ["weight", "bias"])
        XCTAssertEqual(conv.weight.value.values, try source.tensor("model.conv.weight", dtype: .f32).values)
        XCTAssertThrowsError(try conv.load(from: source, prefix: "model.conv.", rename: { $0 == "bias" ? nil : $0 })) { error in
            XCTAssertTrue("\(error)".contains("missing tensor 'bias'") && "\(error)".contains("nested_zip.pt"), "\(error)")
        }
    }

    func testTensorsSharingAStorageShareItsBytes() throws {
        // Contiguous tensors in their stored dtype are views of the mapped file; a row at a storage offset starts
        // exactly 12 floats after the whole tensor, in the same bytes. Strided ones are gathered copies.
        let ckpt = try TorchCheckpoint(path: CheckpointFixtures.path("nested_zip.pt"))
        let whole = try ckpt.tensor("shared.whole"), row = try ckpt.tensor("shared.row"), block = try ckpt.tensor("shared.block")
        let mapped = UnsafeRawPointer(ckpt.file.base)..<(ckpt.file.base + ckpt.file.count)
        let w = whole.withRawBytes { $0.baseAddress! }, r = row.withRawBytes { $0.baseAddress! }, b = block.withRawBytes { $0.baseAddress! }
        XCTAssertTrue(mapped.contains(w) && whole.storage.isReadOnly)
        XCTAssertEqual(r, w + 12 * 4)
        XCTAssertFalse(mapped.contains(b))
        XCTAssertEqual(Array(whole.values[12..<18]), row.values)
        let half = try ckpt.tensor("model.half")
        XCTAssertEqual(half.dtype, .f16)
        XCTAssertTrue(mapped.contains(half.withRawBytes { $0.baseAddress! }))
        XCTAssertEqual(try ckpt.tensor("model.half", dtype: .f32).dtype, .f32)
        XCTAssertEqual(try ckpt.tensor("model.steps").dtype, .f32, "integers arrive as f32")
    }
}
