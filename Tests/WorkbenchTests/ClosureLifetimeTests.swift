import Foundation
import XCTest
@testable import Lang

/// Call frames that hold their own closures (a local `fn`, a lambda in a local) must be freed when the call
/// ends; closures that escape must keep their frame alive and keep working.
final class ClosureLifetimeTests: XCTestCase {
    /// Weak references to the environments that probed closures captured.
    final class FrameProbe {
        var frames: [Weak] = []
        struct Weak { weak var env: Environment? }
        var alive: Int { frames.filter { $0.env != nil }.count }
    }

    /// An interpreter with `probe(f)`, which remembers (weakly) the frame `f` closes over.
    func makeInterpreter(_ probe: FrameProbe, output: CapturedOutput = CapturedOutput()) -> Interpreter {
        let interpreter = Interpreter(output: output)
        interpreter.register(Primitive("probe", [Parameter("f")], summary: "test: remember f's frame weakly") { args in
            guard case .function(let c) = args["f"], let env = c.environment else {
                throw PrimitiveError("probe(): needs a closure over a local scope")
            }
            probe.frames.append(FrameProbe.Weak(env: env))
            return .nil
        })
        return interpreter
    }

    func testLocalNamedFunctionFrameIsFreed() throws {
        let probe = FrameProbe()
        let i = makeInterpreter(probe)
        try i.run("""
        fn outer(n) {
          fn inner(k) { return k + n }
          probe(inner)
          return inner(1)
        }
        let total = 0
        for k in 1...5 { total = total + outer(k) }
        """)
        XCTAssertEqual(probe.frames.count, 5)
        XCTAssertEqual(probe.alive, 0, "frames of outer() leaked through their local function")
        XCTAssertEqual(i.global("total")?.number, 20) // (1+1) + (2+1) + ... + (5+1)
    }

    func testLambdaInLocalAndLoopBodyFramesAreFreed() throws {
        let probe = FrameProbe()
        let i = makeInterpreter(probe)
        try i.run("""
        fn twice(x) {
          let g = fn(v) => v * 2
          probe(g)
          return g(x)
        }
        fn loopy() {
          let s = 0
          for k in 0..<3 {
            let add = fn(v) { return v + k }
            probe(add)
            s = add(s)
          }
          return s
        }
        let a = twice(21)
        let b = loopy()
        """)
        XCTAssertEqual(i.global("a")?.number, 42)
        XCTAssertEqual(i.global("b")?.number, 3) // 0 + 0 + 1 + 2
        XCTAssertEqual(probe.frames.count, 4)
        XCTAssertEqual(probe.alive, 0, "frames that stored their own lambda leaked")
    }

    func testClosuresInsideLocalListsAndRecordsDoNotLeak() throws {
        let probe = FrameProbe()
        let out = CapturedOutput()
        let i = makeInterpreter(probe, output: out)
        try i.run("""
        fn apply(x) {
          let ops = {double: fn(v) => v * 2, more: [fn(v) => v + x]}
          probe(ops.double)
          return ops.double(ops.more[0](3))
        }
        fn makers(base) {
          let fs = [fn() => base + 1, fn() => base + 2]
          probe(fs[0])
          return fs
        }
        print(apply(1), apply(10))
        let kept = makers(40)
        print(kept[1](), kept == kept)
        """)
        XCTAssertEqual(out.text, "8 26\n42 true\n")
        XCTAssertEqual(probe.frames.count, 3)
        XCTAssertEqual(probe.alive, 1, "only the frame whose closures escaped in a list may stay")
        try i.run("kept = nil")
        XCTAssertEqual(probe.alive, 0)
    }

    func testRecursiveLocalFunctionStillWorks() throws {
        let i = Interpreter(output: CapturedOutput())
        try i.run("""
        fn fact_of(n) {
          fn fact(k) { if k <= 1 { return 1 } return k * fact(k - 1) }
          return fact(n)
        }
        let f10 = fact_of(10)
        """)
        XCTAssertEqual(i.global("f10")?.number, 3_628_800)
    }

    func testEscapingClosuresKeepTheirFrameUntilDropped() throws {
        let probe = FrameProbe()
        let out = CapturedOutput()
        let i = makeInterpreter(probe, output: out)
        try i.run("""
        fn counter() {
          let n = 0
          fn step() { n = n + 1; return n }
          probe(step)
          return step
        }
        fn adder(k) {
          let f = fn(x) => x + k
          return f
        }
        let c = counter()
        c(); c()
        print(c())
        let add5 = adder(5)
        print(add5(10))
        print(c == c, add5 == adder(5))
        """)
        XCTAssertEqual(out.text, "3\n15\ntrue false\n")
        XCTAssertEqual(probe.alive, 1, "a returned closure must keep its frame alive")
        try i.run("c = nil")
        XCTAssertEqual(probe.alive, 0, "the frame must go once the last closure over it is gone")
    }

    func testHeldAndStrongCopiesCompareEqual() throws {
        let out = CapturedOutput()
        let i = Interpreter(output: out)
        try i.run("""
        fn pair() {
          fn h() { return 1 }
          let same = h == h
          return [h, h, same]
        }
        let p = pair()
        print(p[0] == p[1], p[2])
        """)
        XCTAssertEqual(out.text, "true true\n")
    }

    /// Resident memory of this process in bytes (Linux /proc; nil elsewhere).
    func residentBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    func testManyCallsDoNotGrowMemory() throws {
        let i = Interpreter(output: CapturedOutput())
        let script = """
        fn work(x) {
          fn local(y) { return y + x }
          let lam = fn(z) => local(z) * 2
          return lam(1)
        }
        let s = 0
        for k in 0..<N { s = s + work(k) }
        """
        try i.run(script.replacingOccurrences(of: "N", with: "20000")) // warm up allocator pools
        guard let before = residentBytes() else { throw XCTSkip("no /proc/self/statm here") }
        let calls = 200_000
        try i.run(script.replacingOccurrences(of: "N", with: "\(calls)"))
        guard let after = residentBytes() else { throw XCTSkip("no /proc/self/statm here") }
        XCTAssertEqual(i.global("s")?.number, Double(calls * (calls + 1))) // sum of 2 * (1 + k) for k < calls
        // Leaking frames cost about 370 bytes a call (74 MB here before the fix); allow 16 MB of allocator noise.
        XCTAssertLessThan(after - before, 16 << 20, "memory grew by \((after - before) >> 20) MiB over \(calls) calls")
    }
}
