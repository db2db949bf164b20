import Foundation
import Imaging
import XCTest
@testable import Curation

/// A fresh temporary folder, removed when the test ends.
func temporaryFolder(_ test: XCTestCase, _ label: String = "curation") throws -> String {
    let path = NSTemporaryDirectory() + "rorem-\(label)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

/// A small RGB image whose pixels are k/255 values derived from `seed`, so that 8-bit PNG storage is exact.
func patternImage(width: Int = 8, height: Int = 6, seed: Int = 0) throws -> Image {
    var pixels: [Float] = []
    for i in 0..<(width * height * 3) { pixels.append(Float((i * 37 + seed * 11) % 256) / 255) }
    return try Image(width: width, height: height, channels: 3, pixels: pixels)
}

/// A store holding one tiny dataset `tiny` of `count` pairs with targets, and one candidate per pair from model
/// `m` in round 1 (the result is the target for even pairs and the source for odd ones).
func tinyStore(_ test: XCTestCase, count: Int = 4) throws -> (Store, [Int64]) {
    let store = try Store(path: try temporaryFolder(test, "store"))
    var pairs: [Pair] = []
    for i in 0..<count {
        let source = try patternImage(seed: i), target = try patternImage(seed: 100 + i)
        let mask = try Mask.box(width: 8, height: 6, rect: PixelRect(x: 2, y: 1, width: 3, height: 3))
        pairs.append(Pair(name: "p\(i)", source: .image(source), mask: .mask(mask), target: .image(target)))
    }
    try store.saveDataset(Dataset(name: "tiny", pairs: pairs))
    let ids = try store.generate(dataset: "tiny", model: "m", round: 1) { source, _ in source }
    return (store, ids)
}
