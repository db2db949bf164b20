import Foundation
import Imaging
import XCTest
@testable import Curation

final class DatasetFormatTests: XCTestCase {
    func testRoremRoundTripIsPixelExactThroughTheStore() throws {
        let dir = try temporaryFolder(self, "rorem")
        var original = try Synth.make(count: 5, width: 32, height: 24, seed: 2)
        original.pairs[1].score = 0.25
        original.pairs[3].target = nil
        let meta = try RoremFormat.export(original, to: dir + "/out")
        XCTAssertEqual(meta, dir + "/out/meta.json")
        for sub in ["source", "mask", "GT"] { XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/out/\(sub)/synth-000000.png"), sub) }

        let loaded = try RoremFormat.load(meta, decode: true)
        XCTAssertEqual(loaded.count, 5)
        XCTAssertEqual(loaded.map(\.name), original.map(\.name))
        XCTAssertEqual(loaded[1].score, 0.25)
        XCTAssertNil(loaded[3].target)
        // Through a store and out again.
        let store = try Store(path: dir + "/store")
        try store.saveDataset(loaded)
        let stored = try store.dataset(named: loaded.name)
        let meta2 = try RoremFormat.export(stored, to: dir + "/again")
        let reloaded = try RoremFormat.load(meta2)
        for i in 0..<5 {
            XCTAssertEqual(try reloaded[i].loadSource(), try original[i].loadSource(), "source \(i)")
            XCTAssertEqual(try reloaded[i].loadMask(), try original[i].loadMask(), "mask \(i)")
            XCTAssertEqual(try reloaded[i].loadTarget(), try original[i].loadTarget(), "GT \(i)")
        }
        XCTAssertEqual(reloaded[1].score, 0.25)
        // The JSON is RORem's: a list of objects with relative paths.
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: meta2))) as? [[String: Any]]
        XCTAssertEqual(json?.first?["source"] as? String, "source/synth-000000.png")
        XCTAssertEqual(json?.first?["GT"] as? String, "GT/synth-000000.png")
        XCTAssertNil(json?[3]["GT"])
    }

    func testJPEGSourcesRoundTripAsTheirDecodedPixels() throws {
        let dir = try temporaryFolder(self, "jpeg")
        for sub in ["source", "mask"] { try FileManager.default.createDirectory(atPath: "\(dir)/\(sub)", withIntermediateDirectories: true) }
        try ImageIO.save(try patternImage(width: 16, height: 16, seed: 4), to: "\(dir)/source/a.jpg", quality: 80)
        try ImageIO.save(try Mask.box(width: 16, height: 16, rect: PixelRect(x: 4, y: 4, width: 6, height: 5)), to: "\(dir)/mask/a.png")
        try Data(#"[{"source": "source/a.jpg", "mask": "mask/a.png"}]"#.utf8).write(to: URL(fileURLWithPath: dir + "/meta.json"))
        let ds = try RoremFormat.load(dir + "/meta.json", name: "j")
        XCTAssertEqual(ds.name, "j")
        let decoded = try ImageIO.load("\(dir)/source/a.jpg")
        let back = try RoremFormat.load(try RoremFormat.export(ds, to: dir + "/x"))
        XCTAssertEqual(try back[0].loadSource(), decoded)
        XCTAssertEqual(try back[0].loadMask().maskedCount, 30)
    }

    func testMissingAndMalformedEntriesAreNamed() throws {
        let dir = try temporaryFolder(self, "bad")
        try FileManager.default.createDirectory(atPath: dir + "/source", withIntermediateDirectories: true)
        try ImageIO.save(try patternImage(), to: dir + "/source/a.png")
        try Data(#"""
            [{"source": "source/a.png", "mask": "source/a.png"},
             {"source": "source/a.png", "mask": "mask/missing.png", "GT": "GT/gone.png"},
             {"mask": "source/a.png"},
             {"source": "source/a.png", "mask": "source/a.png", "score": "high"}]
            """#.utf8).write(to: URL(fileURLWithPath: dir + "/meta.json"))
        XCTAssertThrowsError(try RoremFormat.load(dir + "/meta.json")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("4 problem(s)"), text)
            XCTAssertTrue(text.contains("entry 1: mask 'mask/missing.png' (\(dir)/mask/missing.png): no such file"), text)
            XCTAssertTrue(text.contains("entry 1: GT 'GT/gone.png'"), text)
            XCTAssertTrue(text.contains("entry 2: no \"source\""), text)
            XCTAssertTrue(text.contains("entry 3: \"score\" is not a number"), text)
        }
        try Data("{\"source\": 1}".utf8).write(to: URL(fileURLWithPath: dir + "/obj.json"))
        XCTAssertThrowsError(try RoremFormat.load(dir + "/obj.json")) { XCTAssertTrue("\($0)".contains("JSON list"), "\($0)") }
        try Data("[{".utf8).write(to: URL(fileURLWithPath: dir + "/broken.json"))
        XCTAssertThrowsError(try RoremFormat.load(dir + "/broken.json")) { XCTAssertTrue("\($0)".contains("not valid JSON"), "\($0)") }
        XCTAssertThrowsError(try RoremFormat.load(dir + "/nope.json")) { XCTAssertTrue("\($0)".contains("nope.json"), "\($0)") }
        // A corrupt image is caught by decode: true and named.
        try Data([0x89, 0x50, 0x4E, 0x47, 1, 2, 3, 4, 5]).write(to: URL(fileURLWithPath: dir + "/source/bad.png"))
        try Data(#"[{"source": "source/bad.png", "mask": "source/a.png"}]"#.utf8).write(to: URL(fileURLWithPath: dir + "/corrupt.json"))
        XCTAssertNoThrow(try RoremFormat.load(dir + "/corrupt.json"))
        XCTAssertThrowsError(try RoremFormat.load(dir + "/corrupt.json", decode: true)) { XCTAssertTrue("\($0)".contains("source/bad.png"), "\($0)") }
    }

    func testFolderImportMatchesMasksByName() throws {
        let dir = try temporaryFolder(self, "folder")
        try ImageIO.save(try patternImage(seed: 1), to: dir + "/cat.jpg")
        try ImageIO.save(try patternImage(seed: 2), to: dir + "/dog.png")
        try ImageIO.save(try Mask.box(width: 8, height: 6, rect: PixelRect(x: 0, y: 0, width: 2, height: 2)), to: dir + "/cat_mask.png")
        try ImageIO.save(try Mask.box(width: 8, height: 6, rect: PixelRect(x: 0, y: 0, width: 3, height: 3)), to: dir + "/dog-mask.png")
        let (ds, unmatched) = try FolderImport.load(images: dir, name: "pets")
        XCTAssertEqual(ds.map(\.name), ["cat", "dog"])
        XCTAssertEqual(unmatched, [])
        XCTAssertEqual(try ds[1].loadMask().maskedCount, 9)
        XCTAssertNil(ds[0].target)
        XCTAssertEqual(try ds[1].loadSource(), try patternImage(seed: 2))

        // Separate mask folder, same stems; an image without a mask is named.
        let masks = dir + "/masks"
        try FileManager.default.createDirectory(atPath: masks, withIntermediateDirectories: true)
        try ImageIO.save(try Mask.box(width: 8, height: 6, rect: PixelRect(x: 0, y: 0, width: 1, height: 1)), to: masks + "/cat.png")
        XCTAssertThrowsError(try FolderImport.load(images: dir, masks: masks)) { error in
            XCTAssertTrue("\(error)".contains("dog.png"), "\(error)")
            XCTAssertFalse("\(error)".contains("cat.jpg"), "\(error)")
        }
        let partial = try FolderImport.load(images: dir, masks: masks, skipUnmatched: true)
        XCTAssertEqual(partial.dataset.map(\.name), ["cat"])
        XCTAssertTrue(partial.unmatched.contains("dog.png"))
        XCTAssertThrowsError(try FolderImport.load(images: dir + "/none")) { XCTAssertTrue("\($0)".contains("no such folder"), "\($0)") }
    }

    func testSplitTakeShuffleConcatAreDeterministic() throws {
        let ds = try Synth.make(count: 10, width: 16, height: 16, seed: 1)
        let (train, test) = try ds.split(0.7, seed: 5)
        XCTAssertEqual(train.count, 7)
        XCTAssertEqual(test.count, 3)
        XCTAssertEqual(Set(train.map(\.name)).union(test.map(\.name)), Set(ds.map(\.name)))
        XCTAssertEqual(try ds.split(0.7, seed: 5).test.map(\.name), test.map(\.name))
        XCTAssertNotEqual(try ds.split(0.7, seed: 6).test.map(\.name), test.map(\.name))
        // Each part keeps the original order.
        XCTAssertEqual(train.map(\.name), train.map(\.name).sorted())
        XCTAssertEqual(try ds.take(3).map(\.name), ["synth-000000", "synth-000001", "synth-000002"])
        XCTAssertEqual(try ds.take(50).len, 10)
        XCTAssertThrowsError(try ds.take(-1))
        XCTAssertThrowsError(try ds.split(1.5))
        XCTAssertEqual(ds.shuffled(seed: 9).map(\.name), ds.shuffled(seed: 9).map(\.name))
        XCTAssertNotEqual(ds.shuffled(seed: 9).map(\.name), ds.map(\.name))
        let both = try ds.take(2) + ds.take(3)
        XCTAssertEqual(both.map(\.name), ["synth-000000", "synth-000001", "synth-000000-2", "synth-000001-2", "synth-000002"])
        XCTAssertEqual(both.pairedCount, 5)
        var names: [String] = []
        for pair in test { names.append(pair.name) }
        XCTAssertEqual(names, test.pairs.map(\.name))
    }
}
