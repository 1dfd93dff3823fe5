import Catalog
import ChunkStore
import Foundation
import HearthCrypto
import Logging
import SyncEngine
import Transport
import Wire
import Presentation

/// `HOST:PORT` of a peer (IPv6 hosts in brackets: `[::1]:7480`).
public struct PeerEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init(parsing text: String) throws {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard let colon = t.lastIndex(of: ":"), let port = Int(t[t.index(after: colon)...]), (0...65535).contains(port) else {
            throw NodeError(.invalidArgument, "\"\(text)\" is not HOST:PORT (for example 127.0.0.1:7480)")
        }
        var host = String(t[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, host.utf8.count <= 253 else { throw NodeError(.invalidArgument, "\"\(text)\" has no host") }
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// What one `hearth sync` did with one peer.
public struct PeerSyncResult: Sendable {
    public var address: String
    public var device: String?
    public var summary: SyncSummary?
    public var error: String?

    public var json: JSON {
        var pairs: [(String, JSON)] = [("address", .string(address)), ("device", .optional(device)),
                                       ("ok", .bool(error == nil)), ("error", .optional(error))]
        let s = summary ?? SyncSummary()
        pairs += [
            ("changesReceived", .int(Int64(s.changesReceived))), ("batchesReceived", .int(Int64(s.batchesReceived))),
            ("chunksReceived", .int(Int64(s.chunksReceived))), ("chunkBytesReceived", .int(Int64(s.chunkBytesReceived))),
            ("changesSent", .int(Int64(s.changesSent))), ("batchesSent", .int(Int64(s.batchesSent))),
            ("chunksSent", .int(Int64(s.chunksSent))), ("chunkBytesSent", .int(Int64(s.chunkBytesSent))),
            ("chunksUnavailable", .int(Int64(s.chunksUnavailable))),
            ("chunksDamagedHere", .array(s.chunksDamagedHere.map(JSON.string))), ("chunksRejected", .int(Int64(s.chunksRejected))),
            ("messageBytesReceived", .int(Int64(s.messageBytesReceived))), ("messageBytesSent", .int(Int64(s.messageBytesSent))),
        ]
        return .object(pairs)
    }
}

/// The node's catalog as one `hearth export` sees it: the policy's chunks plus the objects the
/// user asked for, so a `previews` node fetches an original on demand with an ordinary session.
final class WantingCatalog: SyncCatalog, Sendable {
    let base: Catalog
    let extra: [Hash256]

    init(base: Catalog, extra: [Hash256]) {
        self.base = base
        self.extra = extra
    }

    var syncLibrary: LibraryID { base.syncLibrary }
    func syncVersionVector() throws -> VersionVector { try base.syncVersionVector() }
    func syncBatches(missingFrom v: VersionVector, maxBytes: Int) throws -> [SignedBatch] {
        try base.syncBatches(missingFrom: v, maxBytes: maxBytes)
    }
    func syncApply(_ b: [SignedBatch], now: Int64) throws -> [BatchRejection] { try base.syncApply(b, now: now) }
    func syncWantedChunks(policy: StoragePolicy) throws -> [Hash256] {
        Array(Set(try base.syncWantedChunks(policy: policy) + extra)).sorted()
    }
    func syncIsMember(_ d: DeviceID) throws -> Bool { try base.syncIsMember(d) }
    func syncVersionVector(forPeerProtocol version: UInt16) throws -> VersionVector {
        try base.syncVersionVector(forPeerProtocol: version)
    }
    func syncBatches(missingFrom v: VersionVector, maxBytes: Int, forPeerProtocol version: UInt16) throws -> [SignedBatch] {
        try base.syncBatches(missingFrom: v, maxBytes: maxBytes, forPeerProtocol: version)
    }
}

extension HearthNode {
    /// What the transport needs to run sessions for this node.
    func syncContext(chunks: any SyncChunkSource & Sendable, catalog: (any SyncCatalog & Sendable)? = nil,
                     logger: Logger) throws -> SyncContext {
        var ctx = SyncContext(catalog: catalog ?? self.catalog, chunks: chunks, identity: identity,
                              epoch: try self.catalog.origin().epoch, policy: storagePolicy, logger: logger)
        ctx.observer = { [weak self] report in self?.record(report) }
        return ctx
    }

    /// Most addresses kept per peer; older ones drop off the end.
    static let maxPeerAddresses = 8

    /// Remembers a peer's device, address and time of contact in `config.json`, and the
    /// addresses it says it listens at.
    func record(_ report: ConnectionReport) {
        if case .listening(let device, let endpoints) = report, device != identity.deviceID {
            recordListening(device, endpoints)
            return
        }
        guard case .connected(let device, let address, let inbound) = report, device != identity.deviceID else { return }
        try? updateSettings { c in
            let now = Double(Self.wallClockMillis()) / 1000
            if let i = c.peers.firstIndex(where: { $0.deviceID == device.string }) {
                c.peers[i].lastContact = now
                c.peers[i].lastAddress = address
                if !inbound, !c.peers[i].addresses.contains(address) { c.peers[i].addresses.insert(address, at: 0) }
            } else {
                c.peers.append(.init(deviceID: device.string, addresses: inbound ? [] : [address], lastContact: now,
                                     lastAddress: address))
            }
        }
    }

    /// Makes a peer's announced endpoints its first dialable addresses (newest first, without
    /// duplicates, at most `maxPeerAddresses`); leaves `config.json` alone when nothing changes.
    func recordListening(_ device: DeviceID, _ endpoints: [String]) {
        let announced = endpoints.compactMap { try? PeerEndpoint(parsing: $0).description }
        guard !announced.isEmpty else { return }
        func merged(_ old: [String]) -> [String] {
            var out: [String] = []
            for a in announced + old where !out.contains(a) { out.append(a) }
            return Array(out.prefix(Self.maxPeerAddresses))
        }
        if let p = settings.peers.first(where: { $0.deviceID == device.string }), merged(p.addresses) == p.addresses { return }
        try? updateSettings { c in
            if let i = c.peers.firstIndex(where: { $0.deviceID == device.string }) {
                c.peers[i].addresses = merged(c.peers[i].addresses)
            } else {
                c.peers.append(.init(deviceID: device.string, addresses: merged([]), lastContact: nil, lastAddress: nil))
            }
        }
    }

    /// Peers to dial: every configured peer with an address, its addresses in order.
    var dialablePeers: [(device: String, endpoints: [PeerEndpoint])] {
        settings.peers.compactMap { p in
            let eps = p.addresses.compactMap { try? PeerEndpoint(parsing: $0) }
            return eps.isEmpty || p.deviceID == identity.deviceID.string ? nil : (p.deviceID, eps)
        }
    }

    /// `hearth sync`: one session to convergence with `peer`, or with every known peer in turn.
    /// - Parameter progress: told how the current session's transfer stands, with the peer's address.
    public func syncOnce(peer: PeerEndpoint?, logger: Logger, extraChunks: [Hash256] = [],
                         progress: (@Sendable (String, SyncProgress) -> Void)? = nil) async throws -> [PeerSyncResult] {
        try await syncOnce(peer: peer, logger: logger, extraChunks: extraChunks, progress: progress, chunkSource: nil)
    }

    /// `syncOnce` through `chunkSource` instead of the node's own chunk store (the daemon's shared one).
    func syncOnce(peer: PeerEndpoint?, logger: Logger, extraChunks: [Hash256] = [],
                  progress: (@Sendable (String, SyncProgress) -> Void)? = nil,
                  chunkSource: (any SyncChunkSource & Sendable)?) async throws -> [PeerSyncResult] {
        let targets: [(device: String?, endpoints: [PeerEndpoint])] =
            peer.map { [(nil, [$0])] } ?? dialablePeers.map { ($0.device, $0.endpoints) }
        guard !targets.isEmpty else {
            throw NodeError(.invalidArgument, "this node knows no peer yet: pass --peer HOST:PORT (or `hearth join` a library first)")
        }
        let catalog: any SyncCatalog & Sendable = extraChunks.isEmpty ? self.catalog : WantingCatalog(base: self.catalog, extra: extraChunks)
        var ctx = try syncContext(chunks: try chunkSource ?? chunks, catalog: catalog, logger: logger)
        var results: [PeerSyncResult] = []
        for t in targets {
            var r = PeerSyncResult(address: t.endpoints[0].description, device: t.device)
            for ep in t.endpoints {
                r.address = ep.description
                if let progress {
                    let address = ep.description
                    ctx.progress = { progress(address, $0) }
                }
                do {
                    r.summary = try await SyncClient.syncOnce(host: ep.host, port: ep.port, context: ctx)
                    r.error = nil
                    r.device = settings.peers.first { $0.lastAddress == ep.description }?.deviceID ?? r.device
                    break
                } catch {
                    r.error = "\(error)"
                }
            }
            results.append(r)
        }
        try? reloadConfig()
        return results
    }

    func reloadConfig() throws { try updateConfig { _ in } }

    /// Fetches the objects' chunks from peers (a node whose policy does not keep originals).
    public func fetch(chunks wanted: [Hash256], logger: Logger) async throws {
        let missing = try chunks.missing(of: wanted)
        guard !missing.isEmpty else { return }
        let results = try await syncOnce(peer: nil, logger: logger, extraChunks: missing)
        let still = try chunks.missing(of: missing)
        guard still.isEmpty else {
            let why = results.compactMap { r in r.error.map { "\(r.address): \($0)" } }.joined(separator: "; ")
            throw NodeError(.network, "\(still.count) of \(missing.count) chunks could not be fetched from any peer"
                            + (why.isEmpty ? " (no peer holds them)" : " (\(why))"))
        }
    }

    /// `hearth join`: joins the ticket's library over the network. In an empty home it makes a
    /// new node (identity and all); in an existing one, given `libraryName`, it adds the library
    /// beside the others, with the node's identity. On any failure what the join made is removed again (the whole
    /// home when it made the home), so the command can simply be re-run.
    public static func join(home: Home, ticket: PairingTicket, peer: PeerEndpoint?, deviceName: String, policy: StoragePolicy,
                            libraryName: String? = nil,
                            logger: Logger, progress: (@Sendable (SyncProgress) -> Void)? = nil) async throws -> (HearthNode, SyncSummary) {
        if let libraryName { try LibrarySettings.validate(name: libraryName) }
        guard !deviceName.isEmpty, deviceName.utf8.count <= PairingPayload.maxNameBytes else {
            throw NodeError(.invalidArgument, "--name must be 1...\(PairingPayload.maxNameBytes) bytes")
        }
        guard ticket.expiresAt >= wallClockMillis() else {
            throw NodeError(.invalidArgument, "this ticket expired; ask for a new one with `hearth invite`")
        }
        let endpoints = try peer.map { [$0] } ?? ticket.addresses.map(PeerEndpoint.init(parsing:))
        guard !endpoints.isEmpty else { throw NodeError(.invalidArgument, "the ticket names no address: pass --peer HOST:PORT") }
        let fm = FileManager.default
        let existed = fm.fileExists(atPath: home.root.path)
        let fresh = !home.exists
        let identity: Identity
        if fresh {
            identity = try home.createIdentity()
        } else {
            let config = try HomeLayout.loadUpgrading(home)
            if let held = config.libraries.first(where: { $0.id == ticket.library.hex }) {
                throw NodeError(.alreadyInitialized, "this node already holds library \(ticket.library) (as \(held.name))")
            }
            guard libraryName != nil else { throw alreadyANode(home, "join") }
            identity = try home.loadIdentity()
        }
        let lib = ticket.library.hex
        var added = false
        do {
            try fm.createDirectory(at: home.chunksDir(lib), withIntermediateDirectories: true)
            let catalog = try Catalog.join(path: home.catalogFile(lib).path, library: ticket.library, identity: identity)
            let epoch = try catalog.origin().epoch
            let config = try addLibrary(home, fresh: fresh, deviceName: deviceName) { existing in
                LibrarySettings(id: lib, name: try uniqueName(libraryName, existing), epoch: epoch, storagePolicy: policy,
                                peers: [.init(deviceID: ticket.inviter.string, addresses: endpoints.map(\.description),
                                              lastContact: nil, lastAddress: nil)])
            }
            added = true
            let node = HearthNode(home: home, config: config, identity: identity, catalog: catalog, libraryID: lib)
            var ctx = try node.syncContext(chunks: try node.chunks, logger: logger)
            ctx.joinTicket = JoinTicket(ticketID: ticket.ticketID, secret: ticket.secret, inviter: ticket.inviter, name: deviceName)
            ctx.progress = progress
            var lastError: Error = NodeError(.network, "no address to try")
            for ep in endpoints {
                do {
                    let summary = try await SyncClient.syncOnce(host: ep.host, port: ep.port, context: ctx)
                    try node.reloadConfig()
                    return (node, summary)
                } catch let e as SyncError where e.code == .pairingRefused {
                    throw NodeError(.network, "joining refused by \(ep): \(e.message)")
                } catch {
                    lastError = error
                }
            }
            throw NodeError(.network, "could not join through \(endpoints.map(\.description).joined(separator: ", ")): \(lastError)")
        } catch {
            if fresh {
                if existed {
                    for url in [home.identityFile, home.configFile, home.librariesDir,
                                home.root.appendingPathComponent("config.lock")] {
                        try? fm.removeItem(at: url)
                    }
                } else {
                    try? fm.removeItem(at: home.root)
                }
            } else {
                if added {
                    try? HomeLock.withLock(home, .config) {
                        var c = try NodeConfig.load(home)
                        c.libraries.removeAll { $0.id == lib }
                        if c.defaultLibrary == lib { c.defaultLibrary = nil }
                        try c.save(home)
                    }
                }
                try? fm.removeItem(at: home.libraryDir(lib))
            }
            throw error
        }
    }

    /// `hearth invite` for this library: a ticket (see `invite`), recorded as admitting to this
    /// library, since one `hearth serve` pairs joiners for every library of the node.
    public func inviteToLibrary(role: Role, addresses: [String], validFor ms: Int64) throws -> PairingTicket {
        let ticket = try invite(role: role, addresses: addresses, validFor: ms)
        try HomeLock.withLock(home, .config) {
            try TicketLibraries.assign(home, [Hex.encode(ticket.ticketID)], to: libraryID)
        }
        return ticket
    }

    /// `hearth peers --json`: members with their addresses and last contact.
    public func peersJSON() throws -> JSON {
        let members = try catalog.members()
        let byDevice = Dictionary(settings.peers.map { ($0.deviceID, $0) }, uniquingKeysWith: { a, _ in a })
        var rows: [JSON] = members.map { m in
            let p = byDevice[m.device.string]
            return .object([
                ("deviceId", .string(m.device.string)), ("name", .string(m.name)), ("role", .string(m.role.description)),
                ("self", .bool(m.device == identity.deviceID)),
                ("addresses", .array((p?.addresses ?? []).map(JSON.string))),
                ("lastAddress", .optional(p?.lastAddress)), ("lastContact", .optional(p?.lastContact)),
            ])
        }
        // Peers this node talked to that the catalog does not (yet) list as members.
        for p in settings.peers.sorted(by: { $0.deviceID < $1.deviceID }) where !members.contains(where: { $0.device.string == p.deviceID }) {
            rows.append(.object([
                ("deviceId", .string(p.deviceID)), ("name", .null), ("role", .null), ("self", .bool(false)),
                ("addresses", .array(p.addresses.map(JSON.string))),
                ("lastAddress", .optional(p.lastAddress)), ("lastContact", .optional(p.lastContact)),
            ]))
        }
        return .array(rows)
    }
}

/// Logging for the command-line program: swift-log to stderr.
public enum HearthLogging {
    /// Bootstraps swift-log to stderr (once per process) and returns a logger for `label`:
    /// `info` and up for the daemon, warnings only for one-shot commands unless `verbose`.
    public static func logger(_ label: String, verbose: Bool, daemon: Bool = false) -> Logger {
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = verbose ? .debug : daemon ? .info : .warning
            return h
        }
        return Logger(label: label)
    }
}

extension HearthNode {
    /// `hearth export`: like `export(_:to:motion:)`, but an original this node does not keep
    /// (a `previews` or `thumbnails` policy, or a chunk lost) is first fetched from a peer.
    public func exportFetching(_ id: Hash256, to directory: String, motion: Bool, xmp: Bool = false,
                               logger: Logger) async throws -> [String] {
        if let a = try catalog.asset(id), !a.purged {
            var wanted = a.original.chunks
            if motion, let v = a.motionVideo { wanted += v.chunks }
            if try !chunks.missing(of: wanted).isEmpty {
                try await fetch(chunks: wanted, logger: logger)
            }
        }
        return try export(id, to: directory, motion: motion, xmp: xmp)
    }
}
