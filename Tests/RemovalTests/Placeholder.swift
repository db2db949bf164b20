import XCTest

final class RemovalPlaceholder: XCTestCase {
    func testPlaceholder() {}
}
