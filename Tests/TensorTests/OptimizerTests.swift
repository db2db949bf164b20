import XCTest
@testable import Tensor

/// Optimizer steps against hand-computed PyTorch formulas.
final class OptimizerTests: XCTestCase {
    private func parameter(_ values: [Float], grad: [Float]) throws -> Parameter {
        let p = Parameter(try Tensor(values, shape: [values.count]))
        try (p.value * Tensor(grad, shape: [grad.count])).sum().backward()
        return p
    }

    func testSGDMomentumAndWeightDecay() throws {
        let p = try parameter([1, -2], grad: [0.5, 1])
        let opt = SGD(parameters: [p], learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
        opt.step()   // d = g + 0.01 w = [0.51, 0.98]; buf = d; w -= 0.1 d
        assertClose(p.value.values, [1 - 0.051, -2 - 0.098], atol: 1e-6)
        opt.step()   // d = g + 0.01 w; buf = 0.9 buf + d
        let w1: [Float] = [0.949, -2.098]
        let d: [Float] = [0.5 + 0.01 * w1[0], 1 + 0.01 * w1[1]]
        let buf: [Float] = [0.9 * 0.51 + d[0], 0.9 * 0.98 + d[1]]
        assertClose(p.value.values, [w1[0] - 0.1 * buf[0], w1[1] - 0.1 * buf[1]], atol: 1e-6)
    }

    func testAdamAndAdamWFirstSteps() throws {
        let p = try parameter([1, -2], grad: [0.5, -1])
        Adam(parameters: [p], learningRate: 0.01).step()
        // Step 1: m_hat = g, v_hat = g^2 -> w -= lr * g / (|g| + eps)
        assertClose(p.value.values, [0.99, -1.99], atol: 1e-6)
        let q = try parameter([1, -2], grad: [0.5, -1])
        Adam.adamW(parameters: [q], learningRate: 0.01, weightDecay: 0.1).step()
        assertClose(q.value.values, [1 * (1 - 0.001) - 0.01, -2 * (1 - 0.001) + 0.01], atol: 1e-6)
    }

    func testFrozenParametersDoNotMove() throws {
        let p = try parameter([1], grad: [1])
        p.isFrozen = true
        Adam(parameters: [p], learningRate: 0.1).step()
        XCTAssertEqual(p.value.values, [1])
    }

    func testSchedulesAndClipping() throws {
        XCTAssertEqual(LearningRateSchedule.warmup(step: 0, base: 1, warmupSteps: 4), 0.25)
        XCTAssertEqual(LearningRateSchedule.warmupCosine(step: 4, base: 1, warmupSteps: 4, totalSteps: 14), 1, accuracy: 1e-6)
        XCTAssertEqual(LearningRateSchedule.warmupCosine(step: 9, base: 1, warmupSteps: 4, totalSteps: 14), 0.5, accuracy: 1e-6)
        XCTAssertEqual(LearningRateSchedule.warmupCosine(step: 14, base: 1, warmupSteps: 4, totalSteps: 14, minimum: 0.1), 0.1, accuracy: 1e-6)
        let p = try parameter([0, 0], grad: [3, 4])
        XCTAssertEqual(GradientClipping.clipNorm([p], maxNorm: 1), 5, accuracy: 1e-5)
        assertClose(p.grad?.values ?? [], [0.6, 0.8], atol: 1e-5)
    }
}
