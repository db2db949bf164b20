import Foundation
import Imaging
import XCTest
@testable import Curation

/// Killing a writer with SIGKILL mid-way loses at most the item in flight, leaves the database intact, and the work
/// resumes where it stopped. The writer is this test bundle run again as a child process with a filter that selects
/// only ``testWorkerForCrashTest``, which does real work only when the parent sets `ROREM_CRASH_WORKER_STORE`.
final class CrashTests: XCTestCase {
    static let steps = 100
    static let killAfter = 15

    /// The workload: for each step, record a new candidate (round 2) for pair `i` and decide review item `i`,
    /// each committed on its own; report `step i` on stdout after both. Resumes from what the store holds.
    static func workload(storePath: String, report: (Int) -> Void) throws {
        let store = try Store(path: storePath)
        let ds = try store.dataset(named: "crash")
        let round1 = try store.candidates(round: 1).map(\.id)
        let session = try store.openReview(name: "crash-review", annotator: "ann", candidates: round1)
        for i in 0..<steps {
            guard let pairID = ds[i].storeID else { throw CurationError.notFound(what: "pair \(i)") }
            // A result that differs per step, so each candidate writes its own image file.
            var result = try ds[i].loadSource()
            result.pixels[0] = Float(i % 256) / 255
            result.pixels[1] = Float(i / 256) / 255
            try store.addCandidate(pair: pairID, model: "worker", round: 2, result: result)
            if session.position == i { try session.decide(i % 3 == 0 ? .reject : .accept) }
            report(i)
        }
    }

    func testWorkerForCrashTest() throws {
        guard let path = ProcessInfo.processInfo.environment["ROREM_CRASH_WORKER_STORE"] else { return }
        try CrashTests.workload(storePath: path) { i in
            FileHandle.standardOutput.write(Data("step \(i)\n".utf8))
        }
    }

    func testSIGKILLMidWayLosesAtMostTheItemInFlightAndResumes() throws {
        let executable = CommandLine.arguments[0]
        guard FileManager.default.isExecutableFile(atPath: executable), executable.hasSuffix(".xctest") else {
            throw XCTSkip("the test bundle '\(executable)' cannot be run as a child process here")
        }
        // The parent prepares a dataset and the round-1 candidates to review.
        let folder = try temporaryFolder(self, "crash")
        let store = try Store(path: folder)
        var options = SynthOptions(count: CrashTests.steps, width: 16, height: 16, seed: 9)
        options.name = "crash"
        options.texturedObjects = false
        try store.saveDataset(try Synth.make(options))
        try store.generate(dataset: "crash", model: "identity", round: 1) { s, _ in s }

        let child = Process()
        child.executableURL = URL(fileURLWithPath: executable)
        child.arguments = ["CurationTests.CrashTests/testWorkerForCrashTest"]
        var environment = ProcessInfo.processInfo.environment
        environment["ROREM_CRASH_WORKER_STORE"] = folder
        child.environment = environment
        let out = Pipe(), err = Pipe()
        child.standardOutput = out
        child.standardError = err
        try child.run()
        // Read the child's progress until it reports step `killAfter`, then kill it while it keeps writing.
        var buffer = "", lastReported = -1
        while lastReported < CrashTests.killAfter {
            let data = out.fileHandleForReading.availableData
            if data.isEmpty { break }
            buffer += String(decoding: data, as: UTF8.self)
            for line in buffer.split(separator: "\n") where line.hasPrefix("step ") {
                lastReported = max(lastReported, Int(line.dropFirst(5)) ?? -1)
            }
        }
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        XCTAssertEqual(child.terminationReason, .uncaughtSignal, "the worker was killed, not finished")
        XCTAssertGreaterThanOrEqual(lastReported, CrashTests.killAfter,
                                    "worker stopped early: \(String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).suffix(2000))")

        // After the kill: the database is intact and holds everything reported, at most one item more.
        let reopened = try Store(path: folder)
        XCTAssertEqual(try reopened.integrityCheck(), "ok")
        let made = try reopened.candidates(round: 2)
        let session = try XCTUnwrap(reopened.resumeReview(name: "crash-review"))
        XCTAssertGreaterThan(made.count, lastReported, "every reported candidate is there")
        XCTAssertLessThan(made.count, CrashTests.steps, "killed mid-way")
        XCTAssertTrue(session.position == made.count || session.position == made.count - 1,
                      "decisions \(session.position) trail candidates \(made.count) by at most the item in flight")
        XCTAssertEqual(try reopened.labels(by: .person("ann")).count, session.progress.accepted + session.progress.rejected,
                       "a decision and its label commit together")
        for c in made { XCTAssertTrue(reopened.blobs.verify(try XCTUnwrap(c.result.hash)), "result file of candidate \(c.id) is whole") }

        print("crash test: killed after step \(lastReported) was reported; the store held \(made.count) candidates and \(session.position) decisions")
        // Resume in this process and finish: nothing is done twice.
        try CrashTests.workload(storePath: folder) { _ in }
        let final = try Store(path: folder)
        XCTAssertEqual(try final.candidates(round: 2).count, CrashTests.steps)
        XCTAssertEqual(Set(try final.candidates(round: 2).map(\.pairID)).count, CrashTests.steps)
        let done = try XCTUnwrap(final.resumeReview(name: "crash-review"))
        XCTAssertTrue(done.isFinished)
        XCTAssertEqual(done.progress.rejected, (CrashTests.steps + 2) / 3)
        XCTAssertEqual(try final.integrityCheck(), "ok")
    }
}
