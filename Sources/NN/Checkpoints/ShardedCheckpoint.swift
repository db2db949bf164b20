import Foundation
import Tensor

/// A sharded checkpoint (`model.safetensors.index.json` or `pytorch_model.bin.index.json` beside its shards), read
/// as one source.
///
/// The index's `weight_map` names each tensor's shard; shards are plain file names in the index's folder (a
/// name with a path separator or `..` is refused), each opened once with `Checkpoint.open` (safetensors or
/// torch.save files; an index naming another index is refused). The index's `metadata`
/// (strings only; numbers such as `total_size` are written as text) and the shards' own metadata are merged.
public final class ShardedCheckpoint: TensorSource {
    /// The largest index file accepted.
    public static let maxIndexBytes = 64 << 20

    public let label: String
    public let names: [String]
    public let metadata: [String: String]
    /// The opened shards by file name.
    public let shards: [String: TensorSource]
    private let shardOf: [String: String]

    /// Opens the index at `path` and every shard it names; throws naming the index, the shard or the tensor.
    public init(indexPath path: String) throws {
        label = "checkpoint index '\(path)'"
        let index = try MappedFile(path: path, label: label)
        guard index.count <= Self.maxIndexBytes else { throw TensorError(label, "index of \(index.count) bytes exceeds \(Self.maxIndexBytes)") }
        let data = Data(bytes: index.base, count: index.count)
        guard let json = try? JSONSerialization.jsonObject(with: data), let top = json as? [String: Any] else {
            throw TensorError(label, "is not a JSON object")
        }
        guard let map = top["weight_map"] as? [String: Any] else { throw TensorError(label, "has no 'weight_map' object") }
        let folder = (path as NSString).deletingLastPathComponent
        var shards: [String: TensorSource] = [:]
        var shardOf: [String: String] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in map.sorted(by: { $0.key < $1.key }) {
            guard let shard = value as? String, !shard.isEmpty, !shard.contains("/"), !shard.contains("\\"), shard != ".", shard != ".." else {
                throw TensorError(label, "tensor '\(name)' names shard \(value), which is not a file name in the index's folder")
            }
            if shards[shard] == nil {
                let shardPath = folder.isEmpty ? shard : folder + "/" + shard
                guard try Checkpoint.format(of: shardPath) != .sharded else {
                    throw TensorError(label, "shard '\(shard)' is itself an index")
                }
                let file = try Checkpoint.open(shardPath)
                shards[shard] = file
                metadata.merge(file.metadata) { a, _ in a }
            }
            guard shards[shard]?.info(name) != nil else {
                throw TensorError(label, "tensor '\(name)' is not in its shard '\(shard)'")
            }
            shardOf[name] = shard
        }
        if let m = top["metadata"] as? [String: Any] {
            for (k, v) in m { metadata[k] = (v as? String) ?? "\(v)" }
        }
        self.shards = shards
        self.shardOf = shardOf
        self.metadata = metadata
        // Shards in name order, each in its own file order.
        names = shards.keys.sorted().flatMap { s in (shards[s]?.names ?? []).filter { shardOf[$0] == s } }
    }

    public func info(_ name: String) -> TensorInfo? {
        shardOf[name].flatMap { shards[$0]?.info(name) }
    }

    public func tensor(_ name: String, dtype: DType?) throws -> Tensor {
        guard let shard = shardOf[name], let file = shards[shard] else { throw TensorError(label, "no tensor named '\(name)'") }
        return try file.tensor(name, dtype: dtype)
    }
}
