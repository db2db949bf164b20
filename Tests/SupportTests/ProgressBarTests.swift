import XCTest
import Support

final class ProgressBarTests: XCTestCase {
    func testLineShowsBarCountRateAndETA() {
        XCTAssertEqual(ProgressBar.line(label: "train", done: 5, total: 10, elapsed: 2, unit: "step", note: "loss 0.1250", width: 10),
                       "train [#####-----] 5/10 2.5 step/s eta 2.0s loss 0.1250")
    }

    func testSlowItemsShowSecondsPerItemAndLongETAsInMinutes() {
        XCTAssertEqual(ProgressBar.line(label: "denoise", done: 1, total: 4, elapsed: 3.2, unit: "step", width: 4),
                       "denoise [#---] 1/4 3.2s/step eta 9.6s")
        XCTAssertEqual(ProgressBar.line(label: "", done: 1, total: 100, elapsed: 10, width: 4), "[----] 1/100 10.0s/it eta 16m30s")
    }

    func testNoRateBeforeTheFirstItemAndNoETAAtTheEnd() {
        XCTAssertEqual(ProgressBar.line(label: "x", done: 0, total: 3, elapsed: 0, width: 3), "x [---] 0/3")
        XCTAssertEqual(ProgressBar.line(label: "x", done: 3, total: 3, elapsed: 1.5, width: 3), "x [###] 3/3 2.0 it/s")
    }

    func testDurations() {
        XCTAssertEqual(ProgressBar.duration(0.25), "250ms")
        XCTAssertEqual(ProgressBar.duration(59.94), "59.9s")
        XCTAssertEqual(ProgressBar.duration(187), "3m07s")
        XCTAssertEqual(ProgressBar.duration(7500), "2h05m")
        XCTAssertEqual(ProgressBar.duration(.infinity), "?")
    }

    func testSilentBarCountsWithoutDrawing() {
        let bar = ProgressBar(total: 2, label: "t", mode: .silent, isTerminal: true)
        bar.step(note: "a")
        bar.step(note: "b")
        XCTAssertEqual(bar.done, 2)
    }
}
