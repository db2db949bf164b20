import XCTest

final class NNPlaceholder: XCTestCase {
    func testPlaceholder() {}
}
