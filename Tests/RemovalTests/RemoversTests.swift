@testable import Removal
import XCTest

final class RemoversTests: XCTestCase {
    func testMakesEachRemoverWithOptions() throws {
        XCTAssertEqual(Removers.names.first, Removers.defaultName)
        let telea = try XCTUnwrap(try Removers.make("Telea", options: ["radius": 5]) as? TeleaRemover)
        XCTAssertEqual(telea.radius, 5)
        let pm = try XCTUnwrap(try Removers.make("patchmatch", options: ["patch": 5, "iterations": 2, "seed": 9, "working_size": 0])
            as? PatchMatchRemover)
        XCTAssertEqual(pm.patchSize, 5); XCTAssertEqual(pm.iterations, 2); XCTAssertEqual(pm.seed, 9)
        XCTAssertNil(pm.workingSize)
        let plain = try XCTUnwrap(try Removers.make("patchmatch") as? PatchMatchRemover)
        XCTAssertEqual(plain.patchSize, 7); XCTAssertEqual(plain.workingSize, 1024); XCTAssertEqual(plain.smoothing, 0)
        let smooth = try XCTUnwrap(try Removers.make("patchmatch", options: ["smoothing": 0.5]) as? PatchMatchRemover)
        XCTAssertEqual(smooth.smoothing, 0.5)
    }

    func testUnknownNamesAndOptionsListTheValidOnes() {
        XCTAssertThrowsError(try Removers.make("lama")) { error in
            XCTAssertEqual("\(error)", "unknown remover 'lama'; valid removers: patchmatch, telea")
        }
        XCTAssertThrowsError(try Removers.make("telea", options: ["patch": 3])) { error in
            XCTAssertEqual("\(error)", "telea: unknown option 'patch'; valid options: radius")
        }
        XCTAssertThrowsError(try Removers.make("patchmatch", options: ["patch": 4])) { error in
            XCTAssertTrue("\(error)".contains("'patch' must be odd"), "\(error)")
        }
        XCTAssertThrowsError(try Removers.make("telea", options: ["radius": 2.5]))
        XCTAssertThrowsError(try Removers.make("patchmatch", options: ["working_size": 8]))
        XCTAssertThrowsError(try Removers.make("patchmatch", options: ["smoothing": 1.5])) { error in
            XCTAssertTrue("\(error)".contains("'smoothing' must be between 0 and 1"), "\(error)")
        }
    }

    func testInitialisersClampToValidSettings() {
        XCTAssertEqual(PatchMatchRemover(patchSize: 4).patchSize, 5)
        XCTAssertEqual(PatchMatchRemover(patchSize: 1).patchSize, 3)
        XCTAssertEqual(PatchMatchRemover(iterations: 0).iterations, 1)
        XCTAssertEqual(TeleaRemover(radius: 0).radius, 1)
    }
}
