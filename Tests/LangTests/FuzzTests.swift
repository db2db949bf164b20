import XCTest
@testable import Lang

/// Deterministic random inputs that must never crash the scanner, parser or interpreter.
final class FuzzTests: XCTestCase {
    /// A small linear congruential generator so every run sees the same inputs.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
    }

    static var testsFolder: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().resolvingSymlinksInPath()
    }

    /// Seed scripts: the fuzz corpus plus the golden scripts.
    static func seeds() -> [String] {
        let folders = [testsFolder.appendingPathComponent("../../Scripts/fuzz/corpus").standardized, testsFolder.appendingPathComponent("scripts")]
        var out: [String] = []
        for folder in folders {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            for name in names.sorted() where name.hasSuffix(".rorem") {
                if let text = try? String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8) {
                    out += text.components(separatedBy: "\n# ---\n")
                }
            }
        }
        return out
    }

    static let fragments = ["(", ")", "[", "]", "{", "}", ",", ".", ":", ";", "\n", "+", "-", "*", "/", "%", "=", "==", "!=",
                            "<", "<=", ">", ">=", "=>", "|>", "...", "..<", "\"", "\"{", "}\"", "\\", "#", " ", "let ", "fn ",
                            "if ", "else ", "for ", "in ", "while ", "break", "continue", "return ", "true", "false", "nil",
                            "and ", "or ", "not ", "x", "f", "print", "len", "0", "1", "-1", "2.5", "1e308", "1e-3", "é", "\t"]

    private func runOne(_ source: String) {
        let interpreter = Interpreter(output: CapturedOutput())
        interpreter.stepLimit = 5_000
        interpreter.maxCallDepth = 200
        _ = interpreter.runReporting(source)
        _ = interpreter.runReporting(source, echo: true)
    }

    /// Replays every file of the corpus (the libFuzzer corpus included) as it is.
    func testCorpusReplays() {
        let folder = Self.testsFolder.appendingPathComponent("../../Scripts/fuzz/corpus").standardized
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        XCTAssertGreaterThan(names.count, 5, "fuzz corpus not found at \(folder.path)")
        for name in names.sorted() {
            guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path) else { continue }
            runOne(String(decoding: data, as: UTF8.self))
        }
    }

    func testRandomTokenSoup() {
        var g = Generator(state: 42)
        for _ in 0..<1500 {
            var s = ""
            for _ in 0..<(1 + g.below(30)) { s += Self.fragments[g.below(Self.fragments.count)] }
            runOne(s)
        }
    }

    func testRandomBytes() {
        var g = Generator(state: 7)
        for _ in 0..<500 {
            let bytes = (0..<g.below(60)).map { _ in UInt8(g.below(128)) }
            runOne(String(decoding: bytes, as: UTF8.self))
        }
    }

    func testMutatedSeedScripts() {
        let seeds = Self.seeds()
        XCTAssertGreaterThan(seeds.count, 20, "fuzz seeds not found")
        var g = Generator(state: 2025)
        for _ in 0..<2000 {
            var chars = Array(seeds[g.below(seeds.count)].unicodeScalars)
            for _ in 0..<(1 + g.below(4)) {
                guard !chars.isEmpty else { break }
                let at = g.below(chars.count)
                switch g.below(4) {
                case 0: chars.removeSubrange(at..<min(chars.count, at + 1 + g.below(8)))
                case 1: chars.insert(contentsOf: Self.fragments[g.below(Self.fragments.count)].unicodeScalars, at: at)
                case 2:
                    let end = min(chars.count, at + 1 + g.below(20))
                    chars.insert(contentsOf: chars[at..<end], at: g.below(chars.count))
                default: chars.swapAt(at, g.below(chars.count))
                }
            }
            var s = String.UnicodeScalarView()
            s.append(contentsOf: chars)
            runOne(String(s))
        }
    }
}
