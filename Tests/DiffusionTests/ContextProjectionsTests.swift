import XCTest
import Tensor
import NN
@testable import Diffusion

/// The memo of cross-attention key and value projections that a denoising loop passes to the UNet.
final class ContextProjectionsTests: XCTestCase {
    /// The UNet's cross-attention layers (each transformer block's `attn2`).
    private func crossAttentions(_ unet: UNet2DConditionModel) -> [Attention] {
        unet.namedModules().compactMap { $0.module as? Attention }.filter { $0.options.crossAttentionDim != nil }
    }

    /// Two evaluations of a loop: the case's sample at its timesteps, then a changed sample at another timestep.
    private func loop(_ unet: UNet2DConditionModel, _ x: UNetFixtures.Case, context: Tensor,
                      projections: ContextProjections?) throws -> [Tensor] {
        let first = try unet(x.sample, timesteps: x.timesteps, encoderHiddenStates: context, added: x.added,
                             projections: projections)
        let second = try unet(x.sample * 0.5 + 0.25, timesteps: x.timesteps.map { $0 / 2 + 3 }, encoderHiddenStates: context,
                              added: x.added, projections: projections)
        return [first, second]
    }

    func testALoopWithTheMemoGivesTheSameBitsAndProjectsOncePerLayer() throws {
        let unet = try UNetFixtures.model("unet")
        let ref = try UNetFixtures.reference("unet")
        let x = try UNetFixtures.Case(ref, "a")                                   // batch 2
        let layers = crossAttentions(unet).count
        XCTAssertGreaterThan(layers, 1)
        let plain = try loop(unet, x, context: x.context, projections: nil)
        let memo = ContextProjections()
        let memoized = try loop(unet, x, context: x.context, projections: memo)
        for (a, b) in zip(plain, memoized) { XCTAssertEqual(a.values, b.values, "the memo must not change a bit") }
        assertUNetClose(memoized[0], try ref.tensor("a.out"), tolerance: 2e-5, "memoized unet against diffusers")
        XCTAssertEqual(memo.count, layers)
        XCTAssertEqual(memo.computed, layers, "the second evaluation must reuse every layer's projections")
    }

    func testANewContextOrNewWeightsAreProjectedAfresh() throws {
        let unet = try UNetFixtures.model("unet")
        let x = try UNetFixtures.Case(UNetFixtures.reference("unet"), "a")
        let layers = crossAttentions(unet).count
        let memo = ContextProjections()
        _ = try loop(unet, x, context: x.context, projections: memo)
        // Another prompt: every layer computes again, and the result is the plain one for that context.
        let other = x.context * -1.5 + 0.1
        let plainOther = try loop(unet, x, context: other, projections: nil)
        let memoOther = try loop(unet, x, context: other, projections: memo)
        for (a, b) in zip(plainOther, memoOther) { XCTAssertEqual(a.values, b.values) }
        XCTAssertEqual(memo.computed, 2 * layers)
        XCTAssertEqual(memo.count, layers, "a new context replaces the entries")
        // New weights for one layer's to_v (as loading or fusing a LoRA gives): that layer alone is recomputed.
        let layer = try XCTUnwrap(crossAttentions(unet).first)
        var rng = RNG(seed: 9)
        try layer.toV.weight.assign(Tensor.randn(layer.toV.weight.shape, rng: &rng))
        let plainNew = try loop(unet, x, context: other, projections: nil)
        let memoNew = try loop(unet, x, context: other, projections: memo)
        for (a, b) in zip(plainNew, memoNew) { XCTAssertEqual(a.values, b.values) }
        XCTAssertNotEqual(plainNew[0].values, plainOther[0].values, "the changed weight must change the output")
        XCTAssertEqual(memo.computed, 2 * layers + 1)
    }

    func testTrainingAndUnfusedAdaptersBypassTheMemo() throws {
        let unet = try UNetFixtures.model("unet")
        let x = try UNetFixtures.Case(UNetFixtures.reference("unet"), "c")
        let memo = ContextProjections()
        // Recording a graph: the projections must be part of it, so the memo is not used.
        let out = try unet.forward(x.sample, timesteps: x.timesteps, encoderHiddenStates: x.context, added: x.added,
                                   projections: memo)
        try out.sum().backward()
        XCTAssertEqual(memo.count, 0)
        let layer = try XCTUnwrap(crossAttentions(unet).first)
        XCTAssertNotNil(layer.toK.weight.grad, "to_k gets its gradient through the recorded projection")
        // An unfused LoRA adapter on the projections (training a LoRA): computed every call.
        // Only the first cross-attention layer's to_k gets one; the other layers still use the memo.
        let name = try XCTUnwrap(unet.namedModules().first { $0.module === layer.toK }?.name)
        var rng = RNG(seed: 5)
        XCTAssertEqual(try LoRA.wrap(unet, rank: 2, rng: &rng) { $0 == name }, [name])
        XCTAssertNotNil(layer.toK.lora)
        _ = try loop(unet, x, context: x.context, projections: memo)
        XCTAssertEqual(memo.count, crossAttentions(unet).count - 1)
    }
}
