#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every failure of the chunk store, with a message that names the file, chunk or pack.
///
/// A failed operation leaves the store consistent: what was committed before stays readable,
/// and what was being written is either fully indexed or not indexed at all.
public struct ChunkStoreError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        /// A file to import (or a pack) could not be opened or read.
        case unreadable
        /// The operating system refused access (EACCES, EPERM, EROFS).
        case permissionDenied
        /// The disk (or quota) is full (ENOSPC, EDQUOT, SQLITE_FULL).
        case diskFull
        /// A chunk is not in the store.
        case missingChunk
        /// Stored bytes no longer hash to their id, or a pack record is damaged.
        case corrupt
        /// Bytes offered for a chunk id do not hash to that id.
        case hashMismatch
        /// A chunk is longer than `FastCDC.maxSize`.
        case tooLarge
        /// An export target already exists; the store never overwrites files.
        case targetExists
        /// The exported bytes do not hash to the expected object id.
        case objectMismatch
        /// A pack file has a wrong magic number or an unknown version.
        case badPack
        /// Another `ChunkStore` (in this or another process) has the directory open.
        case busy
        /// The index database failed.
        case database
        /// The index was written by a newer Hearth (it has migrations this binary does not know).
        case newerSchema
        /// Any other I/O failure.
        case io
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// Maps an errno after a failed system call to a code and a message naming `path`.
    static func posix(_ err: Int32, _ action: String, _ path: String) -> ChunkStoreError {
        let reason = String(cString: strerror(err))
        switch err {
        case EACCES, EPERM, EROFS:
            return ChunkStoreError(.permissionDenied, "\(path): permission denied while \(action) (\(reason))")
        case ENOSPC, EDQUOT:
            return ChunkStoreError(.diskFull, "\(path): disk full while \(action) (\(reason)); free some space and retry")
        case ENOENT, EISDIR, ENOTDIR:
            return ChunkStoreError(.unreadable, "\(path): \(reason.lowercased()) (while \(action))")
        default:
            return ChunkStoreError(.io, "\(path): \(action) failed (\(reason))")
        }
    }
}
