import XCTest
@testable import Diffusion

final class DiffusionModuleTests: XCTestCase {
    func testFixtureFolderExists() {
        XCTAssertTrue(FileManager.default.fileExists(atPath: DiffusionFixtures.folder.path))
    }
}
