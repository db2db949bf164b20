import Foundation

/// Paths of the checkpoint fixtures (Scripts/fixtures/make_checkpoint_fixtures.py writes them).
enum CheckpointFixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/checkpoints").path
    static func path(_ name: String) -> String { folder + "/" + name }

    /// A fresh scratch folder for files a test writes.
    static func scratch(_ name: String) throws -> String {
        let dir = NSTemporaryDirectory() + "rorem-ckpt-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}
