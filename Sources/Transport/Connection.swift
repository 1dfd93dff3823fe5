import Catalog
import Foundation
import HearthCrypto
import Logging
import NIOCore
import Synchronization
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
    /// Accepting pairing connections (a node that issued tickets); nil refuses every pairing preamble.
    public var pairingHook: PairingHook?
    /// Connecting as a joiner: the ticket to present instead of a member session.
    public var joinTicket: JoinTicket?
    /// Told when a connection is authenticated and when it ends (peers' last contact, who is connected).
    public var observer: (@Sendable (ConnectionReport) -> Void)?
    /// Counts the bytes every connection of this context puts on and takes off the wire.
    public var traffic: TrafficCounter?
    /// Told after every message a session handles (a progress display throttles it).
    public var progress: (@Sendable (SyncProgress) -> Void)?
    /// The port this node accepts sync connections on, announced to every peer in a Listening
    /// message right after the Hellos (nil: announce nothing). Given to `SyncServer.start`,
    /// 0 stands for the port the server binds.
    public var listenPort: Int?
    /// `host:port` addresses this node knows it is reachable at, listed in Listening (at most 8).
    public var listenAddresses: [String] = []
    /// A node that serves several libraries on one port: the context of the library an
    /// initiator's Hello names (nil: not held here, and the connection is refused). The
    /// accepting side then runs the session, and sends its Hello, with that context; `isMember`
    /// of this context decides who may get as far as Hello. Unused by the dialling side.
    public var libraries: (@Sendable (LibraryID) -> SyncContext?)?

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

/// Bytes on the wire (TCP payload: preamble, frames, tags), summed over connections.
public final class TrafficCounter: Sendable {
    private let counts = Atomic<Int>(0)
    private let countsIn = Atomic<Int>(0)

    public init() {}

    public var sent: Int { counts.load(ordering: .relaxed) }
    public var received: Int { countsIn.load(ordering: .relaxed) }

    func add(sent n: Int) { counts.add(n, ordering: .relaxed) }
    func add(received n: Int) { countsIn.add(n, ordering: .relaxed) }
}

/// A connection's life as the node sees it.
public enum ConnectionReport: Sendable {
    /// Handshake and Hellos done; `inbound` is true on the accepting side.
    case connected(device: DeviceID, address: String, inbound: Bool)
    /// The connection ended; `error` is nil when it ended after converging.
    case ended(device: DeviceID?, address: String, inbound: Bool, summary: SyncSummary?, error: SyncError?)
    /// The peer announced where it accepts connections (SPEC "Listening"): the address this
    /// connection comes from with the announced port, then the addresses it listed; deduplicated.
    case listening(device: DeviceID, endpoints: [String])
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
    public var creditWindow: Int = 32 * MessageLimits.maxMessageBytes
    /// Open connections a server accepts at once; more are closed at once.
    public var maxConnections: Int = 64

    public init() {}
}

/// Drives one connection: handshake, Hello exchange, then a `SyncSession` until it ends.
struct Connection {
    enum Role { case initiator, responder }
    /// What the driver hears. Until the handshake is done the reader passes raw frames; after it,
    /// the reader opens and decodes each frame itself, so decryption runs beside the session's
    /// own work (verifying and storing chunks) on another core.
    enum Event: Sendable {
        case preamble(ConnectionPreamble)
        /// A frame passed raw to the handshake: Noise messages 1–3 and the peer's Hello (sealed).
        case frame([UInt8])
        /// A transport frame, opened and decoded.
        case message(Message)
        /// A transport frame that opened but is not a valid message.
        case undecodable(MessageError)
        /// A transport frame that failed authentication: the connection ends.
        case undecryptable(String)
        case tick, localChange, ended(String)
    }

    /// Hands the receiving half of the cipher from the handshake to the reader task, which is
    /// its only user from then on.
    final class OpenerHandoff: @unchecked Sendable {
        let opener: TransportOpener
        init(_ opener: TransportOpener) { self.opener = opener }
    }

