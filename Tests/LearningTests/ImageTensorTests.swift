import XCTest
import Imaging
import Learning
import Tensor

final class ImageTensorTests: XCTestCase {
    func testImagesBecomeNCHWAndComeBack() throws {
        // 2x1 RGB image: pixel 0 = (0.1, 0.2, 0.3), pixel 1 = (0.4, 0.5, 0.6).
        let image = try Image(width: 2, height: 1, channels: 3, pixels: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
        let t = try ImageTensor.batch([image, image])
        XCTAssertEqual(t.shape, [2, 3, 1, 2])
        // Channel planes: R = (0.1, 0.4), G = (0.2, 0.5), B = (0.3, 0.6).
        XCTAssertEqual(Array(t.values[0..<6]), [0.1, 0.4, 0.2, 0.5, 0.3, 0.6])
        let signed = try ImageTensor.batch([image], scale: .signed)
        XCTAssertEqual(signed.values[0], -0.8, accuracy: 1e-6)
        XCTAssertEqual(signed.values[1], -0.2, accuracy: 1e-6)
        let back = try ImageTensor.images(from: signed, scale: .signed)
        XCTAssertEqual(back.count, 1)
        for (a, b) in zip(back[0].pixels, image.pixels) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testGrayImagesAreReplicatedAndOutputIsClamped() throws {
        let gray = try Image(width: 1, height: 1, channels: 1, pixels: [0.25])
        XCTAssertEqual(try ImageTensor.batch([gray]).values, [0.25, 0.25, 0.25])
        let wild = try Tensor([-2, 0.5, 3], shape: [1, 3, 1, 1])
        XCTAssertEqual(try ImageTensor.images(from: wild)[0].pixels, [0, 0.5, 1])
    }

    func testZeroedInputHidesTheObjectAndAddsTheMask() throws {
        let image = try Image(width: 2, height: 1, channels: 3, pixels: [1, 1, 1, 0.75, 0.5, 0.25])
        let mask = try Mask(width: 2, height: 1, values: [0.9, 0.2])   // first pixel masked, second kept
        let input = try ImageTensor.zeroedInput(images: [image], masks: [mask])
        XCTAssertEqual(input.shape, [1, 4, 1, 2])
        // Per channel (masked, kept): R (0, 0.5), G (0, 0), B (0, -0.5), mask (1, 0).
        XCTAssertEqual(input.values, [0, 0.5, 0, 0, 0, -0.5, 1, 0])
    }

    func testMismatchedSizesThrowNamingThem() throws {
        let a = try Image(width: 2, height: 2), b = try Image(width: 3, height: 2)
        XCTAssertThrowsError(try ImageTensor.batch([a, b])) { error in
            XCTAssertTrue("\(error)".contains("image 1 is 3x2"), "\(error)")
        }
        XCTAssertThrowsError(try ImageTensor.zeroedInput(images: [a], masks: []))
    }
}
