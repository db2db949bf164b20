import Foundation
import Imaging
import Removal

/// One removal from files to a file, with every check the command line promises: readable inputs, matching sizes
/// (or an explicit resize), an existing output folder, and an atomic write so that a failure leaves no output.
struct RemovalJob {
    enum Outcome { case removed, emptyMask }

    let remover: any Remover
    var dilate = 0
    var resizeMask = false
    var quality = 95

    func run(image imagePath: String, mask maskPath: String, output: String) throws -> Outcome {
        guard ImageIO.Format.forPath(output) != nil else {
            throw ImagingError.unwritable(path: output, reason: "unknown extension; use .png, .jpg or .jpeg")
        }
        let folder = (output as NSString).deletingLastPathComponent
        guard isFolder(folder.isEmpty ? "." : folder) else {
            throw ImagingError.unwritable(path: output, reason: "folder '\(folder)' does not exist")
        }
        // A 16-bit PNG comes back as a 16-bit PNG: 16-bit samples survive the float pipeline exactly, so pixels
        // outside the mask keep their values.
        let (image, depth) = try ImageIO.loadKeepingDepth(imagePath)
        var mask = try ImageIO.loadMask(maskPath)
        if mask.width != image.width || mask.height != image.height {
            guard resizeMask else {
                throw ImagingError.sizeMismatch(what: "mask '\(maskPath)' size", expected: "\(image.width)x\(image.height) (the size of '\(imagePath)')",
                                                got: "\(mask.width)x\(mask.height); pass --resize-mask to resize it")
            }
            mask = try mask.resized(width: image.width, height: image.height)
        }
        if dilate > 0 { mask = try mask.dilated(radius: dilate) }
        if mask.isEmpty {
            if ImageIO.Format.forPath(imagePath) == ImageIO.Format.forPath(output) {
                try ImageIO.writeAtomically(try ImageIO.readFile(imagePath), to: output)
            } else {
                try ImageIO.save(image, to: output, quality: quality, bitDepth: depth)
            }
            return .emptyMask
        }
        let result = try remover.remove(image, mask: mask)
        try ImageIO.save(result, to: output, quality: quality, bitDepth: depth)
        return .removed
    }
}
