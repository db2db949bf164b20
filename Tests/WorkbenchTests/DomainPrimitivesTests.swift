import Foundation
import Imaging
import Lang
import XCTest
@testable import Workbench

final class DomainPrimitivesTests: XCTestCase {
    private func session() -> (Session, CapturedOutput) {
        let out = CapturedOutput()
        return (Session(output: out, baseDirectory: NSTemporaryDirectory()), out)
    }

    private func value(_ s: Session, _ name: String) throws -> Value {
        try XCTUnwrap(s.interpreter.global(name))
    }

    func testMasksAndGeometry() throws {
        let (s, out) = session()
        try s.interpreter.run("""
        let img = new_image(40, 30, color: [0, 0.5, 1])
        let m = mask_box(img, 10, 5, 8, 6)
        let d = dilate(m, 2)
        let e = erode(m, 1)
        print(m.count, d.count > m.count, e.count, m.bbox)
        print(crop(img, 2, 3, 10, 7), crop(m, 10, 5, 8, 6).area, resize(img, 20, 15), resize(m, 80, 60).count)
        print(mask_ellipse(img, 20, 15, 5, 5).count > 70, grid([img, m], gap: 2))
        """)
        XCTAssertEqual(out.text, """
        48 true 24 {x: 10, y: 5, width: 8, height: 6}
        <image 10x7 rgb> 1 <image 20x15 rgb> 192
        true <image 82x30 rgb>

        """)
    }

    func testRemoveChangesOnlyMaskedPixels() throws {
        let (s, _) = session()
        try s.interpreter.run("""
        let img = new_image(32, 24, color: 0.25)
        let m = mask_ellipse(img, 16, 12, 5, 4)
        let r1 = remove(img, m)
        let r2 = remove(img, m, with: remover("telea", radius: 2))
        """)
        guard case .object(let a as ImageValue) = try value(s, "img"), case .object(let mv as MaskValue) = try value(s, "m"),
              case .object(let b as ImageValue) = try value(s, "r2") else { return XCTFail("wrong types") }
        for p in 0..<(32 * 24) where !mv.mask.isMasked(p) {
            XCTAssertEqual(a.image.pixels[p * 3], b.image.pixels[p * 3])
        }
        // A uniform image fills with (nearly) the same gray.
        for p in 0..<(32 * 24) where mv.mask.isMasked(p) {
            XCTAssertEqual(b.image.pixels[p * 3], 0.25, accuracy: 0.01)
        }
    }

    func testSignatureErrorsQuoteTheSignature() {
        let (s, _) = session()
        let cases: [(String, String)] = [
            ("remove(new_image(4, 4), new_image(4, 4))", "remove() argument 'mask' must be mask, got image; usage: remove(image: image, mask: mask, with: remover = nil)"),
            ("dilate(mask_box(new_image(4, 4), 0, 0, 1, 1), radiu: 2)", "dilate() has no parameter 'radiu' (did you mean 'radius'?)"),
            ("remover(\"telea\", radios: 2)", "remover(): telea: unknown option 'radios'; valid options: radius"),
            ("remover(\"nope\")", "unknown remover 'nope'; valid removers: patchmatch, telea"),
            ("resize(new_image(4, 4), 2, 2, filter: \"cubic\")", "resize(): unknown filter \"cubic\"; valid filters: auto, nearest"),
            ("grid([new_image(2, 2), 3])", "grid(): element 1 is number, not an image or mask"),
            ("new_image(4, 4, color: [1, 2])", "new_image(): color must be a number or [r, g, b], got 2 values"),
        ]
        for (source, message) in cases {
            let (status, report) = s.interpreter.runReporting(source)
            XCTAssertEqual(status, 70, source)
            XCTAssertTrue(report?.contains(message) ?? false, "\(source):\n\(report ?? "no error")")
        }
    }

    func testImagesCompareAndFields() throws {
        let (s, out) = session()
        try s.interpreter.run("""
        let a = new_image(3, 2)
        print(a == new_image(3, 2), a == new_image(3, 2, color: 1), a.channels, type(a), remover().name)
        let q = quality(a, a)
        print(q.l1, q.ssim)
        """)
        XCTAssertEqual(out.text, "true false 3 image patchmatch\n0 1\n")
    }

    func testEveryPrimitiveHasSummaryAndExample() {
        let (s, _) = session()
        let names = s.interpreter.primitives.map { $0.name }
        for required in ["print", "len", "help", "range", "str", "num", "load", "load_mask", "save", "show", "crop", "resize",
                         "dilate", "erode", "mask_box", "mask_ellipse", "grid", "remover", "remove"] {
            XCTAssertTrue(names.contains(required), required)
        }
        for p in s.interpreter.primitives {
            XCTAssertFalse(p.summary.isEmpty, p.name)
            XCTAssertFalse(p.example.isEmpty, p.name)
            XCTAssertTrue(p.helpText.hasPrefix(p.signature + "\n  " + p.summary), p.name)
        }
    }
}
