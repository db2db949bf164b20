import XCTest

final class TensorPlaceholder: XCTestCase {
    func testPlaceholder() {}
}
