#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HearthCrypto

extension ChunkStore {
    /// Writes an object to `path`, byte-identical to what was stored.
    ///
    /// The bytes go to a temporary file beside the target, are fsynced and checked against
    /// `expectedID`, then linked into place; an existing file at `path` is never replaced
    /// (`.targetExists`), and a failure leaves no partial file behind.
    public func export(chunks: [Hash256], expectedID: Hash256, to path: String) throws {
        if FileIO.exists(path) {
            throw ChunkStoreError(.targetExists, "\(path) already exists; export never overwrites files")
        }
        let dir = FileIO.parent(of: path)
        let temp = dir + "/." + FileIO.basename(of: path) + "." + String(expectedID.hex.prefix(16)) + ".partial"
        // A leftover with this exact name is a crashed export of the same object.
        if FileIO.exists(temp) { unlink(temp) }
        let fd: Int32
        do {
            fd = try FileIO.openFile(temp, O_WRONLY | O_CREAT | O_EXCL, action: "creating")
        } catch let e as ChunkStoreError {
            throw ChunkStoreError(e.code, "cannot export to \(path): \(e.message)")
        }
        var linked = false
        defer {
            close(fd)
            if !linked { unlink(temp) }
        }
        var hasher = Blake2b()
        for id in chunks {
            let bytes = try readChunk(id)
            hasher.update(bytes)
            try bytes.withUnsafeBytes { try FileIO.writeAll(fd, $0, path: temp) }
        }
        let actual = hasher.finalize256()
        guard actual == expectedID else {
            throw ChunkStoreError(.objectMismatch, "\(path): the \(chunks.count) chunks make an object with id \(actual.hex), not \(expectedID.hex); the catalog's chunk list is wrong")
        }
        try FileIO.sync(fd, path: temp)
        try place(temp, at: path)
        linked = true
        try FileIO.fsyncDirectory(dir)
    }

    /// Moves `temp` to `path` without ever replacing a file at `path`: `link` fails if the
    /// name is taken. Filesystems without hard links get a check-then-rename.
    private func place(_ temp: String, at path: String) throws {
        if link(temp, path) == 0 {
            unlink(temp)
            return
        }
        let err = errno
        if err == EEXIST {
            throw ChunkStoreError(.targetExists, "\(path) already exists; export never overwrites files")
        }
        guard err == EPERM || err == ENOTSUP || err == EOPNOTSUPP || err == EXDEV else {
            throw ChunkStoreError.posix(err, "creating", path)
        }
        if FileIO.exists(path) {
            throw ChunkStoreError(.targetExists, "\(path) already exists; export never overwrites files")
        }
        guard rename(temp, path) == 0 else { throw ChunkStoreError.posix(errno, "renaming into", path) }
    }

    /// An object's bytes in memory, checked against `expectedID` (for thumbnails and previews).
    public func readObject(chunks: [Hash256], expectedID: Hash256) throws -> [UInt8] {
        var out: [UInt8] = []
        var hasher = Blake2b()
        for id in chunks {
            let bytes = try readChunk(id)
            hasher.update(bytes)
            out += bytes
        }
        let actual = hasher.finalize256()
        guard actual == expectedID else {
            throw ChunkStoreError(.objectMismatch, "object \(expectedID.hex): its \(chunks.count) chunks hash to \(actual.hex); the catalog's chunk list is wrong")
        }
        return out
    }
}
