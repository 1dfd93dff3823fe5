#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HearthCrypto

/// Splits an object into FastCDC chunks while hashing the whole object and each chunk, in
/// one pass over the bytes.
///
/// Files are read in large blocks into one reusable buffer, so memory stays bounded for a
/// 4 GB video. The buffer always holds at least `FastCDC.maxSize` bytes past the current
/// chunk start (or the end of the file), which is what `FastCDC.cutPoint` needs; leftover
/// bytes are moved to the front before each refill. Not thread-safe: one scan at a time.
public final class ChunkScanner {
    /// 32 MiB: a refill moves at most 8 MiB (one maximal chunk) and reads at least 24 MiB.
    static let bufferSize = 32 * 1024 * 1024
    private let buffer: UnsafeMutableRawPointer

    public init() {
        buffer = UnsafeMutableRawPointer.allocate(byteCount: Self.bufferSize, alignment: 64)
    }

    deinit { buffer.deallocate() }

    /// Object id, size and chunk ids of a file, without storing anything.
    public func scan(fileAt path: String, progress: ((UInt64) -> Void)? = nil) throws -> StoredObject {
        try scanFile(path, progress: progress) { _, _ in false }
    }

    /// Object id, size and chunk ids of a buffer, without storing anything.
    public static func scan(bytes: [UInt8]) -> StoredObject {
        bytes.withUnsafeBytes { raw in scanBuffer(raw) { _, _ in false } }
    }

    /// Reads `path` and calls `onChunk` with each chunk's id and bytes, in order.
    /// `newBytes`/`newChunks` of the result count the chunks for which `onChunk` returned true.
    func scanFile(_ path: String, progress: ((UInt64) -> Void)?, observe: ((UnsafeRawBufferPointer) -> Void)? = nil,
                  onChunk: (Hash256, UnsafeRawBufferPointer) throws -> Bool) throws -> StoredObject {
        let fd = try FileIO.openFile(path, O_RDONLY)
        defer { close(fd) }
        #if os(Linux)
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        #endif
        var acc = Accumulator()
        var start = 0, end = 0, eof = false
        while true {
            if !eof && end - start < FastCDC.maxSize {
                if start > 0 {
                    if end > start { buffer.copyMemory(from: buffer + start, byteCount: end - start) }
                    end -= start
                    start = 0
                }
                let n = try FileIO.readFull(fd, buffer + end, count: Self.bufferSize - end, path: path)
                end += n
                eof = end < Self.bufferSize
            }
            if start == end { break }
            let window = UnsafeRawBufferPointer(start: buffer + start, count: end - start)
            let len = FastCDC.cutPoint(window)
            let chunk = UnsafeRawBufferPointer(rebasing: window[..<len])
            let wholeObject = eof && acc.size == 0 && len == end - start
            observe?(chunk)
            try acc.add(chunk, isWholeObject: wholeObject, onChunk)
            start += len
            progress?(acc.size)
        }
        return acc.finish()
    }

    /// Same as `scanFile` for bytes already in memory.
    static func scanBuffer(_ data: UnsafeRawBufferPointer,
                           onChunk: (Hash256, UnsafeRawBufferPointer) throws -> Bool) rethrows -> StoredObject {
        var acc = Accumulator()
        var start = 0
        while start < data.count {
            let window = UnsafeRawBufferPointer(rebasing: data[start...])
            let len = FastCDC.cutPoint(window)
            try acc.add(UnsafeRawBufferPointer(rebasing: window[..<len]), isWholeObject: len == data.count, onChunk)
            start += len
        }
        return acc.finish()
    }
}

/// Running totals of one scan. An object that is a single chunk is hashed once: its
/// chunk id is its object id.
private struct Accumulator: ~Copyable {
    var hasher = Blake2b()
    var size: UInt64 = 0
    var chunks: [Hash256] = []
    var newBytes: UInt64 = 0
    var newChunks = 0
    var singleChunkID: Hash256?

    mutating func add(_ chunk: UnsafeRawBufferPointer, isWholeObject: Bool,
                      _ onChunk: (Hash256, UnsafeRawBufferPointer) throws -> Bool) rethrows {
        let id = Blake2b.hash256(chunk)
        if isWholeObject { singleChunkID = id } else { hasher.update(chunk) }
        if try onChunk(id, chunk) {
            newBytes += UInt64(chunk.count)
            newChunks += 1
        }
        chunks.append(id)
        size += UInt64(chunk.count)
    }

    consuming func finish() -> StoredObject {
        let single = singleChunkID
        let h = hasher
        let whole = h.finalize256()
        let id = single ?? whole
        return StoredObject(id: id, size: size, chunks: chunks, newBytes: newBytes, newChunks: newChunks)
    }
}
