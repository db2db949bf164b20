import XCTest

final class ImagingPlaceholder: XCTestCase {
    func testPlaceholder() {}
}
