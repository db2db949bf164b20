import Foundation
import XCTest
import Tensor
@testable import NN

/// Sets parameters from the formula in Scripts/fixtures/reference_nets.py `deterministic_fill`.
func deterministicFill(_ module: Module) {
    for (k, (name, p)) in module.namedParameters().sorted(by: { $0.name < $1.name }).enumerated() {
        let shape = p.shape
        p.withMutableValues { v in
            for i in 0..<v.count {
                var s = sin(0.37 * Double(i) + 1.3 * Double(k))
                if shape.count >= 2 {
                    s /= (Double(v.count) / Double(shape[0])).squareRoot()
                } else {
                    s = 0.1 * s + (name.contains("norm") && name.hasSuffix("weight") ? 1 : 0)
                }
                v[i] = Float(s)
            }
        }
    }
}

/// Networks against PyTorch (Fixtures/nets.safetensors from Scripts/fixtures/make_fixtures.py).
/// Tolerance per tensor: outputs 1e-4 abs + 1e-3 rel; gradients 1e-4 abs + 2e-3 rel (float32 sums in another order).
final class NetParityTests: XCTestCase {
    let file: SafeTensorsFile? = try? SafeTensorsFile(path: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/nets.safetensors").path)

    private func check(_ name: String, _ module: Module, _ forward: (Tensor, Tensor?) throws -> Tensor) throws {
        let f = try XCTUnwrap(file)
        deterministicFill(module)
        let x = try f.tensor("\(name).x").requiringGrad()
        let context = try? f.tensor("\(name).context")
        let y = try forward(x, context)
        assertClose(y.values, try f.tensor("\(name).out").values, atol: 1e-4, rtol: 1e-3, "\(name).out")
        try (y * f.tensor("\(name).probe")).sum().backward()
        assertClose(x.grad?.values ?? [], try f.tensor("\(name).grad.x").values, atol: 1e-4, rtol: 2e-3, "\(name).grad.x")
        for (pname, p) in module.namedParameters() {
            assertClose(p.grad?.values ?? [], try f.tensor("\(name).grad.\(pname)").values, atol: 1e-4, rtol: 2e-3, "\(name).grad.\(pname)")
        }
    }

    func testResnetBlock() throws {
        var rng = RNG(seed: 0)
        let block = ResnetBlock2D(8, 16, groups: 4, rng: &rng)
        try check("resblock", block) { x, _ in try block(x) }
    }

    func testAttentionBlock() throws {
        var rng = RNG(seed: 0)
        let block = AttentionBlock(channels: 16, heads: 2, groups: 4, rng: &rng)
        try check("attention", block) { x, _ in try block(x) }
    }

    func testCrossAttentionBlock() throws {
        var rng = RNG(seed: 0)
        let block = AttentionBlock(channels: 16, heads: 2, groups: 4, contextDim: 6, rng: &rng)
        try check("cross_attention", block) { x, c in try block(x, context: c) }
    }

    func testReferenceUNetAndAdamStep() throws {
        let f = try XCTUnwrap(file)
        var rng = RNG(seed: 0)
        let net = ReferenceUNet(rng: &rng)
        deterministicFill(net)
        let x = try f.tensor("unet.x").requiringGrad()
        let y = try net(x)
        assertClose(y.values, try f.tensor("unet.out").values, atol: 1e-4, rtol: 1e-3, "unet.out")
        let loss = try Tensor.l1Loss(y, f.tensor("unet.target"))
        assertClose([loss.item], try f.tensor("unet.loss").values, atol: 1e-5, rtol: 1e-4, "unet.loss")
        try loss.backward()
        assertClose(x.grad?.values ?? [], try f.tensor("unet.grad.x").values, atol: 1e-5, rtol: 5e-3, "unet.grad.x")
        let params = Dictionary(uniqueKeysWithValues: net.namedParameters().map { ($0.name, $0.parameter) })
        let watched = f.entries.keys.filter { $0.hasPrefix("unet.adam1.") }.map { String($0.dropFirst("unet.adam1.".count)) }
        XCTAssertEqual(watched.count, 7)
        for n in watched {
            let p = try XCTUnwrap(params[n], n)
            assertClose(p.grad?.values ?? [], try f.tensor("unet.grad.\(n)").values, atol: 1e-5, rtol: 5e-3, "unet.grad.\(n)")
        }
        Adam(parameters: net.parameters, learningRate: 1e-3).step()
        for n in watched {
            let p = try XCTUnwrap(params[n], n)
            assertClose(p.value.values, try f.tensor("unet.adam1.\(n)").values, atol: 2e-5, rtol: 1e-4, "unet.adam1.\(n)")
        }
    }
}

/// Asserts two float arrays agree within an absolute + relative tolerance, naming the worst element.
func assertClose(_ a: [Float], _ b: [Float], atol: Float, rtol: Float, _ name: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    guard a.count == b.count else {
        XCTFail("\(name): count \(a.count) vs \(b.count)", file: file, line: line)
        return
    }
    var worst = 0, worstExcess: Float = 0
    for i in 0..<a.count {
        let excess = abs(a[i] - b[i]) - (atol + rtol * abs(b[i]))
        if !(excess <= worstExcess) { worst = i; worstExcess = excess.isNaN ? .infinity : excess }
    }
    if worstExcess > 0 { XCTFail("\(name): element \(worst): \(a[worst]) vs expected \(b[worst])", file: file, line: line) }
}
