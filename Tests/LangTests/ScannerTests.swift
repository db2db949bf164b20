import XCTest
@testable import Lang

final class ScannerTests: XCTestCase {
    private func kinds(_ s: String) throws -> [TokenKind] {
        var scanner = Scanner(s)
        return try scanner.scanTokens().map { $0.kind }
    }

    func testPunctuationAndKeywords() throws {
        XCTAssertEqual(try kinds("let x = 1...3 |> f"), [.kwLet, .identifier, .equal, .number, .rangeInclusive, .number, .pipe, .identifier, .eof])
        XCTAssertEqual(try kinds("a ..< b => c != d <= e >= f"), [.identifier, .rangeHalfOpen, .identifier, .arrow, .identifier, .bangEqual, .identifier, .lessEqual, .identifier, .greaterEqual, .identifier, .eof])
    }

    func testNumbers() throws {
        var scanner = Scanner("12 3.5 1e-3 2E+2")
        let values = try scanner.scanTokens().filter { $0.kind == .number }.map { $0.number }
        XCTAssertEqual(values, [12, 3.5, 0.001, 200])
    }

    func testNewlinesCollapseAndCommentsVanish() throws {
        XCTAssertEqual(try kinds("a # comment\n\n\n b"), [.identifier, .newline, .identifier, .eof])
    }

    func testPositionsAreOneBased() throws {
        var scanner = Scanner("let x\n  y")
        let tokens = try scanner.scanTokens()
        XCTAssertEqual(tokens[1].position, SourcePosition(line: 1, column: 5))
        XCTAssertEqual(tokens[3].position, SourcePosition(line: 2, column: 3))
    }

    func testStringEscapesAndInterpolation() throws {
        var scanner = Scanner(#""a\n\t\"\\\{ {x + 1} b""#)
        let t = try scanner.scanTokens()[0]
        XCTAssertEqual(t.pieces.count, 3)
        XCTAssertEqual(t.pieces[0], .text("a\n\t\"\\{ "))
        XCTAssertEqual(t.pieces[1], .code("x + 1", SourcePosition(line: 1, column: 15)))
        XCTAssertEqual(t.pieces[2], .text(" b"))
    }

    func testErrorsCarryPlace() {
        for (source, message, column) in [("let x = @", "unexpected character '@'", 9), ("\"abc", "unterminated string", 1), ("x = \"\\q\"", "unknown escape", 6), ("1 | 2", "did you mean '|>'", 3)] {
            var scanner = Scanner(source)
            XCTAssertThrowsError(try scanner.scanTokens(), source) { error in
                guard let e = error as? LangError else { return XCTFail("not a LangError") }
                XCTAssertTrue(e.message.contains(message), "\(source): \(e.message)")
                XCTAssertEqual(e.position?.column, column, source)
                XCTAssertEqual(e.exitStatus, 65)
            }
        }
    }
}
