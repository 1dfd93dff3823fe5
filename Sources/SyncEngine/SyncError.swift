import Wire

/// Why a sync session ended abnormally; `message` names the peer or the batch involved.
public struct SyncError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case protocolViolation, unsupportedVersion, notMember, wrongLibrary, badBatch, unauthorizedWrite
        case limitExceeded, creditExceeded, unexpectedMessage, timeout, internalError, shuttingDown
        /// A pairing ticket was unknown, used or expired.
        case pairingRefused
        /// The peer sent an Error and closed.
        case closedByPeer
        /// The connection broke or the peer ended the session: it closed the connection, or sent
        /// Error `shutting-down` (SPEC 7.2). Not a failure of this node's.
        case connectionLost
        /// The Noise handshake failed or a frame did not decrypt (transport only).
        case handshakeFailed, decryptFailed
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// The wire code sent to the peer for this error, if it is one a peer should hear about.
    var wireCode: ErrorCode? {
        switch code {
        case .protocolViolation: .protocolViolation
        case .unsupportedVersion: .unsupportedVersion
        case .notMember: .notMember
        case .wrongLibrary: .wrongLibrary
        case .badBatch: .badBatch
        case .unauthorizedWrite: .unauthorizedWrite
        case .limitExceeded: .limitExceeded
        case .creditExceeded: .creditExceeded
        case .unexpectedMessage: .unexpectedMessage
        case .timeout: .timeout
        case .internalError: .internalError
        case .shuttingDown: .shuttingDown
        case .pairingRefused: .pairingRefused
        case .closedByPeer, .connectionLost, .handshakeFailed, .decryptFailed: nil
        }
    }

    /// A decoding failure, as the error the session closes with.
    public init(decoding e: MessageError, peer: String) {
        self.init(e.code == .limitExceeded ? .limitExceeded : .protocolViolation, "\(peer): \(e.message)")
    }
}

/// What a session did, for `hearth sync` to print when it exits.
public struct SyncSummary: Equatable, Sendable, CustomStringConvertible {
    public var batchesReceived = 0
    public var changesReceived: UInt64 = 0
    public var batchesSent = 0
    public var changesSent: UInt64 = 0
    public var chunksReceived = 0
    public var chunkBytesReceived = 0
    public var chunksSent = 0
    public var chunkBytesSent = 0
    /// Chunks wanted that the peer did not hold.
    public var chunksUnavailable = 0
    /// Chunks the peer asked for that failed their hash in this node's store: not sent (the peer
    /// was told they are absent) and set aside for repair. Each a sentence naming the chunk.
    public var chunksDamagedHere: [String] = []
    /// Chunks the peer sent whose bytes did not match their id (the session then ends).
    public var chunksRejected = 0
    /// Bytes of every message each way (type byte included, before encryption).
    public var messageBytesReceived = 0
    public var messageBytesSent = 0

    public init() {}

    public var description: String {
        "received \(changesReceived) changes in \(batchesReceived) batches and \(chunksReceived) chunks"
            + " (\(chunkBytesReceived) bytes); sent \(changesSent) changes in \(batchesSent) batches and"
            + " \(chunksSent) chunks (\(chunkBytesSent) bytes)"
            + (chunksUnavailable > 0 ? "; \(chunksUnavailable) wanted chunks not held by the peer" : "")
            + (chunksDamagedHere.isEmpty ? "" : "; \(chunksDamagedHere.count) chunks asked for failed their hash here and were set aside, not sent")
    }
}

/// Where a session's transfer stands, for a progress display. `chunksToCome` grows as the
/// session learns what its policy wants, so `chunksReceived / (chunksReceived + chunksToCome)`
/// is the fraction known so far.
public struct SyncProgress: Equatable, Sendable {
    public var changesReceived: UInt64 = 0
    /// Chunks verified (stored, or held to be stored in the next batch) and their bytes.
    public var chunksReceived = 0
    public var chunkBytesReceived = 0
    /// Chunks asked for or still to ask for.
    public var chunksToCome = 0

    public init() {}
}
