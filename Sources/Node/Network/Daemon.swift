import Catalog
import Foundation
import HearthCrypto
import Jobs
import Logging
import Synchronization
import SyncEngine
import Transport

/// `hearth serve`: serves every library of the node on one port, keeps a connection to every
/// known peer of every library, and pushes changes.
///
/// - One listener for all libraries: a peer's Hello names the library it wants and the session
///   runs against that library's catalog and chunk store (a device that is a member of none of
///   them is dropped before Hello; one asking for a library it is not a member of, after).
/// - Changes made by any process on this home (a `hearth describe` beside the daemon) are found
///   by polling each catalog's version vector every `pollInterval` and announced to every open
///   session, which sends a Summary; peers pull within a second.
/// - Known peers (each library's `peers` with an address) are dialled and redialled with
///   exponential backoff (1 s doubling to 30 s) whenever their connection ends; a peer already
///   connected inbound for that library is not dialled.
/// - Every session, inbound or outbound, tells the peer which port this daemon listens on
///   (SPEC "Listening"), so a member that only ever saw this device connect inbound (it joined
///   by ticket) can dial it later; addresses peers announce become their dialable addresses.
/// - The periodic work runs as jobs of a `JobRunner` (`jobs.status()` tells what ran).
/// - SIGINT and SIGTERM stop it cleanly. Libraries added while it runs are served after a restart.
public final class Daemon: Sendable {
    /// One library as the daemon serves it.
    struct Served: Sendable {
        let node: HearthNode
        let chunks: DaemonChunkStore
    }

    let home: Home
    let libraries: [Served]
    let logger: Logger
    let hub = SyncHub()
    let pollInterval: Duration
    /// Whether `run` gives assets without a SHA-1 theirs (a level 3 change: off while a
    /// release-6847644 peer must keep receiving this node's batches, `hearth serve --for-older-peers`).
    public let backfillsChecksums: Bool
    /// The daemon's background work: change announcements, dialling, one task per peer connection.
    public let jobs = JobRunner()
    /// Sessions open per library and device ("library/device"), and dial tasks in progress.
    private let state = Mutex<(connected: [String: Int], dialling: Set<String>)>(([:], []))
    /// Each library's version vector at the last poll.
    private let seen = Mutex<[String: VersionVector]>([:])

    /// Opens every library of the node in `home` (upgrading an older home first).
    public init(home: Home, logger: Logger, pollInterval: Duration = .milliseconds(200), backfillsChecksums: Bool = true) throws {
        self.backfillsChecksums = backfillsChecksums
        let config = try HomeLayout.loadUpgrading(home)
        guard !config.libraries.isEmpty else {
            throw NodeError(.notFound, "this node holds no library to serve: run `hearth init` or `hearth join TICKET`")
        }
        let identity = try home.loadIdentity()
        self.home = home
        self.libraries = try config.libraries.map { lib in
            Served(node: try HearthNode.open(home: home, config: config, identity: identity, library: lib),
                   chunks: DaemonChunkStore(home: home, library: lib.id))
        }
        self.logger = logger
        self.pollInterval = pollInterval
    }

