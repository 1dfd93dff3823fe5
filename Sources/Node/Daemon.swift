import Catalog
import Foundation
import HearthCrypto
import Logging
import Synchronization
import SyncEngine
import Transport

/// `hearth serve`: accepts peers, keeps a connection to every known peer, and pushes changes.
///
/// - Changes made by any process on this home (a `hearth describe` beside the daemon) are found
///   by polling the catalog's version vector every `pollInterval` and announced to every open
///   session, which sends a Summary; peers pull within a second.
/// - Known peers (`config.peers` with an address) are dialled and redialled with exponential
///   backoff (1 s doubling to 30 s) whenever their connection ends; a peer already connected
///   inbound is not dialled.
/// - Every session, inbound or outbound, tells the peer which port this daemon listens on
///   (SPEC "Listening"), so a member that only ever saw this device connect inbound (it joined
///   by ticket) can dial it later; addresses peers announce become their dialable addresses.
/// - SIGINT and SIGTERM stop it cleanly.
public final class Daemon: Sendable {
    let node: HearthNode
    let logger: Logger
    let chunks: DaemonChunkStore
    let hub = SyncHub()
    let pollInterval: Duration
    /// Devices with an open session, and dial tasks in progress, by device id.
    private let state = Mutex<(connected: [String: Int], dialling: Set<String>)>(([:], []))

    public init(node: HearthNode, logger: Logger, pollInterval: Duration = .milliseconds(200)) {
        self.node = node
        self.logger = logger
        self.chunks = DaemonChunkStore(home: node.home)
        self.pollInterval = pollInterval
    }

    /// Serves until SIGINT/SIGTERM. Writes the bound port to `portFile` (atomically) once listening.
    /// - Parameter announce: more addresses peers should try (a forwarded port, a DNS name), told
    ///   to every peer before the listening address itself.
    public func run(listen: PeerEndpoint, portFile: String?, announce: [PeerEndpoint] = []) async throws {
        var ctx = try node.syncContext(chunks: chunks, logger: logger)
        ctx.pairingHook = node.pairingHook()
        ctx.observer = { [self] report in self.observe(report) }
        // Peers learn where to dial us from every session, inbound or outbound (SPEC "Listening").
        // The announced addresses, then the listening one when a peer could dial it as written.
        func addresses(_ ep: PeerEndpoint) -> [String] {
            announce.map(\.description) + (Self.wildcardHosts.contains(ep.host) || ep.port == 0 ? [] : [ep.description])
        }
        ctx.listenPort = 0 // the server announces the port it binds
        ctx.listenAddresses = addresses(listen)
        let server: SyncServer
        do {
            server = try await SyncServer.start(host: listen.host, port: listen.port, context: ctx, hub: hub)
        } catch {
            throw NodeError(.network, "cannot listen on \(listen): \(error)")
        }
        let bound = PeerEndpoint(host: listen.host, port: server.port)
        ctx.listenPort = server.port
        ctx.listenAddresses = addresses(bound)
        try node.updateConfig { $0.listen = bound.description }
        if let portFile {
            let tmp = portFile + ".tmp"
            guard FileManager.default.createFile(atPath: tmp, contents: Data("\(server.port)\n".utf8)),
                  rename(tmp, portFile) == 0 else {
                throw NodeError(.io, "cannot write the port file \(portFile)")
            }
        }
        logger.notice("serving", metadata: ["listen": "\(bound)", "device": "\(node.identity.deviceID.short)",
                                            "library": "\(node.catalog.libraryID)"])
        let stop = AsyncStream<Int32>.makeStream()
        let signals = [SIGINT, SIGTERM].map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig)
            source.setEventHandler { stop.continuation.yield(sig) }
            source.resume()
            return source
        }
        let dialContext = ctx
        let work = Task { await withDiscardingTaskGroup { group in
            group.addTask { await self.pollLoop() }
            group.addTask { await self.dialLoop(dialContext) }
        } }
        var it = stop.stream.makeAsyncIterator()
        let sig = await it.next() ?? SIGTERM
        logger.notice("stopping", metadata: ["signal": "\(sig == SIGINT ? "SIGINT" : "SIGTERM")"])
        work.cancel()
        await server.stop()
        signals.forEach { $0.cancel() }
    }

    /// Announces local commits (from any process) and lets go of an idle chunk store.
    func pollLoop() async {
        var last = (try? node.catalog.versionVector()) ?? VersionVector()
        while !Task.isCancelled {
            try? await Task.sleep(for: pollInterval)
            chunks.releaseIfIdle()
            guard let v = try? node.catalog.versionVector(), v != last else { continue }
            last = v
            hub.announceLocalChange()
        }
    }

    /// Keeps a session open to every known peer that is not already connected.
    func dialLoop(_ ctx: SyncContext) async {
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                try? node.reloadConfig()
                for peer in node.dialablePeers {
                    let start = state.withLock { s in
                        guard s.connected[peer.device, default: 0] == 0, !s.dialling.contains(peer.device) else { return false }
                        s.dialling.insert(peer.device)
                        return true
                    }
                    if start { group.addTask { await self.keepConnected(peer.device, peer.endpoints, ctx) } }
                }
                try? await Task.sleep(for: .seconds(2))
            }
        }
    }

    /// Dials one peer until the daemon stops, backing off while it is unreachable.
    func keepConnected(_ device: String, _ endpoints: [PeerEndpoint], _ ctx: SyncContext) async {
        defer { _ = state.withLock { $0.dialling.remove(device) } }
        var backoff = Duration.seconds(1)
        while !Task.isCancelled {
            if state.withLock({ $0.connected[device, default: 0] > 0 }) { return } // it dialled us
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

    /// Listen hosts that mean "every interface": not an address a peer could dial.
    static let wildcardHosts: Set<String> = ["0.0.0.0", "::", "*", ""]

    func observe(_ report: ConnectionReport) {
        node.record(report)
        switch report {
        case .connected(let device, _, _):
            state.withLock { $0.connected[device.string, default: 0] += 1 }
        case .ended(let device?, let address, _, _, let error):
            state.withLock { $0.connected[device.string, default: 1] -= 1 }
            if let error { logger.info("session ended", metadata: ["peer": "\(device.short)", "address": "\(address)", "reason": "\(error)"]) }
        case .ended(nil, _, _, _, _):
            break // the server or the dialler logs why
        case .listening:
            break // recorded by the node
        }
    }
}
