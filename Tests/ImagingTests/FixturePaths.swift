import Foundation
import Imaging

/// Paths of the committed fixtures (written by Scripts/make_image_fixtures.py).
enum Fixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    static func path(_ name: String) -> String { folder + "/" + name }

    /// The 8-bit formula the fixture script uses.
    static func v8(_ x: Int, _ y: Int, _ c: Int) -> Float { Float((x * 37 + y * 11 + c * 71) % 256) / 255 }
    /// The 16-bit formula the fixture script uses.
    static func v16(_ x: Int, _ y: Int, _ c: Int) -> Float { Float((x * 3001 + y * 1009 + c * 7919) % 65536) / 65535 }
    /// The smooth pattern of the JPEG fixtures.
    static func smooth(_ x: Int, _ y: Int, _ c: Int) -> Float {
        Float((128 + 90 * sin(Double(x) / 5 + Double(c)) * cos(Double(y) / 7)).rounded()) / 255
    }

    /// A fresh temporary folder, removed by the caller.
    static func tempFolder() -> String {
        let path = NSTemporaryDirectory() + "rorem-test-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
