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
    let hub: SessionHub
    /// The port actually bound (useful with port 0).
    public let port: Int

    init(channel: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>, acceptLoop: Task<Void, Never>,
         hub: SessionHub, port: Int) {
        self.channel = channel
        self.acceptLoop = acceptLoop
        self.hub = hub
        self.port = port
    }

    /// Binds `host:port` (0 picks a free port) and serves connections in the background.
    public static func start(host: String, port: Int, context: SyncContext) async throws -> SyncServer {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { child in
                child.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: child)
                }
            }
        let hub = SessionHub()
        let loop = Task<Void, Never> {
            _ = try? await server.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await conn in inbound {
                        group.addTask { await serve(conn, context: context, hub: hub) }
                    }
                }
            }
        }
        return SyncServer(channel: server, acceptLoop: loop, hub: hub, port: server.channel.localAddress?.port ?? port)
    }

    /// Tells every open session the local catalog grew (push after a commit).
    public func announceLocalChange() { hub.broadcast(.localChange, except: nil) }

    /// Stops accepting and closes the listening socket; open sessions end with their peers.
    public func stop() async {
        try? await channel.channel.close()
        acceptLoop.cancel()
    }

    static func serve(_ conn: NIOAsyncChannel<ByteBuffer, ByteBuffer>, context: SyncContext, hub: SessionHub) async {
        let address = conn.channel.remoteAddress?.description ?? "unknown peer"
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

/// Connects to a peer, syncs until both sides converge, and disconnects.
public enum SyncClient {
    public static func syncOnce(host: String, port: Int, context: SyncContext) async throws -> SyncSummary {
        let conn = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let address = "\(host):\(port)"
        var logger = context.logger
        logger[metadataKey: "address"] = "\(address)"
        let (events, sink) = AsyncStream<Connection.Event>.makeStream()
        let c = Connection(role: .initiator, context: context, peerAddress: address, logger: logger)
        return try await conn.executeThenClose { inbound, outbound in
            try await c.run(inbound: inbound, outbound: outbound, events: events, eventSink: sink,
                            stopAtConvergence: true, onCatalogChange: {})
        }
    }
}

/// The server's open sessions, so that a change one session applies is announced on the others.
final class SessionHub: Sendable {
    private let sinks = Mutex<(next: Int, all: [Int: AsyncStream<Connection.Event>.Continuation])>((0, [:]))

    func add(_ sink: AsyncStream<Connection.Event>.Continuation) -> Int {
        sinks.withLock { s in
            s.next += 1
            s.all[s.next] = sink
            return s.next
        }
    }

    func remove(_ id: Int) { _ = sinks.withLock { $0.all.removeValue(forKey: id) } }

    func broadcast(_ event: Connection.Event, except: Int?) {
        let targets = sinks.withLock { s in s.all.filter { $0.key != except }.map(\.value) }
        for t in targets { t.yield(event) }
    }
}
