import Tensor

/// The entries of a zip archive whose members are stored (not compressed), as `torch.save` writes them, read
/// from the central directory of a mapped file. ZIP64 records are followed; every offset and size is checked
/// against the file before use, so a damaged or hostile archive is an error naming the file and the entry.
public struct ZipArchive {
    /// One stored member: where its bytes start in the file and how many there are.
    public struct Entry: Hashable, Sendable {
        public let name: String
        public let offset: Int
        public let count: Int
    }

    /// The most members accepted.
    public static let maxEntries = 1 << 20

    /// Members by name.
    public let entries: [String: Entry]
    /// Member names in central-directory order.
    public let names: [String]

    /// Whether `file` starts like a zip archive (a local file header).
    public static func looksLikeZip(_ file: MappedFile) -> Bool {
        file.count >= 4 && (try? file.integer(UInt32.self, at: 0, "")) == 0x0403_4B50
    }

    /// Reads the central directory of `file`.
    public init(file: MappedFile) throws {
        let label = file.label
        // End of central directory: 22 bytes plus a comment of at most 65535, at the end of the file.
        guard file.count >= 22 else { throw TensorError(label, "is too short for a zip archive (\(file.count) bytes)") }
        var eocd = -1
        var p = file.count - 22
        let lowest = max(0, file.count - 22 - 0xFFFF)
        while p >= lowest {
            if try file.integer(UInt32.self, at: p, "zip end record") == 0x0605_4B50 { eocd = p; break }
            p -= 1
        }
        guard eocd >= 0 else { throw TensorError(label, "has no zip end-of-central-directory record") }
        var count = Int(try file.integer(UInt16.self, at: eocd + 10, "zip end record"))
        var cdSize = Int(try file.integer(UInt32.self, at: eocd + 12, "zip end record"))
        var cdOffset = Int(try file.integer(UInt32.self, at: eocd + 16, "zip end record"))
        if count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            // ZIP64 locator (20 bytes) just before the end record points at the ZIP64 end record.
            guard eocd >= 20, try file.integer(UInt32.self, at: eocd - 20, "zip64 locator") == 0x0706_4B50 else {
                throw TensorError(label, "zip end record needs ZIP64 but has no ZIP64 locator")
            }
            let z64 = try file.integer(UInt64.self, at: eocd - 12, "zip64 locator")
            guard z64 <= UInt64(file.count), try file.integer(UInt32.self, at: Int(z64), "zip64 end record") == 0x0606_4B50 else {
                throw TensorError(label, "zip64 end record offset \(z64) is invalid")
            }
            let r = Int(z64)
            let c64 = try file.integer(UInt64.self, at: r + 32, "zip64 end record")
            let s64 = try file.integer(UInt64.self, at: r + 40, "zip64 end record")
            let o64 = try file.integer(UInt64.self, at: r + 48, "zip64 end record")
            guard c64 <= UInt64(Self.maxEntries), s64 <= UInt64(file.count), o64 <= UInt64(file.count) else {
                throw TensorError(label, "zip64 end record has impossible sizes (\(c64) entries, \(s64) bytes at \(o64))")
            }
            (count, cdSize, cdOffset) = (Int(c64), Int(s64), Int(o64))
        }
        guard count <= Self.maxEntries else { throw TensorError(label, "zip archive lists \(count) entries (at most \(Self.maxEntries))") }
        guard file.contains(offset: cdOffset, count: cdSize) else {
            throw TensorError(label, "zip central directory (\(cdSize) bytes at \(cdOffset)) runs past the end of the file")
        }
        var entries: [String: Entry] = [:]
        var names: [String] = []
        var q = cdOffset
        let cdEnd = cdOffset + cdSize
        for i in 0..<count {
            guard q + 46 <= cdEnd, try file.integer(UInt32.self, at: q, "zip central directory") == 0x0201_4B50 else {
                throw TensorError(label, "zip central directory entry \(i) is damaged")
            }
            let flags = try file.integer(UInt16.self, at: q + 8, "zip entry")
            let method = try file.integer(UInt16.self, at: q + 10, "zip entry")
            var compressed = UInt64(try file.integer(UInt32.self, at: q + 20, "zip entry"))
            var size = UInt64(try file.integer(UInt32.self, at: q + 24, "zip entry"))
            let nameLength = Int(try file.integer(UInt16.self, at: q + 28, "zip entry"))
            let extraLength = Int(try file.integer(UInt16.self, at: q + 30, "zip entry"))
            let commentLength = Int(try file.integer(UInt16.self, at: q + 32, "zip entry"))
            var local = UInt64(try file.integer(UInt32.self, at: q + 42, "zip entry"))
            let next = q + 46 + nameLength + extraLength + commentLength
            guard next <= cdEnd else { throw TensorError(label, "zip central directory entry \(i) runs past the directory") }
            let nameBytes = try file.bytes(at: q + 46, count: nameLength, "zip entry name")
            guard let name = String(validating: nameBytes, as: UTF8.self) else {
                throw TensorError(label, "zip entry \(i) has a name that is not UTF-8")
            }
            // ZIP64 extra field: the 64-bit values of the fields saturated above, in this order.
            var e = q + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = try file.integer(UInt16.self, at: e, "zip extra field")
                let length = Int(try file.integer(UInt16.self, at: e + 2, "zip extra field"))
                guard e + 4 + length <= extraEnd else { throw TensorError(label, "zip entry '\(name)' has a damaged extra field") }
                if id == 0x0001 {
                    var f = e + 4
                    func next64() throws -> UInt64 {
                        guard f + 8 <= e + 4 + length else { throw TensorError(label, "zip entry '\(name)' has a short ZIP64 field") }
                        defer { f += 8 }
                        return try file.integer(UInt64.self, at: f, "zip64 field")
                    }
                    if size == 0xFFFF_FFFF { size = try next64() }
                    if compressed == 0xFFFF_FFFF { compressed = try next64() }
                    if local == 0xFFFF_FFFF { local = try next64() }
                }
                e += 4 + length
            }
            guard flags & 1 == 0 else { throw TensorError(label, "zip entry '\(name)' is encrypted") }
            guard method == 0, compressed == size else {
                throw TensorError(label, "zip entry '\(name)' is compressed (method \(method)); only stored entries are read")
            }
            guard local <= UInt64(file.count), size <= UInt64(file.count) else {
                throw TensorError(label, "zip entry '\(name)' has offset \(local) or size \(size) past the end of the file")
            }
            let lo = Int(local)
            guard try file.integer(UInt32.self, at: lo, "zip local header of '\(name)'") == 0x0403_4B50 else {
                throw TensorError(label, "zip entry '\(name)' does not point at a local header")
            }
            let localName = Int(try file.integer(UInt16.self, at: lo + 26, "zip local header"))
            let localExtra = Int(try file.integer(UInt16.self, at: lo + 28, "zip local header"))
            let start = lo + 30 + localName + localExtra
            guard file.contains(offset: start, count: Int(size)) else {
                throw TensorError(label, "zip entry '\(name)' (\(size) bytes at \(start)) runs past the end of the file")
            }
            guard entries[name] == nil else { throw TensorError(label, "zip archive has two entries named '\(name)'") }
            entries[name] = Entry(name: name, offset: start, count: Int(size))
            names.append(name)
            q = next
        }
        self.entries = entries
        self.names = names
    }
}
