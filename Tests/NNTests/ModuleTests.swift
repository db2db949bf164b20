import Foundation
import XCTest
import Tensor
@testable import NN

final class ModuleTests: XCTestCase {
    func testCheckpointRoundTripAndShapeErrors() throws {
        var rng = RNG(seed: 3)
        let a = ResnetBlock2D(4, 8, groups: 2, rng: &rng), b = ResnetBlock2D(4, 8, groups: 2, rng: &rng)
        XCTAssertNotEqual(a.conv1.weight.value.values, b.conv1.weight.value.values)
        let path = NSTemporaryDirectory() + "rorem-ckpt-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Checkpoint.save(a, to: path, metadata: ["config": "resblock 4->8"])
        let meta = try Checkpoint.load(b, from: path)
        XCTAssertEqual(meta["config"], "resblock 4->8")
        XCTAssertEqual(a.stateDict().keys.sorted(), b.stateDict().keys.sorted())
        for (name, t) in a.stateDict() { XCTAssertEqual(b.stateDict()[name]?.values, t.values, name) }
        XCTAssertTrue(a.stateDict().keys.contains("conv_shortcut.weight"))

        let wrong = ResnetBlock2D(4, 6, groups: 2, rng: &rng)
        XCTAssertThrowsError(try Checkpoint.load(wrong, from: path)) { error in
            XCTAssertTrue("\(error)".contains("conv1.weight") && "\(error)".contains("[8, 4, 3, 3]"), "\(error)")
        }
        let other = ResnetBlock2D(8, 8, groups: 2, rng: &rng)
        XCTAssertThrowsError(try Checkpoint.load(other, from: path)) { XCTAssertTrue("\($0)".contains("unexpected") || "\($0)".contains("conv1.weight")) }
    }

    func testFrozenModuleGetsNoGradients() throws {
        var rng = RNG(seed: 1)
        let lin = Linear(3, 2, rng: &rng)
        lin.setFrozen(true)
        let x = Tensor.randn([4, 3], rng: &rng).requiringGrad()
        try lin(x).sum().backward()
        XCTAssertNil(lin.weight.grad)
        XCTAssertNotNil(x.grad)
    }

    func testInitialisationBoundsMatchPyTorch() {
        var rng = RNG(seed: 2)
        let conv = Conv2d(16, 8, kernelSize: 3, rng: &rng)
        let bound: Float = 1 / (16 * 9 as Float).squareRoot()
        let w = conv.weight.value.values
        XCTAssertTrue(w.allSatisfy { abs($0) <= bound })
        XCTAssertGreaterThan(w.map(abs).max() ?? 0, bound * 0.9)
    }
}

final class LoRATests: XCTestCase {
    func testLinearAdapterTrainsOnlyTheAdapterAndMerges() throws {
        var rng = RNG(seed: 4)
        let lora = LoRALinear(base: Linear(6, 5, rng: &rng), rank: 2, alpha: 4, rng: &rng)
        XCTAssertEqual(lora.namedParameters().map(\.name), ["base_layer.weight", "base_layer.bias", "lora_A.weight", "lora_B.weight"])
        let x = Tensor.randn([3, 6], rng: &rng)
        let baseOut = try lora.base(x).values
        XCTAssertEqual(try lora(x).values, baseOut)   // B starts at zero
        let opt = SGD(parameters: lora.parameters, learningRate: 0.1)
        for _ in 0..<3 {
            opt.zeroGrad()
            try (lora(x) * lora(x)).mean().backward()
            opt.step()
        }
        XCTAssertEqual(try lora.base(x).values, baseOut, "base weights are frozen")
        let adapted = try lora(x).values
        XCTAssertNotEqual(adapted, baseOut)
        try lora.merge()
        XCTAssertTrue(lora.isMerged)
        for (p, q) in zip(try lora(x).values, adapted) { XCTAssertEqual(p, q, accuracy: 1e-5) }
        try lora.unmerge()
        for (p, q) in zip(try lora.base(x).values, baseOut) { XCTAssertEqual(p, q, accuracy: 1e-5) }
    }

    func testConvAdapterMergeMatchesUnmerged() throws {
        var rng = RNG(seed: 5)
        let lora = try LoRAConv2d(base: Conv2d(3, 4, kernelSize: 3, padding: 1, rng: &rng), rank: 2, rng: &rng)
        lora.loraB.withMutableValues { for i in 0..<$0.count { $0[i] = Float(i % 3) * 0.1 - 0.1 } }
        let x = Tensor.randn([1, 3, 5, 5], rng: &rng)
        let unmerged = try lora(x).values
        try lora.merge()
        for (p, q) in zip(try lora(x).values, unmerged) { XCTAssertEqual(p, q, accuracy: 1e-5) }
        XCTAssertThrowsError(try LoRAConv2d(base: Conv2d(4, 4, kernelSize: 3, groups: 2, rng: &rng), rank: 2, rng: &rng))
    }
}