    /// Serves until SIGINT/SIGTERM. Writes the bound port to `portFile` (atomically) once listening.
    /// - Parameter announce: more addresses peers should try (a forwarded port, a DNS name), told
    ///   to every peer before the listening address itself.
    /// - Parameter companion: work run beside the listener (the HTTP API), started once it listens and
    ///   shut down gracefully first on SIGINT/SIGTERM; its failure stops the daemon with its error.
    public func run(listen: PeerEndpoint, portFile: String?, announce: [PeerEndpoint] = [],
                    companion: (any DaemonCompanion)? = nil) async throws {
        // Peers learn where to dial us from every session, inbound or outbound (SPEC "Listening").
        // The announced addresses, then the listening one when a peer could dial it as written.
        func addresses(_ ep: PeerEndpoint) -> [String] {
            announce.map(\.description) + (Self.wildcardHosts.contains(ep.host) || ep.port == 0 ? [] : [ep.description])
        }
        func contexts(port: Int, addresses: [String]) throws -> [String: SyncContext] {
            var out: [String: SyncContext] = [:]
            for lib in libraries {
                var ctx = try lib.node.syncContext(chunks: lib.chunks, logger: logger)
                let library = lib.node.libraryID
                ctx.observer = { [self] report in self.observe(report, library: lib) }
                ctx.pairingHook = pairingHook()
                ctx.listenPort = port
                ctx.listenAddresses = addresses
                out[library] = ctx
            }
            return out
        }
        // The server's own context answers until a Hello names a library: it admits members of
        // any library served here, and pairs joiners for whichever library their ticket is for.
        func serverContext(_ byLibrary: [String: SyncContext]) -> SyncContext {
            var base = byLibrary[libraries[0].node.libraryID]!
            let members = libraries.map(\.node.catalog)
            base.isMember = { device in members.contains { (try? $0.syncIsMember(device)) ?? false } }
            base.libraries = { id in byLibrary[id.hex] }
            return base
        }
        // The server announces the port it binds (0 stands for it until then).
        let server: SyncServer
        do {
            server = try await SyncServer.start(host: listen.host, port: listen.port,
                                                context: serverContext(try contexts(port: 0, addresses: addresses(listen))), hub: hub)
        } catch let e as NodeError {
            throw e
        } catch {
            throw NodeError(.network, "cannot listen on \(listen): \(error)")
        }
        let bound = PeerEndpoint(host: listen.host, port: server.port)
        let dialContexts = try contexts(port: server.port, addresses: addresses(bound))
        try libraries[0].node.updateConfig { $0.listen = bound.description }
        if let portFile {
            let tmp = portFile + ".tmp"
            guard FileManager.default.createFile(atPath: tmp, contents: Data("\(server.port)\n".utf8)),
                  rename(tmp, portFile) == 0 else {
                await server.stop()
                throw NodeError(.io, "cannot write the port file \(portFile)")
            }
        }
        logger.notice("serving", metadata: ["listen": "\(bound)", "device": "\(libraries[0].node.identity.deviceID.short)",
                                            "libraries": "\(libraries.map { $0.node.settings.name }.joined(separator: ","))"])
        let stop = AsyncStream<Int32>.makeStream()
        let signals = [SIGINT, SIGTERM].map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig)
            source.setEventHandler { stop.continuation.yield(sig) }
            source.resume()
            return source
        }
        for lib in libraries { seen.withLock { $0[lib.node.libraryID] = (try? lib.node.catalog.versionVector()) ?? VersionVector() } }
        jobs.every("announce local changes", pollInterval) { [self] in try self.announceLocalChanges() }
        jobs.every("dial peers", .seconds(2)) { [self] in self.dialPeers(dialContexts) }
        if backfillsChecksums { jobs.launch("backfill checksums") { [self] in await self.backfillChecksums() } }
        let work = Task { await jobs.run() }
        let companionFailure = FirstError()
        let besides = companion.map { c in
            Task { [self] in
                do { try await c.run(self) } catch {
                    companionFailure.set(error)
                    stop.continuation.yield(0)
                }
            }
        }
        var it = stop.stream.makeAsyncIterator()
        let sig = await it.next() ?? SIGTERM
        logger.notice("stopping", metadata: ["signal": "\(sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "companion failed")"])
        if let companion, let besides {
            await companion.shutdown()
            await besides.value
        }
        work.cancel()
        await server.stop()
        await work.value
        signals.forEach { $0.cancel() }
        if let e = companionFailure.value { throw e }
    }

    /// Every served library with its stored bytes read through the daemon's shared chunk store.
    public var servedLibraries: [LibraryObjects] {
        libraries.map { LibraryObjects(node: $0.node, source: $0.chunks) }
    }

    /// Sync sessions open now, over every library (a device connected twice counts twice).
    public var connectedPeerCount: Int {
        state.withLock { $0.connected.values.reduce(0) { $0 + max(0, $1) } }
    }

    /// Gives assets imported before SHA-1s were recorded their SHA-1 (see
    /// `HearthNode.backfillChecksums`), on a thread of its own, reading through the daemon's
    /// shared chunk stores.
    func backfillChecksums() async {
        for lib in libraries {
            let r: Result<ChecksumBackfill, any Error> = await withCheckedContinuation { done in
                Thread.detachNewThread {
                    done.resume(returning: Result { try lib.node.backfillChecksums(source: lib.chunks) })
                }
            }
            switch r {
            case .success(let b) where b.updated > 0 || b.failed > 0:
                logger.notice("checksums backfilled", metadata: ["library": "\(lib.node.settings.name)", "updated": "\(b.updated)",
                                                                "notLocal": "\(b.notLocal)", "failed": "\(b.failed)"])
            case .success: break
            case .failure(let e):
                logger.warning("checksum backfill failed", metadata: ["library": "\(lib.node.settings.name)", "error": "\(e)"])
            }
        }
    }

    /// Announces local commits (from any process) and lets go of idle chunk stores.
    func announceLocalChanges() throws {
        var changed = false
        for lib in libraries {
            lib.chunks.releaseIfIdle()
            let v = try lib.node.catalog.versionVector()
            let id = lib.node.libraryID
            if seen.withLock({ s in
                guard s[id] != v else { return false }
                s[id] = v
                return true
            }) { changed = true }
        }
        if changed { hub.announceLocalChange() }
    }

    /// Starts a connection task for every known peer of every library that is neither connected nor being dialled.
    func dialPeers(_ contexts: [String: SyncContext]) {
        for lib in libraries {
            try? lib.node.reloadConfig()
            let id = lib.node.libraryID
            guard let ctx = contexts[id] else { continue }
            for peer in lib.node.dialablePeers {
                let key = "\(id)/\(peer.device)"
                let start = state.withLock { s in
                    guard s.connected[key, default: 0] == 0, !s.dialling.contains(key) else { return false }
                    s.dialling.insert(key)
                    return true
                }
                if start {
                    jobs.launch("connection \(lib.node.settings.name)/\(peer.device.prefix(7))") { [self] in
                        await self.keepConnected(key, peer.device, peer.endpoints, ctx)
                    }
                }
            }
        }
    }

    /// Dials one peer of one library until the daemon stops, backing off while it is unreachable.
    func keepConnected(_ key: String, _ device: String, _ endpoints: [PeerEndpoint], _ ctx: SyncContext) async {
        defer { _ = state.withLock { $0.dialling.remove(key) } }
        var backoff = Duration.seconds(1)
        while !Task.isCancelled {
            if state.withLock({ $0.connected[key, default: 0] > 0 }) { return } // it dialled us
            for ep in endpoints {
                let start = ContinuousClock.now
                do {
                    _ = try await SyncClient.stayConnected(host: ep.host, port: ep.port, context: ctx, hub: hub)
                } catch {
                    logger.info("peer unreachable or disconnected", metadata: ["peer": "\(device.prefix(7))",
                                                                                "address": "\(ep)", "reason": "\(error)"])
                }
                if ContinuousClock.now - start > .seconds(10) { backoff = .seconds(1) }
            }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(30))
        }
    }

    /// One pairing hook for the node: tickets live in one book; each admits to the library it
    /// was issued for (`ticket-libraries.json`; a ticket missing there admits to the default library).
    func pairingHook() -> PairingHook {
        let hooks = Dictionary(uniqueKeysWithValues: libraries.map { ($0.node.libraryID, $0.node.pairingHook()) })
        let home = home, first = libraries[0].node.libraryID
        let fallback: @Sendable () -> String = { (try? NodeConfig.load(home))?.defaultLibrary ?? first }
        return PairingHook(
            lookup: { id in hooks[first]!.lookup(id) },
            admit: { id, key, name in
                let library = TicketLibraries.load(home)[Hex.encode(id)] ?? fallback()
                guard let hook = hooks[library] else {
                    throw SyncError(.pairingRefused, "the ticket is for library \(library), which this node no longer serves")
                }
                try hook.admit(id, key, name)
            })
    }

    /// Listen hosts that mean "every interface": not an address a peer could dial.
    static let wildcardHosts: Set<String> = ["0.0.0.0", "::", "*", ""]

    func observe(_ report: ConnectionReport, library lib: Served) {
        lib.node.record(report)
        let id = lib.node.libraryID
        switch report {
        case .connected(let device, _, _):
            state.withLock { $0.connected["\(id)/\(device.string)", default: 0] += 1 }
        case .ended(let device?, let address, _, let summary, let error):
            state.withLock { $0.connected["\(id)/\(device.string)", default: 1] -= 1 }
            if let damaged = summary?.chunksDamagedHere, !damaged.isEmpty {
                logger.warning("chunks failed their hash here and were not sent; set aside to be fetched again (hearth repair)",
                               metadata: ["peer": "\(device.short)", "count": "\(damaged.count)", "first": "\(damaged[0])"])
            }
            if let error { logger.info("session ended", metadata: ["peer": "\(device.short)", "address": "\(address)", "reason": "\(error)"]) }
        case .ended(nil, _, _, _, _):
            break // the server or the dialler logs why
        case .listening:
            break // recorded by the node
        }
    }
}

/// The first error a background task met, read after it ended.
final class FirstError: @unchecked Sendable {
    private let lock = NSLock()
    private var error: (any Error)?
    func set(_ e: any Error) { lock.withLock { if error == nil { error = e } } }
    var value: (any Error)? { lock.withLock { error } }
}
