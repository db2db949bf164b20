// libFuzzer entry point for the language core: every input must end in a value or a LangError.
// Built by run.sh together with Sources/Lang; not part of the SwiftPM package.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let source = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let interpreter = Interpreter(output: CapturedOutput())
    interpreter.stepLimit = 5_000
    interpreter.maxCallDepth = 200
    _ = interpreter.runReporting(source)
    return 0
}
