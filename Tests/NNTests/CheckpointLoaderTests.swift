import Foundation
import XCTest
import Tensor
@testable import NN

/// `Module.load(from:)` over every source, `namedModules`, sharded files and `Checkpoint.save`.
final class CheckpointLoaderTests: XCTestCase {
    func testSaveLoadInBothFormatsAndShapeErrorsNameBothShapes() throws {
        let dir = try CheckpointFixtures.scratch("loader")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var rng = RNG(seed: 4)
        let a = ResnetBlock2D(4, 8, groups: 2, rng: &rng)
        for file in ["m.safetensors", "m.pt"] {
            let b = ResnetBlock2D(4, 8, groups: 2, rng: &rng)
            try Checkpoint.save(a, to: dir + "/" + file)
            let report = try b.load(from: Checkpoint.open(dir + "/" + file))
            XCTAssertEqual(report.loaded.count, a.namedParameters().count)
            for ((n, p), (_, q)) in zip(a.namedParameters(), b.namedParameters()) { XCTAssertEqual(p.value.values, q.value.values, n) }
        }
        let wrong = ResnetBlock2D(4, 6, groups: 2, rng: &rng)
        let before = wrong.norm1.weight.value.values
        XCTAssertThrowsError(try wrong.load(from: Checkpoint.open(dir + "/m.safetensors"))) { error in
            let t = "\(error)"
            XCTAssertTrue(t.contains("m.safetensors") && t.contains("'conv1.weight'") && t.contains("[8, 4, 3, 3]") && t.contains("[6, 4, 3, 3]"), t)
        }
        XCTAssertEqual(wrong.norm1.weight.value.values, before, "a failed load changes nothing")
    }

    func testDeferredModuleLoadsHalfPrecisionViewsOfTheFile() throws {
        let dir = try CheckpointFixtures.scratch("views")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var rng = RNG(seed: 8)
        let a = ResnetBlock2D(4, 8, groups: 2, rng: &rng)
        try Checkpoint.save(a, to: dir + "/h.safetensors", dtype: .f16)
        let b = Initializer.deferred { ResnetBlock2D(4, 8, groups: 2, rng: &rng) }
        let file = try SafeTensorsFile(path: dir + "/h.safetensors")
        try b.load(from: file)
        let mapped = UnsafeRawPointer(file.file.base)..<(file.file.base + file.file.count)
        for ((n, p), (_, q)) in zip(a.namedParameters(), b.namedParameters()) {
            XCTAssertEqual(q.dtype, .f16, n)
            XCTAssertTrue(mapped.contains(q.value.withRawBytes { $0.baseAddress! }), "\(n) is a view of the file")
            XCTAssertEqual(q.value.values, p.value.to(.f16).values, n)
        }
        // Asking for f32 converts; the model then owns its weights.
        let c = ResnetBlock2D(4, 8, groups: 2, rng: &rng)
        try c.load(from: file, dtype: .f32)
        XCTAssertEqual(c.conv1.weight.dtype, .f32)
        XCTAssertEqual(c.conv1.weight.value.values, a.conv1.weight.value.to(.f16).values)
    }

