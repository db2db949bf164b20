import Curation
import Foundation
import Imaging
import XCTest

/// A fresh temporary folder, removed when the test ends.
func temporaryFolder(_ test: XCTestCase) throws -> String {
    let path = NSTemporaryDirectory() + "rorem-reviewweb-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

/// A store with `count` small pairs (24x16, a 6x4 box mask), one candidate each from model `m` in round 1, and
/// the oracle's and a discriminator's labels on the first half (accept the even ones; scores i/count).
func reviewStore(_ test: XCTestCase, count: Int = 6) throws -> (Store, [Candidate]) {
    let store = try Store(path: try temporaryFolder(test))
    var pairs: [Pair] = []
    for i in 0..<count {
        var pixels: [Float] = []
        for k in 0..<(24 * 16 * 3) { pixels.append(Float((k * 31 + i * 17) % 256) / 255) }
        let source = try Image(width: 24, height: 16, channels: 3, pixels: pixels)
        let mask = try Mask.box(width: 24, height: 16, rect: PixelRect(x: 8 + i % 3, y: 5, width: 6, height: 4))
        pairs.append(Pair(name: "pair<\(i)>", source: .image(source), mask: .mask(mask), target: .image(source)))
    }
    try store.saveDataset(Dataset(name: "tiny", pairs: pairs))
    try store.generate(dataset: "tiny", model: "m", round: 1) { source, mask in try source.blanked(mask) }
    let candidates = try store.candidates(round: 1)
    for (i, c) in candidates.enumerated() where i < count / 2 {
        try store.label(c.id, by: .oracle(), accept: i % 2 == 0)
        try store.label(c.id, by: .discriminator("disc", threshold: 0.5), score: Double(i) / Double(count))
    }
    return (store, candidates)
}
