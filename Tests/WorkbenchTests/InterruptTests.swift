import Foundation
import XCTest
@testable import Lang

/// Ctrl-C (the interrupt flag) during a long primitive is honoured as soon as the primitive returns.
final class InterruptTests: XCTestCase {
    /// An interpreter with `slow_op(x)`, which "is interrupted" while it runs (it sets the flag, as the SIGINT
    /// handler would) and returns x.
    func makeInterpreter(_ out: CapturedOutput) -> Interpreter {
        let i = Interpreter(output: out)
        i.register(Primitive("slow_op", [Parameter("x")], summary: "test: a primitive during which Ctrl-C is pressed") { args in
            Interrupt.request()
            return args["x"]
        })
        return i
    }

    override func tearDown() {
        Interrupt.clear()
    }

    func testInterruptDuringPrimitiveStopsRightAfterIt() throws {
        let out = CapturedOutput()
        let i = makeInterpreter(out)
        try i.run("let kept = 5")
        XCTAssertThrowsError(try i.run("let r = slow_op(1)\nprint(\"after\")", echo: true)) { error in
            XCTAssertEqual((error as? LangError)?.kind, .interrupted)
            XCTAssertTrue("\(error)".contains("interrupted"), "\(error)")
        }
        XCTAssertEqual(out.text, "", "nothing after the interrupted primitive may run")
        XCTAssertFalse(Interrupt.isRequested, "the interrupt is consumed once")
        XCTAssertNil(i.global("r"), "the interrupted statement must not bind")
        try i.run("print(kept + 1)")
        XCTAssertEqual(out.text, "6\n", "the session survives the interrupt")
    }

    func testInterruptAsLastExpressionIsNotLost() throws {
        let out = CapturedOutput()
        let i = makeInterpreter(out)
        XCTAssertThrowsError(try i.run("slow_op(3)", echo: true)) { error in
            XCTAssertEqual((error as? LangError)?.kind, .interrupted)
        }
        XCTAssertEqual(out.text, "", "the value of an interrupted expression is not echoed")
    }
}
