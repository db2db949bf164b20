import Support
import ArgumentParser
import Foundation
import Imaging
import Learning
import Removal

/// `rorem remove`: one image or a folder of images.
struct RemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove the masked object from an image, or from every image in a folder.",
        discussion: """
        The mask is a gray PNG/JPEG of the image's size (white = remove; RGBA masks use alpha). With a folder of images,
        --mask is a folder whose files match the images by name (photo.jpg <-> photo.png) or one mask for all, and -o is
        an existing folder. Pixels outside the mask are exactly the input's. A bad file is reported and skipped; the exit
        status is then 1.

        Examples:
          rorem remove photo.jpg --mask mask.png -o clean.png
          rorem remove photo.jpg --mask mask.png -o clean.png --method telea --dilate 4
          rorem remove photos/ --mask masks/ -o cleaned/
        """
    )

    @Argument(help: "An image file, or a folder of images.")
    var input: String

    @Option(name: .long, help: "The mask file, or a folder of masks matched by file name.")
    var mask: String

    @Option(name: .shortAndLong, help: "Output file (single image) or existing folder (batch).")
    var output: String

    @Option(name: .long, help: "Removal method: \((Removers.names + LearnedRemovers.names).joined(separator: ", ")).")
    var method: String = "patchmatch"

    @Option(name: .long, help: "Checkpoint (.safetensors) for a learned method such as unet.")
    var checkpoint: String?

    @Option(name: .long, help: "Grow the mask by this many pixels first (elliptical kernel).")
    var dilate: Int = 0

    @Flag(name: .long, help: "Resize a mask of another size to the image's size instead of failing.")
    var resizeMask = false

    @Option(name: .customLong("opt"), help: ArgumentHelp("A method option as KEY=VALUE (repeatable), e.g. --opt patch_size=5.", valueName: "key=value"))
    var options: [String] = []

    @Option(name: .long, help: "JPEG quality for .jpg outputs (1-100).")
    var quality: Int = 95

    @Option(name: .long, help: "Output format in batch mode: png or jpg.")
    var format: String = "png"

    func validate() throws {
        guard dilate >= 0 else { throw ValidationError("--dilate must not be negative") }
        guard (1...100).contains(quality) else { throw ValidationError("--quality must be in 1...100") }
        guard ["png", "jpg", "jpeg"].contains(format) else { throw ValidationError("--format must be png or jpg") }
    }

    func run() throws {
        let remover: any Remover
        do {
            remover = try makeRemover(method, checkpoint: checkpoint, options: try parseOptions(options))
        } catch let error as RemovalError {
            printError("error: \(error)")
            throw ExitCode(64) // a usage error: unknown method or option
        } catch let error as ValidationError {
            printError("error: \(error)")
            throw ExitCode(64)
        } catch {
            printError("error: \(error)") // an unreadable or mismatched checkpoint
            throw ExitCode(1)
        }
        let job = RemovalJob(remover: remover, dilate: dilate, resizeMask: resizeMask, quality: quality)
        if isFolder(input) {
            try runBatch(job)
        } else {
            do {
                let outcome = try job.run(image: input, mask: mask, output: output)
                if case .emptyMask = outcome { printError("warning: '\(mask)' masks no pixel; wrote the input unchanged to '\(output)'") }
            } catch {
                printError("error: \(error)")
                throw ExitCode(1)
            }
        }
    }

    private func runBatch(_ job: RemovalJob) throws {
        guard isFolder(output) else {
            printError("error: output folder '\(output)' does not exist (create it first)")
            throw ExitCode(1)
        }
        let images: [String]
        do { images = try listImages(input) } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        guard !images.isEmpty else {
            printError("error: no .png, .jpg or .jpeg files in '\(input)'")
            throw ExitCode(1)
        }
        let maskFolder = isFolder(mask)
        let masks = maskFolder ? ((try? listImages(mask)) ?? []) : []
        let bar = ProgressBar(total: images.count, label: "remove", unit: "img", mode: .logLines)
        var ok = 0, empty = 0, failed: [String] = []
        let start = Date()
        for path in images {
            let name = (path as NSString).lastPathComponent
            let stem = (name as NSString).deletingPathExtension
            let out = (output as NSString).appendingPathComponent(stem + "." + (format == "jpeg" ? "jpg" : format))
            do {
                let maskPath: String
                if maskFolder {
                    guard let m = masks.first(where: { (($0 as NSString).lastPathComponent as NSString).deletingPathExtension == stem }) else {
                        throw ImagingError.unreadable(path: (mask as NSString).appendingPathComponent(stem + ".png"), reason: "no mask named '\(stem).*' for '\(name)'")
                    }
                    maskPath = m
                } else {
                    maskPath = mask
                }
                switch try job.run(image: path, mask: maskPath, output: out) {
                case .removed: ok += 1
                case .emptyMask:
                    empty += 1
                    bar.message("warning: the mask for '\(name)' masks no pixel; wrote it unchanged")
                }
                bar.step(note: name)
            } catch {
                failed.append(name)
                bar.message("error: \(error)")
                bar.step(note: "\(name) failed")
            }
        }
        let seconds = Date().timeIntervalSince(start)
        var summary = "done: \(ok + empty) of \(images.count) written to '\(output)' in \(String(format: "%.1f", seconds)) s"
        if empty > 0 { summary += "; \(empty) with empty masks copied unchanged" }
        if !failed.isEmpty { summary += "; \(failed.count) failed: \(failed.prefix(10).joined(separator: ", "))\(failed.count > 10 ? ", ..." : "")" }
        printError(summary)
        if !failed.isEmpty { throw ExitCode(1) }
    }
}

/// A classical remover by name, or a learned one from its checkpoint.
func makeRemover(_ name: String, checkpoint: String?, options: [String: Double]) throws -> any Remover {
    if LearnedRemovers.names.contains(name.lowercased()) {
        guard let checkpoint else { throw ValidationError("--method \(name) needs --checkpoint PATH (a .safetensors file)") }
        guard options.isEmpty else { throw ValidationError("--opt does not apply to \(name); its settings are in the checkpoint") }
        return try LearnedRemovers.make(name, path: checkpoint)
    }
    if checkpoint != nil { throw ValidationError("--checkpoint applies only to learned methods (\(LearnedRemovers.names.joined(separator: ", ")))") }
    return try Removers.make(name, options: options)
}

/// Parses `KEY=VALUE` option strings into numbers.
func parseOptions(_ list: [String]) throws -> [String: Double] {
    var result: [String: Double] = [:]
    for item in list {
        let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, let value = Double(parts[1]) else {
            throw ValidationError("option '\(item)' must look like key=number")
        }
        result[parts[0]] = value
    }
    return result
}

func isFolder(_ path: String) -> Bool {
    var isDir: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
}

/// Image files in a folder (not recursive), sorted by name.
func listImages(_ folder: String) throws -> [String] {
    let names = try FileManager.default.contentsOfDirectory(atPath: folder)
    return names.filter { !$0.hasPrefix(".") && ImageIO.imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) }
        .sorted()
        .map { (folder as NSString).appendingPathComponent($0) }
}
