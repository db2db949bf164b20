import Foundation
import Tensor

/// A whole file mapped read-only into memory (or bytes held in memory, for tests), with bounds-checked access.
///
/// Tensors that view a checkpoint keep this object alive as their storage owner, so the mapping lasts as long as
/// any view of it. Nothing is read until a page is touched.
public final class MappedFile: @unchecked Sendable {
    /// How errors name the file, e.g. `safetensors 'unet.safetensors'`.
    public let label: String
    /// Start of the bytes (16-byte aligned; page aligned for a mapping).
    public let base: UnsafeRawPointer
    /// Number of bytes.
    public let count: Int
    private let release: () -> Void
    /// Whether `base` is a file mapping (pages can be dropped and read again from the file).
    private let isMapping: Bool

    /// Maps the file at `path`; `label` names it in errors (default: the path in quotes).
    public init(path: String, label: String? = nil) throws {
        let label = label ?? "'\(path)'"
        self.label = label
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw TensorError(label, "cannot open (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw TensorError(label, "cannot stat (\(String(cString: strerror(errno))))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw TensorError(label, "is not a regular file") }
        let size = Int(st.st_size)
        count = size
        if size == 0 {
            let p = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 16)
            base = UnsafeRawPointer(p)
            release = { p.deallocate() }
            isMapping = false
            return
        }
        guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
            throw TensorError(label, "cannot map \(size) bytes (\(String(cString: strerror(errno))))")
        }
        base = UnsafeRawPointer(map)
        release = { munmap(map, size) }
        isMapping = true
    }

    /// Holds a copy of `bytes` (16-byte aligned); `label` names them in errors.
    public init(bytes: [UInt8], label: String) {
        self.label = label
        count = bytes.count
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 16), alignment: 16)
        bytes.withUnsafeBytes { if let b = $0.baseAddress { p.copyMemory(from: b, byteCount: bytes.count) } }
        base = UnsafeRawPointer(p)
        release = { p.deallocate() }
        isMapping = false
    }

    deinit { release() }

    /// Asks the kernel to start reading the whole file in the background (`MADV_WILLNEED`), for a caller that will
    /// use every tensor; the pages still count as cache until touched.
    public func prefetch() {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = UnsafeMutableRawPointer(mutating: base)
        if count > 0, Int(bitPattern: start) % page == 0 { _ = madvise(start, count, MADV_WILLNEED) }
    }

    /// Drops the whole pages inside `count` bytes at `start` from this process's resident set (`MADV_DONTNEED`)
    /// once a loader has converted them into a tensor of its own: the mapping is read-only and private, so a later
    /// read gets the same bytes from the file again. Without it, loading an fp16 file as float32 would hold the
    /// file's pages and the converted copy at once. Does nothing for bytes held in memory.
    public func dropPages(_ start: UnsafeRawPointer, count n: Int) {
        guard isMapping, n > 0, start >= base, start + n <= base + count else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = (Int(bitPattern: start) + page - 1) / page * page
        let end = (Int(bitPattern: start) + n) / page * page
        guard end > first, let p = UnsafeMutableRawPointer(bitPattern: first) else { return }
        _ = madvise(p, end - first, MADV_DONTNEED)
    }

    /// Whether `count` bytes from `offset` lie inside the file (overflow-safe).
    public func contains(offset: Int, count n: Int) -> Bool {
        offset >= 0 && n >= 0 && offset <= count && n <= count - offset
    }

    /// The `count` bytes at `offset`; throws naming `what` when they run past the end of the file.
    public func bytes(at offset: Int, count n: Int, _ what: @autoclosure () -> String) throws -> UnsafeRawBufferPointer {
        guard contains(offset: offset, count: n) else {
            throw TensorError(label, "\(what()) (\(n) bytes at offset \(offset)) runs past the end of the file (\(count) bytes)")
        }
        return UnsafeRawBufferPointer(start: base + offset, count: n)
    }

    /// A little-endian integer at `offset` (bounds-checked).
    func integer<T: FixedWidthInteger>(_ type: T.Type, at offset: Int, _ what: @autoclosure () -> String) throws -> T {
        let b = try bytes(at: offset, count: MemoryLayout<T>.size, what())
        return T(littleEndian: b.loadUnaligned(as: T.self))
    }
}
