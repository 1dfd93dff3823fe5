import Catalog
import ChunkStore
import Foundation
import HearthCrypto
import Logging
import SyncEngine

/// One served library's stored bytes as a front end above the node (the HTTP API) reads them:
/// chunk by chunk, so an original is never held whole in memory, and — on a node whose storage
/// policy keeps no originals — fetched from a peer first, as `hearth export` does.
///
/// Inside `hearth serve` the chunks are read through the daemon's shared chunk store, which lets
/// go of the home's chunk lock while idle so CLI commands keep working beside it.
public final class LibraryObjects: @unchecked Sendable {
    public let node: HearthNode
    let source: any SyncChunkSource & Sendable

    /// Reads through the node's own chunk store (it holds the chunk lock from first use).
    public convenience init(node: HearthNode) throws {
        self.init(node: node, source: try node.chunks)
    }

    init(node: HearthNode, source: any SyncChunkSource & Sendable) {
        self.node = node
        self.source = source
    }

    /// A chunk's bytes, checked against its id; `.missingChunk` when this node does not hold it.
    public func readChunk(_ id: Hash256) throws -> [UInt8] {
        guard let bytes = try source.syncRead(id) else {
            throw ChunkStoreError(.missingChunk, "chunk \(id.hex) is not stored on this node")
        }
        return bytes
    }

    /// The ids among `ids` this node does not hold.
    public func missing(of ids: [Hash256]) throws -> [Hash256] { try source.syncMissing(ids) }

    /// Fetches the chunks this node lacks of `wanted` from the library's peers.
    public func fetch(_ wanted: [Hash256], logger: Logger) async throws {
        let missing = try missing(of: wanted)
        guard !missing.isEmpty else { return }
        let results = try await node.syncOnce(peer: nil, logger: logger, extraChunks: missing, chunkSource: source)
        let still = try self.missing(of: missing)
        guard still.isEmpty else {
            let why = results.compactMap { r in r.error.map { "\(r.address): \($0)" } }.joined(separator: "; ")
            throw NodeError(.network, "\(still.count) of \(missing.count) chunks could not be fetched from any peer"
                            + (why.isEmpty ? " (no peer holds them)" : " (\(why))"))
        }
    }
}

/// Work that runs beside the sync listener of `hearth serve` (the HTTP API): started once the
/// listener is up, asked to finish in-flight work on SIGINT/SIGTERM before the daemon stops.
public protocol DaemonCompanion: Sendable {
    /// Runs until `shutdown()` has been called and its work has finished; throwing stops the daemon.
    func run(_ daemon: Daemon) async throws
    /// Asks `run` to finish gracefully.
    func shutdown() async
}
