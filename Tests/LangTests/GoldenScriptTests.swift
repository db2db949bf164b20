import XCTest
@testable import Lang

/// Runs every `scripts/*.rorem` file. A file is split into independent cases at lines `# ---`; each case
/// runs in a fresh interpreter. `# expect: text` lines give the expected stdout lines in order;
/// `# expect error: text` says the run must fail with a report containing the text, and
/// `# expect status: N` checks the exit status of that failure.
final class GoldenScriptTests: XCTestCase {
    struct Case {
        var file: String
        var line: Int
        var source: String
        var expected: [String] = []
        var errors: [String] = []
        var status: Int32?
    }

    static var scriptsFolder: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("scripts")
    }

    static func loadCases() throws -> [Case] {
        let files = try FileManager.default.contentsOfDirectory(atPath: scriptsFolder.path).filter { $0.hasSuffix(".rorem") }.sorted()
        var cases: [Case] = []
        for file in files {
            let text = try String(contentsOf: scriptsFolder.appendingPathComponent(file), encoding: .utf8)
            var current = Case(file: file, line: 1, source: "")
            for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed == "# ---" {
                    cases.append(current)
                    current = Case(file: file, line: i + 2, source: "")
                    continue
                }
                current.source += line + "\n"
                if let r = line.range(of: "# expect error: ") { current.errors.append(String(line[r.upperBound...])) }
                else if let r = line.range(of: "# expect status: ") { current.status = Int32(line[r.upperBound...].trimmingCharacters(in: .whitespaces)) }
                else if let r = line.range(of: "# expect: ") { current.expected.append(String(line[r.upperBound...])) }
            }
            cases.append(current)
        }
        return cases.filter { !$0.source.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
    }

    func testGoldenScripts() throws {
        let cases = try Self.loadCases()
        XCTAssertGreaterThan(cases.count, 150, "expected the full golden suite")
        var failures = 0
        for c in cases {
            let out = CapturedOutput()
            let interpreter = Interpreter(output: out)
            interpreter.stepLimit = 2_000_000
            let (status, report) = interpreter.runReporting(c.source)
            let lines = out.text.isEmpty ? [] : out.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).dropLast(out.text.hasSuffix("\n") ? 1 : 0)
            let place = "\(c.file):\(c.line)"
            if Array(lines) != c.expected {
                failures += 1
                XCTFail("\(place): output\n\(out.text)\nexpected\n\(c.expected.joined(separator: "\n"))\n\(report ?? "")")
            }
            if c.errors.isEmpty {
                if let r = report { failures += 1; XCTFail("\(place): unexpected error\n\(r)") }
            } else {
                guard let r = report else { failures += 1; XCTFail("\(place): expected an error"); continue }
                for e in c.errors where !r.contains(e) { failures += 1; XCTFail("\(place): error report\n\(r)\ndoes not contain '\(e)'") }
                if let s = c.status, s != status { failures += 1; XCTFail("\(place): status \(status), expected \(s)") }
            }
        }
        print("golden scripts: \(cases.count) cases, \(failures) failures")
    }
}
