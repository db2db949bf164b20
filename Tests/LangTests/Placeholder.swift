import XCTest

final class LangPlaceholder: XCTestCase {
    func testPlaceholder() {}
}
