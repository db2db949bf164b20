import Foundation
import Tensor

/// A file written under a temporary name in its destination's folder and renamed into place by `commit`, after
/// an fsync of the file and then of the folder; until then (and if the writer is dropped without `commit`) the
/// destination is untouched and the temporary file is removed. So nothing saved is ever half-written.
public final class AtomicFile {
    /// The destination path.
    public let path: String
    /// The temporary path being written.
    public let temporaryPath: String
    /// Bytes written so far (the current end of the file).
    public private(set) var written = 0
    private var fd: Int32
    private let label: String

    /// Creates the temporary file beside `path`.
    public init(path: String) throws {
        self.path = path
        label = "write '\(path)'"
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        var fd: Int32 = -1
        var tmp = ""
        for attempt in 0..<16 {
            tmp = folder + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(attempt)"
            fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else { throw TensorError(label, "cannot create a temporary file in '\(folder)' (\(String(cString: strerror(errno))))") }
        self.fd = fd
        temporaryPath = tmp
    }

    deinit {
        if fd >= 0 {
            close(fd)
            unlink(temporaryPath)
        }
    }

    /// Appends `bytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try write(bytes, at: written)
        written += bytes.count
    }

    /// Appends the bytes of `array`.
    public func write(_ array: [UInt8]) throws { try array.withUnsafeBytes { try write($0) } }

    /// Writes `bytes` at `offset` without moving the end (patching a header already written).
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        guard fd >= 0 else { throw TensorError(label, "already committed") }
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw TensorError(label, "write failed after \(offset + done) bytes (\(String(cString: strerror(errno))))")
            }
            done += n
        }
    }

    /// Flushes the file to disk, renames it over the destination and flushes the folder.
    public func commit() throws {
        guard fd >= 0 else { throw TensorError(label, "already committed") }
        guard fsync(fd) == 0 else { throw TensorError(label, "fsync failed (\(String(cString: strerror(errno))))") }
        close(fd)
        fd = -1
        guard rename(temporaryPath, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporaryPath)
            throw TensorError(label, "cannot rename the temporary file into place (\(reason))")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let dfd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }
}
