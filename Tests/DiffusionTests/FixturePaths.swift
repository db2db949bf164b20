import Foundation

/// Paths of the committed fixtures beside these tests (written by Scripts/fixtures/make_diffusion_*.py).
enum DiffusionFixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// The fixture file `name` in Tests/DiffusionTests/Fixtures.
    static func path(_ name: String) -> String { folder.appendingPathComponent(name).path }
}
