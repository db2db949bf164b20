import Foundation
import XCTest
import Tensor
@testable import NN

final class SafeTensorsTests: XCTestCase {
    /// Builds a file from a raw header and data bytes.
    private func file(header: String, data: [UInt8], headerLength: UInt64? = nil) -> [UInt8] {
        let h = Array(header.utf8)
        var out: [UInt8] = []
        withUnsafeBytes(of: (headerLength ?? UInt64(h.count)).littleEndian) { out.append(contentsOf: $0) }
        return out + h + data
    }

    private func assertError(_ bytes: [UInt8], contains text: String, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensorsFile(bytes: bytes), line: line) { error in
            XCTAssertTrue("\(error)".contains(text), "error '\(error)' should mention '\(text)'", line: line)
        }
    }

    func testRoundTripF32AndF16WithMetadata() throws {
        let a = try Tensor([1, -2.5, 3.25, 0, 65504, 1e-3], shape: [2, 3]), b = try Tensor([7], shape: [1])
        let path = NSTemporaryDirectory() + "rorem-st-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafeTensors.write(["w": a, "b": b], metadata: ["config": "{\"widths\":[32]}"], to: path)
        let f = try SafeTensorsFile(path: path)
        XCTAssertEqual(f.metadata["config"], "{\"widths\":[32]}")
        XCTAssertEqual(try f.tensor("w").values, a.values)
        XCTAssertEqual(try f.tensor("w").shape, [2, 3])
        XCTAssertEqual(f.names, ["b", "w"])
        let half = try SafeTensorsFile(bytes: SafeTensors.encode(["w": a], dtype: .f16))
        XCTAssertEqual(half.entries["w"]?.dtype, .f16)
        let back = try half.tensor("w").values
        for (x, y) in zip(back, a.values) { XCTAssertEqual(x, y, accuracy: abs(y) * 1e-3 + 1e-6) }
    }

    func testReadsBF16AndIntegers() throws {
        // bf16 1.5 = 0x3FC0; -2 = 0xC000. i32 -7; u8 200.
        let header = #"{"h":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},"i":{"dtype":"I32","shape":[1],"data_offsets":[4,8]},"u":{"dtype":"U8","shape":[1],"data_offsets":[8,9]}}"#
        let data: [UInt8] = [0xC0, 0x3F, 0x00, 0xC0] + [0xF9, 0xFF, 0xFF, 0xFF] + [200]
        let f = try SafeTensorsFile(bytes: file(header: header, data: data))
        XCTAssertEqual(try f.tensor("h").values, [1.5, -2])
        XCTAssertEqual(try f.tensor("i").values, [-7])
        XCTAssertEqual(try f.tensor("u").values, [200])
    }

    func testMalformedFilesAreErrorsNamingTheProblem() {
        let ok = #"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        XCTAssertNoThrow(try SafeTensorsFile(bytes: file(header: ok, data: [UInt8](repeating: 0, count: 8))))
        assertError([1, 2, 3], contains: "shorter")
        assertError(file(header: ok, data: [], headerLength: 1 << 62), contains: "past the end")
        assertError(file(header: "[1,2]", data: []), contains: "not a JSON object")
        assertError(file(header: #"{"t":{"dtype":"Q8","shape":[1],"data_offsets":[0,1]}}"#, data: [0]), contains: "'t'")
        assertError(file(header: #"{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)), contains: "needs 12 bytes")
        assertError(file(header: #"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0]), contains: "outside")
        assertError(file(header: #"{"t":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)), contains: "overflows")
        let overlap = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        assertError(file(header: overlap, data: [UInt8](repeating: 0, count: 8)), contains: "overlaps")
        let deep = "[" + Array(repeating: "1", count: 33).joined(separator: ",") + "]"
        assertError(file(header: #"{"t":{"dtype":"F32","shape":\#(deep),"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), contains: "33 dimensions")
        assertError(file(header: #"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0.5,4]}}"#, data: [0, 0, 0, 0]), contains: "pair of integers")
        assertError(file(header: #"{"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), contains: "non-negative")
        assertError(file(header: #"{"t":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#, data: [0, 0, 0, 0]), contains: "outside")
        assertError(file(header: #"{"__metadata__":{"k":3}}"#, data: []), contains: "metadata 'k'")
        XCTAssertThrowsError(try SafeTensorsFile(path: "/nonexistent/x.safetensors"))
        XCTAssertThrowsError(try SafeTensorsFile(bytes: file(header: ok, data: [UInt8](repeating: 0, count: 8))).tensor("missing"))
    }

    func testRandomDamageNeverTraps() throws {
        // Flipped bytes anywhere (header length, JSON, data) and every truncation are errors or readable files.
        let good = try SafeTensors.encode(["a": Tensor(repeating: 1.5, shape: [3, 4]), "b": Tensor(zeros: [5])], metadata: ["k": "v"], dtype: .bf16)
        var rng = RNG(seed: 16)
        for _ in 0..<400 {
            var b = good
            for _ in 0..<1 + rng.nextInt(3) { b[rng.nextInt(b.count)] = UInt8(rng.nextInt(256)) }
            if let f = try? SafeTensorsFile(bytes: b) { for n in f.names { _ = try? f.tensor(n, dtype: .f32) } }
        }
        for cut in 0..<good.count { _ = try? SafeTensorsFile(bytes: Array(good[..<cut])) }
    }
}
