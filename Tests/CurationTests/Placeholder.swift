import XCTest

final class CurationPlaceholder: XCTestCase {
    func testPlaceholder() {}
}
