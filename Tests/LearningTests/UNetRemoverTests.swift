import XCTest
import Imaging
import Learning
import Removal
import NN
import Tensor

final class UNetRemoverTests: XCTestCase {
    let small = UNetRemoverConfig(widths: [8, 16], groups: 4, workingSize: 32)

    func testInpaintChangesOnlyMaskedPixelsAndKeepsOddSizes() throws {
        let remover = try UNetRemover(config: small, seed: 3)
        var rng = RNG(seed: 5)
        let image = try Image(width: 13, height: 9, channels: 3, pixels: (0..<(13 * 9 * 3)).map { _ in rng.nextFloat() })
        let mask = try Mask.box(width: 13, height: 9, rect: PixelRect(x: 4, y: 2, width: 5, height: 4))
        let out = try remover.inpaint(image, mask: mask)
        XCTAssertEqual(out.width, 13)
        XCTAssertEqual(out.height, 9)
        var changed = 0
        for i in 0..<mask.pixelCount {
            for c in 0..<3 where out.pixels[i * 3 + c] != image.pixels[i * 3 + c] {
                XCTAssertTrue(mask.isMasked(i), "pixel \(i) outside the mask changed")
                changed += 1
            }
        }
        XCTAssertGreaterThan(changed, 40, "an untrained network still writes something into the 20-pixel hole")
    }

    func testObjectPixelsDoNotReachTheNetwork() throws {
        // Two sources that differ only inside the mask must give the same result.
        let remover = try UNetRemover(config: small, seed: 1)
        let mask = try Mask.box(width: 16, height: 16, rect: PixelRect(x: 5, y: 5, width: 6, height: 6))
        let a = try Image(width: 16, height: 16, channels: 3, value: 0.3)
        var b = a
        for i in 0..<mask.pixelCount where mask.isMasked(i) { for c in 0..<3 { b.pixels[i * 3 + c] = 0.9 } }
        XCTAssertEqual(try remover.inpaint(a, mask: mask), try remover.inpaint(b, mask: mask))
    }

    func testHighResolutionStrategyDownsamplesLargeCrops() throws {
        let remover = try UNetRemover(config: small, seed: 2)
        let image = try Image(width: 200, height: 120, channels: 3, value: 0.5)
        let mask = try Mask.box(width: 200, height: 120, rect: PixelRect(x: 60, y: 30, width: 70, height: 50))
        let out = try remover.remove(image, mask: mask)
        XCTAssertEqual(out.width, 200)
        XCTAssertEqual(out.height, 120)
        for i in 0..<mask.pixelCount where !mask.isMasked(i) {
            XCTAssertEqual(out.pixels[i * 3], 0.5)
        }
    }

    func testCheckpointRoundTripIsBitExact() throws {
        let dir = try SyntheticData.scratchDirectory()
        let path = dir + "/unet.safetensors"
        let remover = try UNetRemover(config: small, seed: 7)
        try remover.save(path: path, extra: ["note": "test"])
        let loaded = try UNetRemover.load(path: path)
        XCTAssertEqual(loaded.config, small)
        XCTAssertEqual(loaded.workingSize, 32)
        let sample = try SyntheticData.flatSet(count: 1, size: 16, seed: 4)[0]
        let a = try remover.inpaint(sample.source, mask: sample.mask)
        let b = try loaded.inpaint(sample.source, mask: sample.mask)
        XCTAssertEqual(a.pixels.map(\.bitPattern), b.pixels.map(\.bitPattern))
        let viaRegistry = try LearnedRemovers.make("UNet", path: path)
        XCTAssertEqual(viaRegistry.name, "unet")
        XCTAssertEqual(try viaRegistry.inpaint(sample.source, mask: sample.mask), a)
        let file = try SafeTensorsFile(path: path)
        XCTAssertEqual(file.metadata["note"], "test")
        XCTAssertEqual(file.metadata[ModelCheckpoint.kindKey], UNetRemover.kind)
    }

    func testBadCheckpointsNameTheProblem() throws {
        let dir = try SyntheticData.scratchDirectory()
        let good = dir + "/good.safetensors"
        try UNetRemover(config: small, seed: 0).save(path: good)
        let file = try SafeTensorsFile(path: good)
        var tensors = try file.allTensors()

        // A missing tensor.
        tensors["out.bias"] = nil
        let missing = dir + "/missing.safetensors"
        try SafeTensors.write(tensors, metadata: file.metadata, to: missing)
        assertCheckpointError(try UNetRemover.load(path: missing), contains: ["missing tensor 'out.bias'", "[3]"])

        // A tensor of the wrong shape.
        tensors["out.bias"] = Tensor(zeros: [4])
        let wrong = dir + "/wrong.safetensors"
        try SafeTensors.write(tensors, metadata: file.metadata, to: wrong)
        assertCheckpointError(try UNetRemover.load(path: wrong), contains: ["'out.bias'", "[4]", "[3]"])

        // Not a safetensors file at all.
        let text = dir + "/notes.safetensors"
        try "hello".write(toFile: text, atomically: true, encoding: .utf8)
        assertCheckpointError(try UNetRemover.load(path: text), contains: ["notes.safetensors", "not a readable safetensors file"])
        assertCheckpointError(try UNetRemover.load(path: dir + "/absent.safetensors"), contains: ["absent.safetensors"])

        // A safetensors file without rorem metadata, and one of another kind.
        let bare = dir + "/bare.safetensors"
        try SafeTensors.write(["x": Tensor(zeros: [1])], to: bare)
        assertCheckpointError(try LearnedRemovers.load(bare), contains: ["rorem.kind"])
        let judge = dir + "/judge.safetensors"
        try Discriminator(config: DiscriminatorConfig(widths: [8], groups: 4, resolution: 16)).save(path: judge)
        assertCheckpointError(try UNetRemover.load(path: judge), contains: ["'discriminator'", "'unet-remover'"])
        assertCheckpointError(try LearnedRemovers.load(judge), contains: ["not a remover"])
    }

    func testInvalidConfigurationsAreRejected() {
        XCTAssertThrowsError(try UNetRemover(config: UNetRemoverConfig(widths: [], groups: 4)))
        XCTAssertThrowsError(try UNetRemover(config: UNetRemoverConfig(widths: [8, 12], groups: 8))) { error in
            XCTAssertTrue("\(error)".contains("width 12"), "\(error)")
        }
        XCTAssertThrowsError(try LearnedRemovers.make("telea", path: "/nonexistent"))
    }

    private func assertCheckpointError<T>(_ body: @autoclosure () throws -> T, contains parts: [String],
                                          file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            let text = "\(error)"
            for part in parts { XCTAssertTrue(text.contains(part), "'\(text)' lacks '\(part)'", file: file, line: line) }
        }
    }
}
