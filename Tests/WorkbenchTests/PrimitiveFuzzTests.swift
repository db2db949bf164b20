import Foundation
import Lang
import XCTest
@testable import Workbench

/// Calls the domain primitives with awkward arguments (negative, zero, huge, fractional, wrong types):
/// every call must end in a value or an error, never a crash.
final class PrimitiveFuzzTests: XCTestCase {
    func testAwkwardArgumentsNeverCrash() throws {
        let session = Session(output: CapturedOutput(), baseDirectory: NSTemporaryDirectory())
        try session.interpreter.run("let img = new_image(12, 9, color: [0.1, 0.5, 0.9])\nlet m = mask_box(img, 3, 2, 4, 4)\nlet gray = crop(img, 0, 0, 5, 5)")
        let numbers = ["-1e12", "-3", "-1", "0", "1", "2", "5", "17", "300", "1e12", "2.5", "\"s\"", "nil", "[1, 2]", "m", "img"]
        let calls = ["crop(img, A, B, C, D)", "crop(m, A, B, C, D)", "resize(img, A, B)", "resize(m, A, B, filter: \"nearest\")",
                     "dilate(m, A)", "erode(m, A)", "mask_box(img, A, B, C, D)", "mask_ellipse(img, A, B, C, D)",
                     "grid([img, m, gray], columns: A, gap: B)", "new_image(A, B, color: C)", "remover(\"patchmatch\", patch: A, iterations: B)",
                     "remover(\"telea\", radius: A)", "overlay(img, m, opacity: A)", "save(img, A)", "load(A)"]
        var g: UInt64 = 99
        func pick() -> String {
            g = g &* 6364136223846793005 &+ 1442695040888963407
            return numbers[Int((g >> 33) % UInt64(numbers.count))]
        }
        var errors = 0
        for call in calls {
            for _ in 0..<40 {
                var source = call
                for slot in ["A", "B", "C", "D"] { source = source.replacingOccurrences(of: slot, with: pick()) }
                if session.interpreter.runReporting(source).status != 0 { errors += 1 }
            }
        }
        XCTAssertGreaterThan(errors, 100, "most awkward calls should be errors")
    }

    func testRemoveWithTinyAndFullMasks() throws {
        let session = Session(output: CapturedOutput())
        try session.interpreter.run("let img = new_image(6, 5)")
        XCTAssertEqual(session.interpreter.runReporting("remove(img, mask_box(img, 0, 0, 6, 5))").status, 70)
        XCTAssertEqual(session.interpreter.runReporting("remove(img, mask_box(img, 0, 0, 0, 0)) == img").status, 0)
        XCTAssertEqual(session.interpreter.runReporting("remove(img, mask_box(new_image(3, 3), 0, 0, 1, 1))").status, 70)
    }
}
