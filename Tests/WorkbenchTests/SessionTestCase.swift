import Foundation
import Lang
import XCTest
@testable import Workbench

/// Base for script-level tests of primitives: a fresh temporary folder per test, sessions whose relative paths
/// resolve in it, and typed access to the globals a script defined.
class SessionTestCase: XCTestCase {
    /// The test's temporary folder, removed after the test.
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "rorem-\(type(of: self))-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// A session whose relative paths resolve in `dir`, and the output it prints to.
    func session() -> (Session, CapturedOutput) {
        let out = CapturedOutput()
        return (Session(output: out, baseDirectory: dir), out)
    }

    /// The domain object bound to global `name`, as `T`.
    func object<T>(_ s: Session, _ name: String, as type: T.Type) throws -> T {
        guard case .object(let o as T)? = s.interpreter.global(name) else {
            throw PrimitiveError("global \(name) is not a \(T.self)")
        }
        return o
    }
}
