#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only open file with bounded positional reads (`pread`); closes on deinit.
final class FileSource {
    let path: String
    let size: Int64
    private let fd: Int32

    /// The name used in error messages: the last path component.
    var name: String { path.split(separator: "/").last.map(String.init) ?? path }

    init(path: String) throws(MediaError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        let shortName = path.split(separator: "/").last.map(String.init) ?? path
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw MediaError(.cannotOpen, "\(shortName): cannot open (\(reason))")
        }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw MediaError(.cannotOpen, "\(shortName): not a regular file")
        }
        self.fd = fd
        self.size = Int64(st.st_size)
    }

    deinit { close(fd) }

    /// Up to `count` bytes at `offset` (fewer at the end of the file, none past it).
    func read(at offset: Int64, count: Int) -> [UInt8] {
        guard offset >= 0, offset < size, count > 0 else { return [] }
        let n = Int(min(Int64(count), size - offset))
        var out = [UInt8](repeating: 0, count: n)
        var done = 0
        while done < n {
            let r = out.withUnsafeMutableBytes { buf in
                pread(fd, buf.baseAddress! + done, n - done, off_t(offset) + off_t(done))
            }
            if r < 0 && errno == EINTR { continue }
            guard r > 0 else { break }
            done += r
        }
        return done == n ? out : Array(out.prefix(done))
    }
}
