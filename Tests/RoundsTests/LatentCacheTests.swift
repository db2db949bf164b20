import Foundation
import Imaging
import Rounds
import Tensor
import XCTest

/// The store's cache of VAE latents: computed once, read back bit for bit, keyed by content and by encoder, and a
/// damaged file recomputed rather than trusted.
final class LatentCacheTests: XCTestCase {
    private func root() -> String {
        let path = NSTemporaryDirectory() + "rorem-latents-\(UUID().uuidString)"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testLatentsAreComputedOnceAndDamagedFilesAreRecomputed() throws {
        var cache = try LatentCache(root: root(), namespace: "vae-a")
        let z = try Tensor((0..<16).map { Float($0) / 7 }, shape: [1, 4, 2, 2])
        var computed = 0
        func get() throws -> Tensor { try cache.latents(key: "k1", shape: [1, 4, 2, 2]) { computed += 1; return z } }
        XCTAssertEqual(try get().values, z.values)
        XCTAssertEqual(try get().values, z.values)
        XCTAssertEqual(computed, 1)
        XCTAssertEqual([cache.hits, cache.misses], [1, 1])

        // A truncated file, and one of another shape, are recomputed and replaced.
        let file = cache.path(for: "k1")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: file))
        XCTAssertEqual(try get().values, z.values)
        XCTAssertEqual(computed, 2)
        XCTAssertEqual(try cache.latents(key: "k1", shape: [1, 4, 4, 4]) { computed += 1; return try Tensor(zeros: [1, 4, 4, 4]) }.shape, [1, 4, 4, 4])
        XCTAssertEqual(computed, 3)
        XCTAssertThrowsError(try LatentCache(root: root(), namespace: "../up"))
    }

    func testKeysFollowContentAndNamespacesFollowTheEncoder() throws {
        let a = try Image(width: 2, height: 1, channels: 3, pixels: [0, 0.5, 1, 1, 0.5, 0])
        var b = a
        XCTAssertEqual(LatentCache.key(of: a), LatentCache.key(of: b))
        b[1, 0, 2] = 0.25
        XCTAssertNotEqual(LatentCache.key(of: a), LatentCache.key(of: b))

        let vae = root()
        try FileManager.default.createDirectory(atPath: vae, withIntermediateDirectories: true)
        try Data("{\"latent_channels\": 4}".utf8).write(to: URL(fileURLWithPath: vae + "/config.json"))
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: vae + "/diffusion_pytorch_model.safetensors"))
        let n512 = try LatentCache.namespace(vaeFolder: vae, resolution: 512)
        XCTAssertEqual(n512, try LatentCache.namespace(vaeFolder: vae, resolution: 512))
        XCTAssertNotEqual(n512, try LatentCache.namespace(vaeFolder: vae, resolution: 256))
        try Data([1, 2, 3, 4]).write(to: URL(fileURLWithPath: vae + "/diffusion_pytorch_model.safetensors"))
        XCTAssertNotEqual(n512, try LatentCache.namespace(vaeFolder: vae, resolution: 512), "new weights, new namespace")
        XCTAssertThrowsError(try LatentCache.namespace(vaeFolder: vae + "/missing", resolution: 512))
    }
}
