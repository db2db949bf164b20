import Imaging
import XCTest
@testable import Workbench

final class TerminalImagesTests: XCTestCase {
    func testDetection() {
        XCTAssertEqual(TerminalImages.detect(["ROREM_IMAGES": "sixel", "KITTY_WINDOW_ID": "1"]), .sixel)
        XCTAssertEqual(TerminalImages.detect(["KITTY_WINDOW_ID": "1"]), .kitty)
        XCTAssertEqual(TerminalImages.detect(["TERM_PROGRAM": "iTerm.app"]), .iterm)
        XCTAssertEqual(TerminalImages.detect(["TERM": "mlterm"]), .sixel)
        XCTAssertEqual(TerminalImages.detect(["TERM": "xterm-256color"]), .blocks)
        XCTAssertEqual(TerminalImages.detect(["ROREM_IMAGES": "bogus", "TERM": "xterm"]), .blocks)
    }

    func testHalfBlocksUseTwoRowsPerCharacter() throws {
        // 1 x 3 image: red over green, then blue alone on the last row.
        let img = try Image(width: 1, height: 3, channels: 3, pixels: [1, 0, 0, 0, 1, 0, 0, 0, 1])
        let text = try TerminalImages.render(img, protocol: .blocks)
        XCTAssertEqual(text, "\u{1b}[38;2;255;0;0m\u{1b}[48;2;0;255;0m\u{2580}\u{1b}[0m\n\u{1b}[38;2;0;0;255m\u{1b}[49m\u{2580}\u{1b}[0m\n")
    }

    func testGraphicsProtocolsFraming() throws {
        let img = try Image(width: 4, height: 4, channels: 3, value: 0.5)
        let kitty = try TerminalImages.render(img, protocol: .kitty)
        XCTAssertTrue(kitty.hasPrefix("\u{1b}_Ga=T,f=100,m=0;iVBORw0KGgo"))
        XCTAssertTrue(kitty.hasSuffix("\u{1b}\\\n"))
        let iterm = try TerminalImages.render(img, protocol: .iterm)
        XCTAssertTrue(iterm.hasPrefix("\u{1b}]1337;File=inline=1;size="))
        let sixel = try TerminalImages.render(img, protocol: .sixel)
        XCTAssertTrue(sixel.hasPrefix("\u{1b}Pq\"1;1;4;4"))
        XCTAssertTrue(sixel.hasSuffix("\u{1b}\\\n"))
        XCTAssertEqual(try TerminalImages.render(img, protocol: .none), "")
    }

    func testSixelBandBitsForUniformImage() throws {
        // A 2 x 6 image of one colour is one band; every column has all six bits set ('~' = 63 + 63).
        let img = try Image(width: 2, height: 6, channels: 3, value: 0)
        let sixel = try Sixel.encode(img)
        XCTAssertTrue(sixel.contains("#0~~$-"), sixel.suffix(20).description)
    }
}
