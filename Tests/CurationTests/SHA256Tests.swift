import XCTest
@testable import Curation

final class SHA256Tests: XCTestCase {
    /// FIPS 180-4 / NIST test vectors.
    func testKnownVectors() {
        XCTAssertEqual(SHA256.hex([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex(Array("The quick brown fox jumps over the lazy dog".utf8)),
                       "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592")
    }

    /// A million 'a's crosses many blocks; 55 and 56 bytes sit on both sides of the padding boundary.
    func testLongAndBoundaryInputs() {
        XCTAssertEqual(SHA256.hex([UInt8](repeating: 0x61, count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        XCTAssertNotEqual(SHA256.hex([UInt8](repeating: 0x61, count: 55)), SHA256.hex([UInt8](repeating: 0x61, count: 56)))
        XCTAssertEqual(SHA256.digest([1, 2, 3]).count, 32)
    }
}
