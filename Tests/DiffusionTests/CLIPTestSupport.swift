import NN
import Foundation
import Tensor
import XCTest
@testable import Diffusion

/// Helpers shared by the tokenizer and CLIP text tests (fixtures from Scripts/fixtures/make_diffusion_text_fixtures.py).
enum CLIPFixtures {
    /// The tiny random SDXL text stack (text_encoder, text_encoder_2, tokenizer, tokenizer_2).
    static var tinyFolder: String { DiffusionFixtures.path("tiny_sdxl_text") }
    /// The reference outputs of transformers and diffusers for the tiny stack.
    static func reference() throws -> SafeTensorsFile {
        try SafeTensorsFile(path: DiffusionFixtures.path("clip_text_reference.safetensors"))
    }
    /// The tiny prompts the reference was computed for.
    static func tinyPrompts(_ reference: SafeTensorsFile) throws -> [String] {
        let data = Data((reference.metadata["prompts"] ?? "[]").utf8)
        return try JSONSerialization.jsonObject(with: data) as? [String] ?? []
    }
    /// A fresh temporary folder, removed at the end of the test.
    static func temporaryFolder(_ test: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rorem-clip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
    /// Copies the fixture folder `name` (a subfolder of Fixtures) into a temporary folder and returns the copy.
    static func copy(_ name: String, _ test: XCTestCase) throws -> URL {
        let dst = try temporaryFolder(test).appendingPathComponent(URL(fileURLWithPath: name).lastPathComponent)
        try FileManager.default.copyItem(at: URL(fileURLWithPath: DiffusionFixtures.path(name)), to: dst)
        return dst
    }
}

/// Fails unless `actual` and `expected` have the same shape and |a - e| <= atol + rtol * |e| everywhere.
func assertTensorClose(_ actual: Tensor, _ expected: Tensor, atol: Float = 1e-4, rtol: Float = 1e-3, _ name: String,
                       file: StaticString = #filePath, line: UInt = #line) {
    guard actual.shape == expected.shape else {
        XCTFail("\(name): shape \(actual.shape) != \(expected.shape)", file: file, line: line)
        return
    }
    let a = actual.values, e = expected.values
    var worst = 0, worstExcess: Float = -1
    for i in 0..<a.count {
        let excess = Swift.abs(a[i] - e[i]) - (atol + rtol * Swift.abs(e[i]))
        if !(excess <= 0) && (excess > worstExcess || a[i].isNaN) { worst = i; worstExcess = a[i].isNaN ? .infinity : excess }
    }
    if worstExcess > 0 {
        XCTFail("\(name): element \(worst) is \(a[worst]), expected \(e[worst])", file: file, line: line)
    }
}

/// `body`'s error description, or a failure when it does not throw.
func errorText(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> String {
    do {
        try body()
        XCTFail("no error was thrown", file: file, line: line)
        return ""
    } catch {
        return "\(error)"
    }
}
