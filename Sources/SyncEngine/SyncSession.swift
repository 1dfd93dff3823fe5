import Catalog
import HearthCrypto
import Wire

/// Knobs of one session. Defaults follow `protocol/SPEC.md`; tests shrink them.
public struct SyncConfig: Sendable {
    /// What this node keeps; decides which chunks it asks for.
    public var policy: StoragePolicy
    /// Credit granted to the peer at a time: bounds the bytes in flight towards us.
    public var creditWindow: Int
    /// Payload bytes asked of the catalog per Batches message.
    public var batchBytesPerMessage: Int
    /// Ids per ChunkRequest.
    public var chunkIDsPerRequest: Int
    /// ChunkRequests outstanding at once.
    public var maxOutstandingChunkRequests: Int
    /// Received chunks are stored in batches of about this many bytes (one fsync each); a
    /// broken connection loses at most this much, which the next session asks for again.
    public var storeBatchBytes: Int = 8 << 20
    /// Send a Ping after this long without sending (ms).
    public var pingInterval: Int64
    /// Close after this long without receiving (ms).
    public var idleTimeout: Int64

    public init(policy: StoragePolicy, creditWindow: Int = 4 * MessageLimits.maxMessageBytes,
                batchBytesPerMessage: Int = 512 * 1024, chunkIDsPerRequest: Int = MessageLimits.maxChunkIDsPerRequest,
                maxOutstandingChunkRequests: Int = 4, pingInterval: Int64 = 15_000, idleTimeout: Int64 = 60_000) {
        precondition(creditWindow >= 1024 && creditWindow <= SyncSession.maxGrant)
        precondition((1...MessageLimits.maxChunkIDsPerRequest).contains(chunkIDsPerRequest))
        precondition((1...SyncSession.maxPeerChunkRequests).contains(maxOutstandingChunkRequests))
        precondition(batchBytesPerMessage >= 1 && batchBytesPerMessage <= MessageLimits.maxBatchPayloadBytes)
        self.policy = policy
        self.creditWindow = creditWindow
        self.batchBytesPerMessage = batchBytesPerMessage
        self.chunkIDsPerRequest = chunkIDsPerRequest
        self.maxOutstandingChunkRequests = maxOutstandingChunkRequests
        self.pingInterval = pingInterval
        self.idleTimeout = idleTimeout
    }
}

/// What the driver feeds a session.
public enum SyncInput: Sendable {
    /// The handshake is done and Hellos were exchanged: send Summary and the first Credit.
    case start
    /// A decoded message from the peer.
    case message(Message)
    /// The local catalog grew (a commit, or batches from another session): announce it.
    case localChange
    /// Time passed: send keep-alives, detect a silent peer.
    case tick
}

/// What the driver must do, in order.
public enum SyncEffect: Sendable {
    case send(Message)
    /// Close the connection (an Error message, if any, was sent just before).
    case close(SyncError)
    /// Batches from this peer were applied: other sessions should get `.localChange` (gossip push).
    case catalogChanged
    /// Neither side has anything the other lacks (SPEC "Done").
    case converged(SyncSummary)
}

/// One sync session with one peer: a pure state machine, `(state, input, now) -> [effect]`.
///
/// The session reads and writes the catalog and chunk store it was given, but never touches
/// sockets, clocks or threads; see the module documentation for the loop that drives it.
public struct SyncSession {
    static let maxGrant = 64 * 1024 * 1024
    static let maxPeerChunkRequests = 4

    let catalog: any SyncCatalog
    let chunks: any SyncChunkSource
    let config: SyncConfig
    /// How logs and errors name the peer.
    public let peerName: String
    /// The protocol version both sides speak, as the handshake negotiated it (SPEC 8,
    /// `ProtocolVersion.negotiate`). Towards a version 1 peer the session offers, announces and
    /// sends only batches of payload version 2, each origin up to its first batch of a later version.
    public let protocolVersion: UInt16

    public internal(set) var summary = SyncSummary()
    public internal(set) var closed: SyncError?
    var started = false

    // Pull side: what we ask of the peer.
    var myVector = VersionVector()
    /// What the peer is told we hold (Summary, Done): `myVector`, capped towards an older peer.
    var offered = VersionVector()
    var peerSummary: VersionVector?
    var batchRequestOutstanding = false
    /// Chunk ids still to ask for (ascending); nil until computed for `wantedFor`.
    var wanted: [Hash256] = []
    var wantedFor: VersionVector?
    /// Ids asked for and not yet answered, in the order the answers must come.
    var awaiting: [Hash256] = []
    var awaitingHead = 0
    /// Remaining answers per outstanding ChunkRequest, oldest first.
    var requestsOutstanding: [Int] = []
    var unavailable: Set<Hash256> = []
    /// Pieces received so far of the chunk at the head of `awaiting`.
    var incoming: [UInt8] = []
    var incomingTotal: UInt32 = 0
    /// Verified chunks not yet stored (see `SyncConfig.storeBatchBytes`).
    var unstored: [(id: Hash256, bytes: [UInt8])] = []
    var unstoredBytes = 0
    /// Credit we granted and the peer has not used yet, and bytes consumed since the last grant.
    var granted = 0
    var consumedSinceGrant = 0

