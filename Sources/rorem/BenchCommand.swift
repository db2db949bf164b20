import ArgumentParser
import Foundation
import Support
import Imaging
import NN
import Tensor
import Removal

/// `rorem bench`: in-process timings for Scripts/bench and Docs/BENCHMARKS.md.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure speed in-process and print name=value lines.",
        subcommands: [BenchRemove.self, BenchEngine.self, BenchLoad.self, BenchDiffusion.self, BenchDiscriminator.self]
    )
}

/// Prints the median of several timed runs of `body` (after one warm-up run), in milliseconds.
func medianMilliseconds(runs: Int, _ body: () throws -> Void) rethrows -> (median: Double, all: [Double]) {
    let times = try Timing.milliseconds(runs: runs, body)
    let sorted = times.sorted()
    let mid = sorted.count / 2
    let median = sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    return (median, times)
}

/// `rorem bench remove IMAGE --mask MASK --method M [--runs N]`.
struct BenchRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Time one removal (decode and encode excluded) and print median_ms=X.",
        discussion: "Example: rorem bench remove photo.jpg --mask mask.png --method telea --runs 5"
    )

    @Argument(help: "The image.") var image: String
    @Option(name: .long, help: "The mask.") var mask: String
    @Option(name: .long, help: "Removal method: \(Removers.names.joined(separator: ", ")), or unet with --checkpoint.") var method: String = "patchmatch"
    @Option(name: .long, help: "Checkpoint for a learned method.") var checkpoint: String?
    @Option(name: .long, help: "Timed runs after one warm-up.") var runs: Int = 5
    @Option(name: .customLong("opt"), help: ArgumentHelp("A method option as KEY=VALUE (repeatable).", valueName: "key=value"))
    var options: [String] = []

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
    }

    func run() throws {
        do {
            let remover = try makeRemover(method, checkpoint: checkpoint, options: try parseOptions(options))
            let img = try ImageIO.load(image)
            let m = try ImageIO.loadMask(mask)
            try m.checkSize(matches: img, what: "mask '\(mask)'")
            let (median, all) = try medianMilliseconds(runs: runs) { _ = try remover.remove(img, mask: m) }
            print("method=\(method)")
            print("size=\(img.width)x\(img.height)")
            print("mask_area=\(String(format: "%.4f", m.area))")
            print("runs=\(runs)")
            print("median_ms=\(String(format: "%.2f", median))")
            print("min_ms=\(String(format: "%.2f", all.min() ?? median))")
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
    }
}

/// `rorem bench engine`: the tensor engine's speed (sgemm, conv, reference UNet) as name=value lines.
struct BenchEngine: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Time sgemm, a 3x3 conv and the reference UNet (forward and train step) and print name=value lines.",
        discussion: "Scripts/bench/engine.py runs the same work in PyTorch and writes the ratios to Docs/BENCHMARKS.md."
    )

    @Option(name: .long, help: "Timed runs per measurement (median reported).") var runs: Int = 5
    @Option(name: .long, help: "Worker threads (default: every core).") var threads: Int?
    @Option(name: .long, help: "Convolution backend: onednn or native (default: ROREM_CONV, else oneDNN when installed).")
    var conv: String?
    @Option(name: .long, help: ArgumentHelp("Measure only these, comma-separated: \(EngineBenchmark.Part.allCases.map(\.rawValue).joined(separator: ", ")) (default: all).", valueName: "parts"))
    var parts: String?

    /// The parts named by --parts (all when it is absent).
    func selectedParts() throws -> Set<EngineBenchmark.Part> {
        guard let parts else { return Set(EngineBenchmark.Part.allCases) }
        var selected = Set<EngineBenchmark.Part>()
        for name in parts.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
            guard let part = EngineBenchmark.Part(rawValue: name) else {
                throw ValidationError("--parts: unknown part '\(name)' (known: \(EngineBenchmark.Part.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            selected.insert(part)
        }
        guard !selected.isEmpty else { throw ValidationError("--parts names no part") }
        return selected
    }

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        _ = try selectedParts()
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let conv, ConvBackend(rawValue: conv) == nil { throw ValidationError("--conv must be onednn or native, not '\(conv)'") }
    }

    func run() throws {
        do {
            if let threads { Parallel.threads = threads }
            if let conv, let backend = ConvBackend(rawValue: conv) {
                ConvBackend.current = backend
                if ConvBackend.current != backend { printError("bench: --conv \(conv): \(ConvBackend.status)") }
            }
            // Which kernels ran (Scripts/bench/engine puts them in the table's header).
            print("conv_backend=\(ConvBackend.status)")
            print("conv_winograd=\(Winograd.status)")
            print("blas_kernels=\(BLAS.coreName)")
            print("bf16_matmul=\(OneDNN.bf16MatmulStatus)")
            print("half_weight_gemm=\(BLAS.halfWeightStatus)")
            let results = try EngineBenchmark.run(runs: runs, parts: selectedParts()) { printError("bench: \($0)") }
            for (name, value) in results {
                let text = value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(format: "%.3f", value)
                print("\(name)=\(text)")
            }
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
    }
}
