import XCTest
import Tensor
@testable import NN

final class ReferenceUNetTests: XCTestCase {
    func testParameterCountAndShapes() throws {
        var rng = RNG(seed: 0)
        let net = ReferenceUNet(rng: &rng)
        XCTAssertEqual(net.parameterCount, 2_337_571)
        let names = net.namedParameters().map(\.name)
        XCTAssertEqual(Set(names).count, names.count)
        XCTAssertTrue(names.contains("decoders.2.norm2.bias"))
        let y = try GradMode.noGrad { try net(Tensor(zeros: [1, 4, 32, 32])) }
        XCTAssertEqual(y.shape, [1, 3, 32, 32])
    }

    func testSameSeedSameWeights() {
        var a = RNG(seed: 7), b = RNG(seed: 7), c = RNG(seed: 8)
        let n1 = ReferenceUNet(rng: &a), n2 = ReferenceUNet(rng: &b), n3 = ReferenceUNet(rng: &c)
        XCTAssertEqual(n1.out.weight.value.values, n2.out.weight.value.values)
        XCTAssertNotEqual(n1.out.weight.value.values, n3.out.weight.value.values)
    }

    func testTrainingReducesLoss() throws {
        var rng = RNG(seed: 1)
        let net = ReferenceUNet(rng: &rng)
        let x = Tensor.randn([2, 4, 16, 16], rng: &rng), target = Tensor.randn([2, 3, 16, 16], std: 0.1, rng: &rng)
        let opt = Adam(parameters: net.parameters, learningRate: 1e-3)
        var losses: [Float] = []
        for _ in 0..<5 {
            opt.zeroGrad()
            let loss = try Tensor.l1Loss(net(x), target)
            try loss.backward()
            opt.step()
            losses.append(loss.item)
        }
        XCTAssertLessThan(losses[4], losses[0] * 0.9, "losses \(losses)")
    }
}