    // Serve side: what the peer asks of us.
    var serving: VersionVector?
    var peerChunkQueue: [Hash256] = []
    var peerChunkHead = 0
    var sendCredit = 0
    /// The chunk being sent in pieces and the offset of its next piece.
    var outgoingChunk: (id: Hash256, bytes: [UInt8], offset: Int)?
    /// A data message built but larger than the credit left; sent when credit arrives.
    var held: Message?

    // Convergence.
    var lastDoneSent: VersionVector?
    /// The vector of our last Summary: what the peer has been told we hold.
    var lastAnnounced: VersionVector?
    var peerDone: VersionVector?
    var convergedAt: VersionVector?

    // Time. `lastReceived` and `lastSent` are monotonic elapsed time (timeouts, pings);
    // `wallMillis` is the wall clock (ms since 1970) of the current input, for the catalog's
    // hybrid logical clock.
    var lastReceived: Int64 = 0
    var wallMillis: Int64 = 0
    var lastSent: Int64 = 0
    var pingNonce: UInt64 = 0

    public init(catalog: any SyncCatalog, chunks: any SyncChunkSource, config: SyncConfig, peerName: String,
                protocolVersion: UInt16 = MessageLimits.protocolVersion) {
        precondition((MessageLimits.minimumProtocolVersion...MessageLimits.protocolVersion).contains(protocolVersion),
                     "a session speaks a version this node supports")
        self.catalog = catalog
        self.chunks = chunks
        self.config = config
        self.peerName = peerName
        self.protocolVersion = protocolVersion
    }

    /// True once both sides have said Done with this side's current vector.
    public var isConverged: Bool { convergedAt != nil && convergedAt == offered }

    /// Reads the catalog's vector, and what of it the peer may be offered (the same towards a
    /// peer of the current version, so it is read once).
    mutating func refreshVector() throws {
        myVector = try catalog.syncVersionVector()
        offered = protocolVersion >= ProtocolVersion.v2 ? myVector
            : try catalog.syncVersionVector(forPeerProtocol: protocolVersion)
    }

    /// Advances the session by one input. After a `.close` effect every input returns nothing.
    /// `now` is monotonic elapsed time in ms (idle timeout, pings; any origin); `wallMillis` is
    /// wall time in ms since 1970, given to the catalog's hybrid logical clock when batches apply.
    public mutating func handle(_ input: SyncInput, now: Int64, wallMillis: Int64) -> [SyncEffect] {
        guard closed == nil else { return [] }
        self.wallMillis = wallMillis
        var out: [SyncEffect] = []
        do {
            switch input {
            case .start:
                precondition(!started, "session started twice")
                started = true
                lastReceived = now
                try refreshVector()
                announce(&out)
                grant(config.creditWindow, &out)
            case .message(let m):
                precondition(started, "message before start")
                lastReceived = now
                try receive(m, &out)
            case .localChange:
                guard started else { return [] }
                try refreshVector() // announced by `pump` if the peer lacks it
            case .tick:
                guard started else { return [] }
                if now - lastReceived >= config.idleTimeout {
                    throw SyncError(.timeout, "\(peerName) sent nothing for \(now - lastReceived) ms")
                }
            }
            if started { try pump(&out) }
            if started, now - lastSent >= config.pingInterval, !out.contains(where: { if case .send = $0 { true } else { false } }) {
                pingNonce += 1
                send(.ping(Ping(nonce: pingNonce, reply: false)), &out)
            }
        } catch let e as SyncError {
            fail(e, &out)
        } catch {
            fail(SyncError(.internalError, "while syncing with \(peerName): \(error)"), &out)
        }
        if out.contains(where: { if case .send = $0 { true } else { false } }) { lastSent = now }
        return out
    }

    mutating func send(_ m: Message, _ out: inout [SyncEffect]) {
        summary.messageBytesSent += m.encodedCount
        out.append(.send(m))
    }

    mutating func fail(_ e: SyncError, _ out: inout [SyncEffect]) {
        if let code = e.wireCode { send(.error(ErrorMessage(code: code, text: e.message)), &out) }
        closed = e
        out.append(.close(e))
    }

    mutating func grant(_ n: Int, _ out: inout [SyncEffect]) {
        granted += n
        send(.credit(Credit(bytes: UInt32(n))), &out)
    }
}

extension SyncSession {
    /// Ends the session with `error` from outside (a message that did not decode, a shutdown):
    /// the Error message to send, then `.close`.
    public mutating func fail(_ error: SyncError, now: Int64) -> [SyncEffect] {
        guard closed == nil else { return [] }
        var out: [SyncEffect] = []
        fail(error, &out)
        return out
    }

    /// Checks a peer's Hello against what the handshake proved and what we hold (see `Handshake.check`).
    /// Returns the protocol version the session speaks.
    public static func check(peerHello h: Hello, handshakeKey: [UInt8], library: LibraryID,
                             isMember: (DeviceID) -> Bool, peer: String,
                             localMaxVersion: UInt16 = MessageLimits.protocolVersion) throws(SyncError) -> UInt16 {
        try Handshake.check(peerHello: h, handshakeKey: handshakeKey, library: library, isMember: isMember, peer: peer,
                            localMaxVersion: localMaxVersion)
    }
}