    /// Frames each role passes raw to the handshake: Noise XX (and XXpsk3) sends messages 1 and 3
    /// to the responder and message 2 to the initiator; then each side's first transport frame
    /// (the peer's Hello, or the Error of a refused pairing), which the handshake opens itself.
    var handshakeFramesToRead: Int { role == .responder ? 3 : 2 }

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
        let traffic = context.traffic
        let openers = AsyncStream<OpenerHandoff>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let reader = Task { [role, peerAddress, handshakeFramesToRead] in
            var decoder = FrameDecoder(maxBodyLength: Framing.defaultMaxBodyLength, context: peerAddress)
            var handshakeFrames = handshakeFramesToRead
            var opener: TransportOpener?
            // The responder reads the plaintext preamble (SPEC 3.1) before any frame.
            var preamble: [UInt8]? = role == .responder ? [] : nil
            do {
                for try await buffer in inbound {
                    traffic?.add(received: buffer.readableBytes)
                    var view = buffer.readableBytesView[...]
                    if var head = preamble {
                        let take = min(view.count, ConnectionPreamble.maxLength - head.count)
                        head += view.prefix(take)
                        guard let (p, used) = try ConnectionPreamble.parse(head, context: peerAddress).map({ ($0.0, $0.1) }) else {
                            preamble = head
                            continue
                        }
                        preamble = nil
                        eventSink.yield(.preamble(p))
                        view = view.dropFirst(take - (head.count - used))
                    }
                    for body in try decoder.feed(view) {
                        if handshakeFrames > 0 {
                            handshakeFrames -= 1
                            eventSink.yield(.frame(body))
                            continue
                        }
                        if opener == nil {
                            // Nil when the driver gave up during the handshake and cancelled us.
                            var it = openers.stream.makeAsyncIterator()
                            guard let handoff = await it.next() else { return }
                            opener = handoff.opener
                        }
                        do {
                            eventSink.yield(.message(try Message.decode(try opener!.open(body))))
                        } catch let e as MessageError {
                            eventSink.yield(.undecodable(e))
                        } catch {
                            eventSink.yield(.undecryptable("\(error)"))
                            return
                        }
                    }
                }
                if preamble != nil { throw WireError(.truncated, "\(peerAddress): connection ended inside the preamble") }
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
            openers.continuation.finish()
        }
        var it = events.makeAsyncIterator()
        let secure: SecureChannel
        do {
            secure = try await SecureChannel.establish(role: role, context: context, peer: peerAddress, events: &it,
                                                       outbound: outbound,
                                                       startOpening: { openers.continuation.yield(OpenerHandoff($0)) },
                                                       now: now)
        } catch let e as SyncError {
            context.observer?(.ended(device: nil, address: peerAddress, inbound: role == .responder, summary: nil, error: e))
            throw e
        }
        // The library the peer asked for (a node serving several), else this context's.
        let served = secure.context
        var logger = logger
        logger[metadataKey: "peer"] = "\(secure.peerDevice.short)"
        logger.info("connected", metadata: ["address": "\(peerAddress)", "policy": "\(secure.peerHello.policy)"])
        served.observer?(.connected(device: secure.peerDevice, address: peerAddress, inbound: role == .responder))
        var session = SyncSession(
            catalog: served.catalog, chunks: served.chunks,
            config: SyncConfig(policy: served.policy, creditWindow: served.limits.creditWindow,
                               pingInterval: served.limits.idleTimeout / 4, idleTimeout: served.limits.idleTimeout),
            peerName: "\(secure.peerDevice.short) at \(peerAddress)", protocolVersion: secure.version)
        do {
            let s = try await drive(&session, secure: secure, events: &it, outbound: outbound, logger: logger,
                                    stopAtConvergence: stopAtConvergence, onCatalogChange: onCatalogChange, now: now)
            served.observer?(.ended(device: secure.peerDevice, address: peerAddress, inbound: role == .responder,
                                     summary: s, error: nil))
            return s
        } catch {
            let e = error as? SyncError ?? SyncError(.internalError, "\(peerAddress): \(error)")
            served.observer?(.ended(device: secure.peerDevice, address: peerAddress, inbound: role == .responder,
                                     summary: session.summary, error: e))
            throw e
        }
    }

    /// Feeds the session every event and carries out its effects until it ends.
    private func drive(_ session: inout SyncSession, secure: SecureChannel,
                       events it: inout AsyncStream<Event>.Iterator,
                       outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, logger: Logger, stopAtConvergence: Bool,
                       onCatalogChange: @Sendable () -> Void, now: @Sendable () -> Int64) async throws -> SyncSummary {
        var pending = context.listening.map { [SyncEffect.send(.listening($0))] } ?? []
        pending += session.handle(.start, now: now(), wallMillis: wallMillis())
        while true {
            for effect in pending {
                switch effect {
                case .send(let m):
                    let frame = try secure.sealBuffer(m)
                    context.traffic?.add(sent: frame.readableBytes)
                    do { try await outbound.write(frame) } catch {
                        // The peer closed while this side was still sending (SPEC 7.2): it ended the session.
                        throw SyncError(.connectionLost, "\(peerAddress) closed the connection while \(m.type.map { "\($0)" } ?? "a message") was being sent (\(error))")
                    }
                case .close(let e):
                    // The peer ending the session (SPEC 7.2) is no failure of this node's.
                    if e.code == .connectionLost {
                        logger.info("disconnecting", metadata: ["reason": "\(e)"])
                    } else {
                        logger.warning("disconnecting", metadata: ["reason": "\(e)"])
                    }
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
            case .message(let message):
                if case .listening(let l) = message { reportListening(l, from: secure.peerDevice) }
                pending = session.handle(.message(message), now: now(), wallMillis: wallMillis())
                context.progress?(session.progress)
            case .undecodable(let e):
                pending = session.fail(SyncError(decoding: e, peer: session.peerName), now: now())
            case .undecryptable(let why):
                throw SyncError(.decryptFailed, "\(session.peerName): frame did not decrypt (\(why))")
            case .tick: pending = session.handle(.tick, now: now(), wallMillis: wallMillis())
            case .localChange: pending = session.handle(.localChange, now: now(), wallMillis: wallMillis())
            case .preamble, .frame: // the reader passes neither once the handshake is done
                pending = session.fail(SyncError(.protocolViolation, "\(session.peerName): a preamble or handshake frame after the handshake"), now: now())
            case .ended(let why):
                if let s = session.isConverged ? session.summary : nil, !stopAtConvergence { return s }
                throw SyncError(.connectionLost, why)
            }
        }
    }
}

/// Wall time in ms since 1970, for the catalog's hybrid logical clock; a session's `now` (ms since
/// the connection started, from a monotonic clock) is only for its timeouts and pings.
private func wallMillis() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
