import XCTest

final class LearningPlaceholder: XCTestCase {
    func testPlaceholder() {}
}
