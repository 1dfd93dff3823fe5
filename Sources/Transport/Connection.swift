import Catalog
import HearthCrypto
import Logging
import NIOCore
import SyncEngine
import Wire

/// Everything a node gives the transport for one library.
public struct SyncContext: Sendable {
    public var catalog: any SyncCatalog & Sendable
    public var chunks: any SyncChunkSource & Sendable
    public var identity: Identity
    /// Epoch of this node's database, announced in Hello.
    public var epoch: UInt32
    public var policy: StoragePolicy
    /// Whether a device may connect; defaults to the catalog's member list.
    public var isMember: @Sendable (DeviceID) -> Bool
    public var software: String
    public var limits: ConnectionLimits
    public var logger: Logger

    public init(catalog: any SyncCatalog & Sendable, chunks: any SyncChunkSource & Sendable, identity: Identity,
                epoch: UInt32, policy: StoragePolicy, isMember: (@Sendable (DeviceID) -> Bool)? = nil,
                software: String = "hearth/0.1.0", limits: ConnectionLimits = ConnectionLimits(),
                logger: Logger = Logger(label: "hearth.transport")) {
        self.catalog = catalog
        self.chunks = chunks
        self.identity = identity
        self.epoch = epoch
        self.policy = policy
        self.isMember = isMember ?? { device in (try? catalog.syncIsMember(device)) ?? false }
        self.software = software
        self.limits = limits
        self.logger = logger
    }
}

/// Per-connection limits.
public struct ConnectionLimits: Sendable {
    /// The whole handshake and Hello exchange must finish within this many milliseconds.
    public var handshakeTimeout: Int64 = 10_000
    /// A peer silent this long is disconnected (the session pings at a quarter of it).
    public var idleTimeout: Int64 = 60_000
    /// How often the session gets `.tick`.
    public var tickInterval: Int64 = 1_000
    /// Credit granted to the peer: the bytes in flight towards us.
    public var creditWindow: Int = 4 * MessageLimits.maxMessageBytes

    public init() {}
}

/// Drives one connection: handshake, Hello exchange, then a `SyncSession` until it ends.
struct Connection {
    enum Role { case initiator, responder }
    enum Event: Sendable { case frame([UInt8]), tick, localChange, ended(String) }

    let role: Role
    let context: SyncContext
    let peerAddress: String
    let logger: Logger

    /// Runs the connection to its end. Returns the summary if the session converged.
    func run(inbound: NIOAsyncChannelInboundStream<ByteBuffer>, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
             events: AsyncStream<Event>,
             eventSink: AsyncStream<Event>.Continuation, stopAtConvergence: Bool,
             onCatalogChange: @Sendable () -> Void) async throws -> SyncSummary {
        let clock = ContinuousClock()
        let start = clock.now
        @Sendable func now() -> Int64 {
            let d = clock.now - start
            return d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
        }
        let reader = Task {
            var decoder = FrameDecoder(maxBodyLength: Framing.defaultMaxBodyLength, context: peerAddress)
            do {
                for try await buffer in inbound {
                    for body in try decoder.feed(buffer.readableBytesView) { eventSink.yield(.frame(body)) }
                }
                try decoder.finish()
                eventSink.yield(.ended("\(peerAddress) closed the connection"))
            } catch {
                eventSink.yield(.ended("\(peerAddress): \(error)"))
            }
        }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(context.limits.tickInterval))
                eventSink.yield(.tick)
            }
        }
        defer {
            reader.cancel()
            ticker.cancel()
            eventSink.finish()
        }
        var it = events.makeAsyncIterator()
        let secure = try await SecureChannel.establish(role: role, context: context, peer: peerAddress, events: &it,
                                                       outbound: outbound, now: now)
        var logger = logger
        logger[metadataKey: "peer"] = "\(secure.peerDevice.short)"
        logger.info("connected", metadata: ["address": "\(peerAddress)", "policy": "\(secure.peerHello.policy)"])
        var session = SyncSession(
            catalog: context.catalog, chunks: context.chunks,
            config: SyncConfig(policy: context.policy, creditWindow: context.limits.creditWindow,
                               pingInterval: context.limits.idleTimeout / 4, idleTimeout: context.limits.idleTimeout),
            peerName: "\(secure.peerDevice.short) at \(peerAddress)")
        var pending = session.handle(.start, now: now())
        while true {
            for effect in pending {
                switch effect {
                case .send(let m):
                    try await outbound.write(ByteBuffer(bytes: try secure.seal(m)))
                case .close(let e):
                    logger.warning("disconnecting", metadata: ["reason": "\(e)"])
                    throw e
                case .catalogChanged:
                    onCatalogChange()
                case .converged(let s):
                    logger.info("converged", metadata: ["summary": "\(s)"])
                    if stopAtConvergence { return s }
                }
            }
            guard let event = await it.next() else {
                throw SyncError(.connectionLost, "\(peerAddress): connection ended")
            }
            switch event {
            case .frame(let body):
                let message: Message
                do {
                    message = try Message.decode(try secure.open(body))
                } catch let e as MessageError {
                    pending = session.fail(SyncError(decoding: e, peer: session.peerName), now: now())
                    continue
                } catch {
                    throw SyncError(.decryptFailed, "\(session.peerName): frame did not decrypt (\(error))")
                }
                pending = session.handle(.message(message), now: now())
            case .tick: pending = session.handle(.tick, now: now())
            case .localChange: pending = session.handle(.localChange, now: now())
            case .ended(let why):
                if let s = session.isConverged ? session.summary : nil, !stopAtConvergence { return s }
                throw SyncError(.connectionLost, why)
            }
        }
    }
}
