import ArgumentParser
import Foundation
import NN
import Tensor

/// `rorem bench load FILE [--dtype D]`: how long a checkpoint takes to load and how much memory it then holds.
struct BenchLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Load every tensor of a checkpoint into parameters built without initialisation; print name=value lines.",
        discussion: "Scripts/bench/load.py makes a random 5 GB fp16 file and compares with safetensors in PyTorch."
    )

    @Argument(help: "A checkpoint (.safetensors, .safetensors.index.json, .bin/.pt/.ckpt).") var file: String
    @Option(name: .long, help: "Convert to f32, f16 or bf16 (default: keep the file's dtypes; views, no copy).") var dtype: String?

    @Flag(name: .long, help: "Ask the kernel to read the whole file ahead (madvise WILLNEED) right after opening it.") var prefetch = false

    func run() throws {
        var target: DType?
        if let dtype {
            guard let d = DType(name: dtype) else { throw ValidationError("--dtype must be f32, f16 or bf16") }
            target = d
        }
        do {
            for (name, value) in try LoadBenchmark.run(path: file, dtype: target, prefetch: prefetch) {
                print("\(name)=\(value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value))")
            }
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
    }
}
