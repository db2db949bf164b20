import XCTest
@testable import Lang

/// A domain object for tests: a box with a size.
private final class Box: LangObject {
    let width: Int, height: Int
    init(_ w: Int, _ h: Int) { width = w; height = h }
    var typeName: String { "box" }
    var summary: String { "<box \(width)x\(height)>" }
    func field(_ name: String) -> Value? {
        switch name {
        case "width": return .number(Double(width))
        case "height": return .number(Double(height))
        default: return nil
        }
    }
    var fieldNames: [String] { ["width", "height"] }
    func iterate() -> [Value]? { [.number(Double(width)), .number(Double(height))] }
}

final class InterpreterTests: XCTestCase {
    private func session() -> (Interpreter, CapturedOutput) {
        let out = CapturedOutput()
        let interpreter = Interpreter(output: out)
        interpreter.register(Primitive("box", [Parameter("width", .integer), Parameter("height", .integer, default: .number(1))],
                                       summary: "A test box.", example: "box(2, 3)") { args in
            .object(Box(try args.int("width"), try args.int("height")))
        })
        interpreter.register(Primitive("area", [Parameter("b", .object("box"))], summary: "Area of a box.") { args in
            let b = try args.object("b", as: Box.self)
            return .number(Double(b.width * b.height))
        })
        return (interpreter, out)
    }

    func testObjectsPrintFieldsIterateAndTypeCheck() throws {
        let (i, out) = session()
        try i.run("let b = box(2, 3)\nprint(b, [b], b.width, len(b), area(b), b.area())\nfor v in b { print(v) }")
        XCTAssertEqual(out.text, "<box 2x3> [<box 2x3>] 2 2 6 6\n2\n3\n")
        XCTAssertThrowsError(try i.run("area(5)")) { e in
            XCTAssertEqual((e as? LangError)?.message, "area() argument 'b' must be box, got number; usage: area(b: box)")
        }
        XCTAssertThrowsError(try i.run("b.widht")) { e in
            XCTAssertEqual((e as? LangError)?.message, "box has no field 'widht' (did you mean 'width'?)")
        }
    }

    func testSessionKeepsGlobalsAcrossRunsAndAfterErrors() throws {
        let (i, out) = session()
        try i.run("let n = 41")
        XCTAssertThrowsError(try i.run("n = n + undefined"))
        try i.run("n = n + 1\nprint(n)")
        XCTAssertEqual(out.text, "42\n")
        XCTAssertEqual(i.userBindings.map { $0.name }, ["n"])
        i.reset()
        XCTAssertNil(i.global("n"))
        XCTAssertNotNil(i.global("print"))
    }

    func testEchoShowsNonNilExpressionValues() throws {
        let (i, out) = session()
        try i.run("1 + 1\nnil\nlet x = 3\nx\nprint(\"p\")\n\"s\"", echo: true)
        XCTAssertEqual(out.text, "2\n3\np\ns\n")
    }

    func testInterruptStopsLoopAndSessionContinues() throws {
        let (i, out) = session()
        Interrupt.request()
        XCTAssertThrowsError(try i.run("let k = 0\nwhile true { k = k + 1 }")) { e in
            XCTAssertEqual((e as? LangError)?.kind, .interrupted)
            XCTAssertEqual((e as? LangError)?.exitStatus, 130)
        }
        XCTAssertFalse(Interrupt.isRequested)
        try i.run("print(k)")
        XCTAssertEqual(out.text, "0\n")
    }

    func testStepLimitStopsEndlessLoop() {
        let (i, _) = session()
        i.stepLimit = 1000
        XCTAssertThrowsError(try i.run("while true { }")) { e in
            XCTAssertTrue((e as? LangError)?.message.contains("step limit") ?? false)
        }
    }

    func testDeepRecursionIsAnErrorWithTrace() {
        let (i, _) = session()
        let (status, report) = i.runReporting("fn f(n) => f(n + 1)\nf(0)")
        XCTAssertEqual(status, 70)
        XCTAssertTrue(report?.contains("too many nested calls") ?? false)
        XCTAssertTrue(report?.contains("in f() called at line 1") ?? false)
        XCTAssertTrue(report?.contains("more calls") ?? false)
    }

    func testRecursionWellBelowLimitWorks() throws {
        let (i, out) = session()
        try i.run("fn depth(n) { if n == 0 { return 0 } return 1 + depth(n - 1) }\nprint(depth(1400))")
        XCTAssertEqual(out.text, "1400\n")
    }

    func testDeeplyNestedListPrintsElided() throws {
        let (i, out) = session()
        try i.run("let x = []\nfor k in 0..<300 { x = [x] }\nlet s = str(x)\nprint(len(s) < 1000)")
        XCTAssertEqual(out.text, "true\n")
    }

    func testCallFromSwiftRunsUserFunction() throws {
        let (i, _) = session()
        try i.run("fn twice(x) => x * 2")
        let f = try XCTUnwrap(i.global("twice"))
        XCTAssertEqual(try i.call(f, [.number(21)]), .number(42))
    }

    func testExitStatuses() {
        let (i, _) = session()
        XCTAssertEqual(i.runReporting("let = 1").status, 65)
        XCTAssertEqual(i.runReporting("1 / 0").status, 70)
        i.register(Primitive("fail_io", [], summary: "Fails with an I/O error.") { _ in throw PrimitiveError.io("cannot read 'x.png'") })
        let (status, report) = i.runReporting("fail_io()")
        XCTAssertEqual(status, 74)
        XCTAssertEqual(report?.split(separator: "\n").first, "error: line 1, col 8: cannot read 'x.png'")
    }

    func testNumberFormatting() {
        XCTAssertEqual(Value.format(3), "3")
        XCTAssertEqual(Value.format(-0.0), "0")
        XCTAssertEqual(Value.format(0.1), "0.1")
        XCTAssertEqual(Value.format(2.5e-7), "2.5e-07")
        XCTAssertEqual(Value.format(.infinity), "inf")
        XCTAssertEqual(Value.format(1e300), "1e+300")
    }
}
