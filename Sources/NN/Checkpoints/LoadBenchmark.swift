import Foundation
import Tensor

/// Measures loading a checkpoint the way a model does (`rorem bench load`, Scripts/bench/load.py): open and check
/// it, give every tensor a parameter built without initialisation, load each into its parameter (zero-copy views
/// when the dtype matches), then touch every page so the weights are resident. Reports times and memory.
public enum LoadBenchmark {
    /// Runs the measurement on `path`; `dtype` nil keeps the file's dtypes; `prefetch` asks the kernel to read the
    /// whole file ahead (`MappedFile.prefetch`) right after opening it.
    public static func run(path: String, dtype: DType? = nil, prefetch: Bool = false) throws -> [(String, Double)] {
        func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e6 }
        let rss0 = memory("VmRSS")
        let t0 = now()
        let source = try Checkpoint.open(path)
        if prefetch {
            let parts = (source as? ShardedCheckpoint).map { Array($0.shards.values) } ?? [source]
            for part in parts {
                ((part as? SafeTensorsFile)?.file ?? (part as? TorchCheckpoint)?.file)?.prefetch()
            }
        }
        let t1 = now()
        var parameters: [(String, Parameter)] = []
        var bytes = 0
        for name in source.names {
            guard let info = source.info(name) else { continue }
            let d = dtype ?? info.elementType.dtype ?? .f32
            parameters.append((name, Parameter(Tensor.empty(info.shape, dtype: d))))
            bytes += info.count * d.size
        }
        let t2 = now()
        for (name, p) in parameters { try p.replace(with: source.tensor(name, dtype: dtype), name: name) }
        let t3 = now()
        // Touch one byte per page of every weight, in parallel, so that it is resident (as a first forward would).
        let tensors = parameters.map { $0.1.value }
        var sums = [UInt64](repeating: 0, count: tensors.count)
        sums.withUnsafeMutableBufferPointer { out in
            let base = out.baseAddress!
            DispatchQueue.concurrentPerform(iterations: tensors.count) { i in
                tensors[i].withRawBytes { raw in
                    var s: UInt64 = 0
                    var k = 0
                    while k < raw.count { s &+= UInt64(raw[k]); k += 4096 }
                    base[i] = s
                }
            }
        }
        let t4 = now()
        let viewed = tensors.filter { $0.storage.isReadOnly }.count
        return [
            ("tensors", Double(tensors.count)), ("zero_copy_tensors", Double(viewed)), ("weights_mb", Double(bytes) / 1e6),
            ("file_mb", Double((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0) / 1e6),
            ("open_ms", t1 - t0), ("build_ms", t2 - t1), ("load_ms", t3 - t2), ("touch_ms", t4 - t3), ("total_ms", t4 - t0),
            ("rss_before_mb", rss0), ("rss_after_mb", memory("VmRSS")), ("peak_rss_mb", memory("VmHWM")),
            ("checksum", Double(sums.reduce(0, &+) % 1_000_000)),
        ]
    }

    /// A field of /proc/self/status in MB (0 where unavailable).
    static func memory(_ field: String) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
            return kb / 1000
        }
        return 0
    }
}
