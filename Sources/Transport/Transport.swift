import Catalog
import HearthCrypto
import Logging
import NIOCore
import NIOPosix
import Synchronization
import SyncEngine
import Wire

/// Transport: SwiftNIO TCP that runs the Noise handshake, encrypts every frame and drives a
/// `SyncSession` per connection with real time. Bad peers are disconnected with a logged
/// reason; nothing they send reaches the catalog before the handshake and Hello checks pass.
public enum TransportModule {}

/// Accepts sync connections for one library until stopped.
public final class SyncServer: Sendable {
    let channel: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
    let acceptLoop: Task<Void, Never>
    /// The open sessions (inbound, and outbound ones the node registered with the same hub).
    public let hub: SyncHub
    /// The port actually bound (useful with port 0).
    public let port: Int

    init(channel: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>, acceptLoop: Task<Void, Never>,
         hub: SyncHub, port: Int) {
        self.channel = channel
        self.acceptLoop = acceptLoop
        self.hub = hub
        self.port = port
    }

    /// Binds `host:port` (0 picks a free port) and serves connections in the background.
    /// - Parameter hub: shared with the node's outbound connections so a change gossips to all of them.
    public static func start(host: String, port: Int, context: SyncContext, hub: SyncHub = SyncHub()) async throws -> SyncServer {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { child in
                child.eventLoop.makeCompletedFuture { try wrap(child) }
            }
        let bound = server.channel.localAddress?.port ?? port
        var context = context
        if context.listenPort == 0 { context.listenPort = bound }
        let loop = Task<Void, Never> { [context] in
            _ = try? await server.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await conn in inbound {
                        guard hub.count < context.limits.maxConnections else {
                            context.logger.warning("refusing connection", metadata: [
                                "address": "\(conn.channel.remoteAddress?.description ?? "?")",
                                "reason": "already \(context.limits.maxConnections) connections open"])
                            try? await conn.channel.close()
                            continue
                        }
                        group.addTask { await serve(conn, context: context, hub: hub) }
                    }
                }
            }
        }
        return SyncServer(channel: server, acceptLoop: loop, hub: hub, port: bound)
    }

    /// Tells every open session the local catalog grew (push after a commit).
    public func announceLocalChange() { hub.announceLocalChange() }

    /// Stops accepting and closes the listening socket; open sessions end with their peers.
    public func stop() async {
        try? await channel.channel.close()
        acceptLoop.cancel()
    }

    /// Wraps a connected socket for async use, with buffers sized for 1 MiB frames so that
    /// sealing the next frame overlaps with the socket sending the last one. NIO's defaults
    /// (a 64 KiB write high-water mark, 10 inbound reads of at most 64 KiB) make a sender wait
    /// for every frame to drain before it seals the next, which left both cores half idle.
    static func wrap(_ channel: any Channel) throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        let options = channel.syncOptions
        try options?.setOption(.writeBufferWaterMark, value: .init(low: 4 << 20, high: 8 << 20))
        try options?.setOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64 << 10, initial: 256 << 10,
                                                                                       maximum: 1 << 20))
        return try NIOAsyncChannel(wrappingChannelSynchronously: channel,
                                   configuration: .init(backPressureStrategy: .init(lowWatermark: 8, highWatermark: 32)))
    }

    static func serve(_ conn: NIOAsyncChannel<ByteBuffer, ByteBuffer>, context: SyncContext, hub: SyncHub) async {
        let address = conn.channel.remoteAddress.map { a in
            let ip = a.ipAddress ?? "unknown"
            return ip.contains(":") ? "[\(ip)]:\(a.port ?? 0)" : "\(ip):\(a.port ?? 0)"
        } ?? "unknown peer"
        var logger = context.logger
        logger[metadataKey: "address"] = "\(address)"
        let (events, sink) = AsyncStream<Connection.Event>.makeStream()
        let id = hub.add(sink)
        defer { hub.remove(id) }
        do {
            try await conn.executeThenClose { inbound, outbound in
                let c = Connection(role: .responder, context: context, peerAddress: address, logger: logger)
                _ = try await c.run(inbound: inbound, outbound: outbound, events: events, eventSink: sink,
                                    stopAtConvergence: false, onCatalogChange: { hub.broadcast(.localChange, except: id) })
            }
        } catch let e as SyncError where e.code == .connectionLost {
            logger.info("connection ended", metadata: ["reason": "\(e.message)"])
        } catch {
            logger.warning("peer disconnected", metadata: ["reason": "\(error)"])
        }
    }
}

/// Connects to peers.
public enum SyncClient {
    /// Connects, syncs until both sides converge, and disconnects.
    public static func syncOnce(host: String, port: Int, context: SyncContext) async throws -> SyncSummary {
        try await connect(host: host, port: port, context: context, hub: nil, stopAtConvergence: true)
    }

    /// Connects and keeps the session open (a daemon's link to a known peer) until the connection
    /// ends; changes announced on `hub` are pushed to the peer, and batches it sends are announced there.
    public static func stayConnected(host: String, port: Int, context: SyncContext, hub: SyncHub) async throws -> SyncSummary {
        try await connect(host: host, port: port, context: context, hub: hub, stopAtConvergence: false)
    }

    static func connect(host: String, port: Int, context: SyncContext, hub: SyncHub?,
                        stopAtConvergence: Bool) async throws -> SyncSummary {
        let address = "\(host):\(port)"
        let conn: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            conn = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(5))
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture { try SyncServer.wrap(channel) }
                }
        } catch {
            throw SyncError(.connectionLost, "cannot connect to \(address): \(error)")
        }
        var logger = context.logger
        logger[metadataKey: "address"] = "\(address)"
        let (events, sink) = AsyncStream<Connection.Event>.makeStream()
        let id = hub?.add(sink)
        defer { if let id { hub?.remove(id) } }
        let c = Connection(role: .initiator, context: context, peerAddress: address, logger: logger)
        do {
            return try await conn.executeThenClose { inbound, outbound in
                try await c.run(inbound: inbound, outbound: outbound, events: events, eventSink: sink,
                                stopAtConvergence: stopAtConvergence,
                                onCatalogChange: { hub?.broadcast(.localChange, except: id) })
            }
        } catch let e as SyncError {
            throw e
        } catch {
            // A write after the peer hung up (it refused us, or it went away).
            throw SyncError(.connectionLost, "\(address) closed the connection: \(error)")
        }
    }
}

/// A node's open sessions, so that a change one session applies (or a local commit) is
/// announced on all the others within a second.
public final class SyncHub: Sendable {
    private let sinks = Mutex<(next: Int, all: [Int: AsyncStream<Connection.Event>.Continuation])>((0, [:]))

    public init() {}

    /// Open sessions.
    public var count: Int { sinks.withLock { $0.all.count } }

    /// Tells every open session that the local catalog may have grown; each sends a Summary if it did.
    public func announceLocalChange() { broadcast(.localChange, except: nil) }

    func add(_ sink: AsyncStream<Connection.Event>.Continuation) -> Int {
        sinks.withLock { s in
            s.next += 1
            s.all[s.next] = sink
            return s.next
        }
    }

    func remove(_ id: Int) { _ = sinks.withLock { $0.all.removeValue(forKey: id) } }

    func broadcast(_ event: Connection.Event, except: Int?) {
        let targets = sinks.withLock { s in s.all.filter { $0.key != except }.sorted { $0.key < $1.key }.map(\.value) }
        for t in targets { t.yield(event) }
    }
}