    func testPrefixRenameStrictAndReport() throws {
        var rng = RNG(seed: 5)
        let lin = Linear(3, 2, rng: &rng)
        let w = try Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]), b = try Tensor([7, 8], shape: [2])
        let source = DictionarySource(["net.fc.w": w, "net.fc.b": b, "net.extra": b, "other": b])
        let rename: (String) -> String? = { ["fc.w": "weight", "fc.b": "bias"][$0] ?? $0 }
        XCTAssertThrowsError(try lin.load(from: source, prefix: "net.", rename: rename)) {
            XCTAssertTrue("\($0)".contains("unexpected tensor 'extra'"), "\($0)")
        }
        let report = try lin.load(from: source, strict: false, prefix: "net.", rename: rename)
        XCTAssertEqual(report, LoadReport(loaded: ["weight", "bias"], missing: [], unexpected: ["extra"]))
        XCTAssertEqual(lin.weight.value.values, w.values)
        XCTAssertThrowsError(try lin.load(from: source, strict: false, rename: { _ in "bias" })) {
            XCTAssertTrue("\($0)".contains("both map to parameter 'bias'"), "\($0)")
        }
    }

    func testNamedModulesFindsChildrenByTheirParameterNames() throws {
        var rng = RNG(seed: 6)
        let attn = AttentionBlock(channels: 8, heads: 2, groups: 2, rng: &rng)
        let names = attn.namedModules().map(\.name)
        XCTAssertEqual(names, ["", "group_norm", "to_q", "to_k", "to_v", "to_out.0"])
        XCTAssertTrue(attn.module(named: "to_out.0") === attn.toOut)
        XCTAssertNil(attn.module(named: "to_out.1"))
        let unet = ReferenceUNet(config: ReferenceUNetConfig(), rng: &rng)
        let all = unet.namedModules()
        // Every parameter's owner is reachable: each parameter name is some module's name plus a leaf.
        let moduleNames = Set(all.map(\.name))
        for (n, _) in unet.namedParameters() {
            let owner = n.split(separator: ".").dropLast().joined(separator: ".")
            XCTAssertTrue(moduleNames.contains(owner), "no module named '\(owner)' for parameter '\(n)'")
        }
    }

    /// A module that reports a part's parameters under their own names, as the UNet reports its encoder half's.
    private final class Folded: Module {
        let part: AttentionBlock, head: Linear
        init(rng: inout RNG) {
            part = AttentionBlock(channels: 8, heads: 2, groups: 2, rng: &rng)
            head = Linear(8, 3, rng: &rng)
        }
        func namedParameters() -> [(name: String, parameter: Parameter)] { part.namedParameters() + scoped("head", head) }
    }

    func testNamedModulesReachThePartsOfAModuleFoldedIntoItsParent() throws {
        var rng = RNG(seed: 8)
        let folded = Folded(rng: &rng)
        XCTAssertEqual(folded.namedModules().map(\.name), ["", "group_norm", "to_q", "to_k", "to_v", "to_out.0", "head"])
        XCTAssertTrue(folded.module(named: "to_k") === folded.part.toK)
        XCTAssertTrue(folded.module(named: "head") === folded.head)
        // So LoRA reaches them by name.
        XCTAssertEqual(try LoRA.wrap(folded, rank: 1, rng: &rng) { $0 == "to_v" }, ["to_v"])
        XCTAssertNotNil(folded.part.toV.lora)
    }

    func testShardedCheckpointsLoadAsOneFile() throws {
        let dir = try CheckpointFixtures.scratch("shards")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var rng = RNG(seed: 7)
        let a = ResnetBlock2D(4, 8, groups: 2, rng: &rng), b = ResnetBlock2D(4, 8, groups: 2, rng: &rng)
        let named = a.namedParameters()
        let half = named.count / 2
        var map: [String: String] = [:]
        for (k, part) in [Array(named[..<half]), Array(named[half...])].enumerated() {
            let shard = "model-0000\(k + 1)-of-00002.safetensors"
            try SafeTensors.write(part.map { ($0.name, $0.parameter.value) }, to: dir + "/" + shard)
            for (n, _) in part { map[n] = shard }
        }
        let index = try JSONSerialization.data(withJSONObject: ["metadata": ["total_size": 123], "weight_map": map])
        try index.write(to: URL(fileURLWithPath: dir + "/model.safetensors.index.json"))
        let source = try Checkpoint.open(dir + "/model.safetensors.index.json")
        XCTAssertEqual(source.metadata["total_size"], "123")
        try b.load(from: source)
        for ((n, p), (_, q)) in zip(a.namedParameters(), b.namedParameters()) { XCTAssertEqual(p.value.values, q.value.values, n) }

        // Torch shards behind a pytorch_model.bin.index.json work the same way.
        var binMap: [String: String] = [:]
        for (k, part) in [Array(named[..<half]), Array(named[half...])].enumerated() {
            let shard = "pytorch_model-0000\(k + 1)-of-00002.bin"
            try TorchWriter.write(part.map { ($0.name, $0.parameter.value) }, to: dir + "/" + shard)
            for (n, _) in part { binMap[n] = shard }
        }
        try JSONSerialization.data(withJSONObject: ["weight_map": binMap]).write(to: URL(fileURLWithPath: dir + "/pytorch_model.bin.index.json"))
        let c = ResnetBlock2D(4, 8, groups: 2, rng: &rng)
        try c.load(from: Checkpoint.open(dir + "/pytorch_model.bin.index.json"))
        for ((n, p), (_, q)) in zip(a.namedParameters(), c.namedParameters()) { XCTAssertEqual(p.value.values, q.value.values, n) }

        map[named[0].name] = "../escape.safetensors"
        try JSONSerialization.data(withJSONObject: ["weight_map": map]).write(to: URL(fileURLWithPath: dir + "/bad.index.json"))
        XCTAssertThrowsError(try Checkpoint.open(dir + "/bad.index.json")) { XCTAssertTrue("\($0)".contains("not a file name"), "\($0)") }
        map[named[0].name] = "model-00002-of-00002.safetensors"
        try JSONSerialization.data(withJSONObject: ["weight_map": map]).write(to: URL(fileURLWithPath: dir + "/wrong.index.json"))
        XCTAssertThrowsError(try Checkpoint.open(dir + "/wrong.index.json")) {
            XCTAssertTrue("\($0)".contains("'\(named[0].name)' is not in its shard"), "\($0)")
        }
    }
}
