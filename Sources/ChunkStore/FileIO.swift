#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin POSIX wrappers that retry on EINTR, finish short transfers, and turn errno into
/// a `ChunkStoreError` naming the file.
enum FileIO {
    static func openFile(_ path: String, _ flags: Int32, mode: mode_t = 0o644, action: String = "opening") throws -> Int32 {
        while true {
            let fd = open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            throw ChunkStoreError.posix(errno, action, path)
        }
    }

    /// Writes all of `data` at `offset`.
    static func pwriteAll(_ fd: Int32, _ data: UnsafeRawBufferPointer, at offset: Int64, path: String) throws {
        var done = 0
        while done < data.count {
            let n = pwrite(fd, data.baseAddress! + done, data.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw ChunkStoreError.posix(errno, "writing", path)
            }
            if n == 0 { throw ChunkStoreError(.io, "\(path): write made no progress") }
            done += n
        }
    }

    /// Writes all of `data` at the current position.
    static func writeAll(_ fd: Int32, _ data: UnsafeRawBufferPointer, path: String) throws {
        var done = 0
        while done < data.count {
            let n = write(fd, data.baseAddress! + done, data.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw ChunkStoreError.posix(errno, "writing", path)
            }
            if n == 0 { throw ChunkStoreError(.io, "\(path): write made no progress") }
            done += n
        }
    }

    /// Reads up to `count` bytes at `offset`; fewer only at end of file.
    static func preadFull(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, count: Int, at offset: Int64, path: String) throws -> Int {
        var done = 0
        while done < count {
            let n = pread(fd, buffer + done, count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw ChunkStoreError.posix(errno, "reading", path)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Reads until `count` bytes or end of file from the current position.
    static func readFull(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, count: Int, path: String) throws -> Int {
        var done = 0
        while done < count {
            let n = read(fd, buffer + done, count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw ChunkStoreError.posix(errno, "reading", path)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    static func sync(_ fd: Int32, path: String) throws {
        while fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw ChunkStoreError.posix(errno, "syncing", path)
        }
    }

    /// Makes a directory entry change (create, rename, unlink) durable.
    static func fsyncDirectory(_ path: String) throws {
        let fd = try openFile(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try sync(fd, path: path)
    }

    static func truncate(_ fd: Int32, to size: Int64, path: String) throws {
        while ftruncate(fd, off_t(size)) != 0 {
            if errno == EINTR { continue }
            throw ChunkStoreError.posix(errno, "truncating", path)
        }
    }

    static func size(_ fd: Int32, path: String) throws -> Int64 {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ChunkStoreError.posix(errno, "inspecting", path) }
        return Int64(st.st_size)
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw ChunkStoreError.posix(errno, "creating directory", path)
        }
    }

    /// Names in a directory, sorted, without "." and "..".
    static func list(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw ChunkStoreError.posix(errno, "listing", path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func basename(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
