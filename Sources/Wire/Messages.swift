import HearthCrypto

/// The sync protocol's messages, as specified in `protocol/SPEC.md` section "Messages".
///
/// A message is one decrypted frame: a type byte, then the body. Types 0x01–0x7F are
/// required (an unknown one is a protocol error); 0x80–0xFF are optional (an unknown one is
/// ignored), so later versions can add hints without breaking older nodes.
public enum Message: Equatable, Sendable {
    case hello(Hello)
    case summary(Summary)
    case batchRequest(BatchRequest)
    case batches(Batches)
    case chunkRequest(ChunkRequest)
    case chunkData(ChunkData)
    case credit(Credit)
    case done(Done)
    case error(ErrorMessage)
    case ping(Ping)
    /// An optional hint: where the sender accepts sync connections.
    case listening(Listening)
    /// A message in the optional range whose type this version does not know; receivers ignore it.
    case unknownOptional(type: UInt8)

    public var type: MessageType? {
        switch self {
        case .hello: .hello
        case .summary: .summary
        case .batchRequest: .batchRequest
        case .batches: .batches
        case .chunkRequest: .chunkRequest
        case .chunkData: .chunkData
        case .credit: .credit
        case .done: .done
        case .error: .error
        case .ping: .ping
        case .listening: .listening
        case .unknownOptional: nil
        }
    }
}

/// Message type bytes. 0x00 is never valid.
public enum MessageType: UInt8, Sendable, CaseIterable {
    case hello = 0x01
    case summary = 0x02
    case batchRequest = 0x03
    case batches = 0x04
    case chunkRequest = 0x05
    case chunkData = 0x06
    case credit = 0x07
    case done = 0x08
    case error = 0x09
    case ping = 0x0A
    /// The first optional type: older nodes ignore it.
    case listening = 0x80

    /// Types at or above this value are optional: unknown ones are ignored, not rejected.
    public static let firstOptional: UInt8 = 0x80
}

/// Hard limits on everything a peer sends (SPEC "Limits"). A message breaking one is rejected whole.
public enum MessageLimits {
    /// Highest protocol version this implementation speaks: 2 accepts batches with payload
    /// version 3 (see `ProtocolVersion`).
    public static let protocolVersion: UInt16 = 2
    /// Lowest protocol version this implementation accepts.
    public static let minimumProtocolVersion: UInt16 = 1
    /// Largest encoded message (type byte included): the 1 MiB plaintext a frame carries.
    public static let maxMessageBytes = 1 << 20
    /// Version vector entries in a Summary, BatchRequest or Done.
    public static let maxVectorEntries = 16_384
    /// Batches in one Batches message.
    public static let maxBatchesPerMessage = 4_096
    /// Payload bytes of one signed batch, so that it fits in one Batches message.
    public static let maxBatchPayloadBytes = maxMessageBytes - 128
    /// Chunk ids in one ChunkRequest.
    public static let maxChunkIDsPerRequest = 1_024
    /// Bytes of one chunk (the chunk store's largest FastCDC chunk).
    public static let maxChunkBytes = 8 * 1024 * 1024
    /// Bytes of one ChunkData piece.
    public static let maxChunkPieceBytes = maxMessageBytes - 64
    /// UTF-8 bytes of an Error message's text.
    public static let maxErrorTextBytes = 1_024
    /// UTF-8 bytes of Hello's software version string.
    public static let maxSoftwareBytes = 64
    /// Addresses listed in one Listening message.
    public static let maxListeningAddresses = 8
    /// UTF-8 bytes of one `host:port` address in Listening.
    public static let maxListeningAddressBytes = 255
}

/// What a node keeps locally, announced in Hello so the peer knows what it will ask for.
public enum StoragePolicy: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Originals, previews and thumbnails.
    case everything = 0
    /// Previews and thumbnails; originals fetched on demand.
    case previews = 1
    /// Thumbnails only.
    case thumbnails = 2

    public var description: String {
        switch self {
        case .everything: "everything"
        case .previews: "previews"
        case .thumbnails: "thumbnails"
        }
    }
}

/// Who a node is and what it holds; the first thing each side sends after the Noise handshake.
public struct Hello: Equatable, Sendable {
    /// Highest protocol version the sender speaks; the session uses the minimum of both.
    public var protocolVersion: UInt16
    /// Sender's Ed25519 public key (32 bytes); its X25519 form must equal the Noise remote static key.
    public var publicKey: [UInt8]
    /// Library id (16 bytes).
    public var library: [UInt8]
    /// Epoch of the sender's database.
    public var epoch: UInt32
    public var policy: StoragePolicy
    /// Free-form software name and version, e.g. "hearth/0.1.0".
    public var software: String

    public init(protocolVersion: UInt16 = MessageLimits.protocolVersion, publicKey: [UInt8], library: [UInt8],
                epoch: UInt32, policy: StoragePolicy, software: String) {
        precondition(publicKey.count == 32 && library.count == 16)
        self.protocolVersion = protocolVersion
        self.publicKey = publicKey
        self.library = library
        self.epoch = epoch
        self.policy = policy
        self.software = software
    }
}

/// One version vector entry: an origin (device hash and epoch) and its highest contiguous sequence.
public struct VectorEntry: Equatable, Sendable {
    public var device: Hash256
    public var epoch: UInt32
    public var seq: UInt64

    public init(device: Hash256, epoch: UInt32, seq: UInt64) {
        self.device = device
        self.epoch = epoch
        self.seq = seq
    }

    /// Canonical order: by device hash, then epoch.
    static func precedes(_ a: VectorEntry, _ b: VectorEntry) -> Bool {
        a.device != b.device ? a.device < b.device : a.epoch < b.epoch
    }
}

/// "This is what I hold": sent after Hello and again whenever the sender's catalog grows (push).
public struct Summary: Equatable, Sendable {
    public var entries: [VectorEntry]
    public init(entries: [VectorEntry]) { self.entries = entries }
}

/// "Send me every batch my vector does not cover."
public struct BatchRequest: Equatable, Sendable {
    public var have: [VectorEntry]
    public init(have: [VectorEntry]) { self.have = have }
}

/// A signed batch exactly as its origin produced it; relayed unchanged.
public struct WireBatch: Equatable, Sendable {
    public var device: Hash256
    public var epoch: UInt32
    public var firstSeq: UInt64
    public var lastSeq: UInt64
    public var payload: [UInt8]
    /// Ed25519 signature, 64 bytes.
    public var signature: [UInt8]

    public init(device: Hash256, epoch: UInt32, firstSeq: UInt64, lastSeq: UInt64, payload: [UInt8],
                signature: [UInt8]) {
        self.device = device
        self.epoch = epoch
        self.firstSeq = firstSeq
        self.lastSeq = lastSeq
        self.payload = payload
        self.signature = signature
    }
}

/// Part of the answer to a BatchRequest; `complete` marks the last part.
public struct Batches: Equatable, Sendable {
    public var batches: [WireBatch]
    public var complete: Bool
    public init(batches: [WireBatch], complete: Bool) {
        self.batches = batches
        self.complete = complete
    }
}

/// "Send me these chunks." Ids strictly ascending, 1...maxChunkIDsPerRequest of them.
public struct ChunkRequest: Equatable, Sendable {
    public var ids: [Hash256]
    public init(ids: [Hash256]) { self.ids = ids }
}

/// A piece of one requested chunk, or word that the sender does not hold it (`bytes == nil`).
///
/// Chunks may be larger than a message (up to 8 MiB against 1 MiB), so a chunk travels as
/// consecutive pieces, `offset` ascending from 0 until `offset + bytes.count == totalLength`.
public struct ChunkData: Equatable, Sendable {
    public var id: Hash256
    public var totalLength: UInt32
    public var offset: UInt32
    public var bytes: [UInt8]?

    public init(id: Hash256, totalLength: UInt32, offset: UInt32, bytes: [UInt8]) {
        self.id = id
        self.totalLength = totalLength
        self.offset = offset
        self.bytes = bytes
    }

    /// The sender does not hold the chunk.
    public static func absent(_ id: Hash256) -> ChunkData {
        var d = ChunkData(id: id, totalLength: 0, offset: 0, bytes: [])
        d.bytes = nil
        return d
    }

    /// True when this piece ends its chunk (or says the chunk is absent).
    public var isLast: Bool { bytes.map { Int(offset) + $0.count == Int(totalLength) } ?? true }
}

/// Flow control: the receiver lets the sender send `bytes` more bytes of Batches and ChunkData.
public struct Credit: Equatable, Sendable {
    public var bytes: UInt32
    public init(bytes: UInt32) { self.bytes = bytes }
}

/// "I want nothing more from you; this is my vector." Both sides Done with equal vectors = converged.
public struct Done: Equatable, Sendable {
    public var entries: [VectorEntry]
    public init(entries: [VectorEntry]) { self.entries = entries }
}

/// Why the sender is closing the connection. Sent once, right before closing.
public struct ErrorMessage: Equatable, Sendable {
    public var code: ErrorCode
    public var text: String
    public init(code: ErrorCode, text: String) {
        self.code = code
        self.text = text
    }
}

/// Error codes on the wire. Unknown codes from a newer peer decode as `.other(n)`.
public enum ErrorCode: Equatable, Sendable, CustomStringConvertible {
    case protocolViolation, unsupportedVersion, notMember, wrongLibrary, badBatch, unauthorizedWrite
    case limitExceeded, creditExceeded, unexpectedMessage, timeout, internalError, shuttingDown
    /// A pairing ticket was unknown, already used or expired (pairing connections only).
    case pairingRefused
    case other(UInt16)

    public init(rawValue: UInt16) {
        switch rawValue {
        case 1: self = .protocolViolation
        case 2: self = .unsupportedVersion
        case 3: self = .notMember
        case 4: self = .wrongLibrary
        case 5: self = .badBatch
        case 6: self = .unauthorizedWrite
        case 7: self = .limitExceeded
        case 8: self = .creditExceeded
        case 9: self = .unexpectedMessage
        case 10: self = .timeout
        case 11: self = .internalError
        case 12: self = .shuttingDown
        case 13: self = .pairingRefused
        default: self = .other(rawValue)
        }
    }

    public var rawValue: UInt16 {
        switch self {
        case .protocolViolation: 1
        case .unsupportedVersion: 2
        case .notMember: 3
        case .wrongLibrary: 4
        case .badBatch: 5
        case .unauthorizedWrite: 6
        case .limitExceeded: 7
        case .creditExceeded: 8
        case .unexpectedMessage: 9
        case .timeout: 10
        case .internalError: 11
        case .shuttingDown: 12
        case .pairingRefused: 13
        case .other(let n): n
        }
    }

    public var description: String {
        switch self {
        case .protocolViolation: "protocol-violation"
        case .unsupportedVersion: "unsupported-version"
        case .notMember: "not-member"
        case .wrongLibrary: "wrong-library"
        case .badBatch: "bad-batch"
        case .unauthorizedWrite: "unauthorized-write"
        case .limitExceeded: "limit-exceeded"
        case .creditExceeded: "credit-exceeded"
        case .unexpectedMessage: "unexpected-message"
        case .timeout: "timeout"
        case .internalError: "internal-error"
        case .shuttingDown: "shutting-down"
        case .pairingRefused: "pairing-refused"
        case .other(let n): "code-\(n)"
        }
    }
}

/// Keep-alive; a Ping with `reply == false` is answered with the same nonce and `reply == true`.
public struct Ping: Equatable, Sendable {
    public var nonce: UInt64
    public var reply: Bool
    public init(nonce: UInt64, reply: Bool) {
        self.nonce = nonce
        self.reply = reply
    }
}

/// "I accept sync connections on this port (and at these addresses)": sent by a node that listens,
/// right after the Hellos, so that a peer that only ever saw it connect inbound can dial it later.
///
/// The receiver combines `port` with the IP address the connection comes from; `addresses` are
/// `host:port` strings the sender knows it is reachable at (a configured name, a forwarded port).
public struct Listening: Equatable, Sendable {
    /// The TCP port the sender accepts sync connections on, 1...65535.
    public var port: UInt16
    /// At most 8 `host:port` strings, each at most 255 bytes (IPv6 hosts in brackets).
    public var addresses: [String]

    public init(port: UInt16, addresses: [String] = []) {
        precondition(port > 0 && addresses.count <= MessageLimits.maxListeningAddresses)
        precondition(addresses.allSatisfy(Self.isValidAddress), "Listening addresses must be host:port")
        self.port = port
        self.addresses = addresses
    }

    /// Whether `text` is `host:port` as SPEC "Listening" requires: 1...255 bytes, a non-empty host
    /// without spaces or control characters (an IPv6 host in brackets, the only place `:` and
    /// brackets may appear), and a decimal port 1...65535 without leading zeros.
    public static func isValidAddress(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= MessageLimits.maxListeningAddressBytes,
              let colon = bytes.lastIndex(of: UInt8(ascii: ":")) else { return false }
        let digits = bytes[(colon + 1)...]
        guard (1...5).contains(digits.count), digits.first != UInt8(ascii: "0"),
              digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              let port = Int(String(decoding: digits, as: UTF8.self)), port <= 65535 else { return false }
        var host = bytes[..<colon]
        guard !host.isEmpty, host.allSatisfy({ $0 > 0x20 && $0 != 0x7f }) else { return false }
        if host.first == UInt8(ascii: "[") {
            guard host.count > 2, host.last == UInt8(ascii: "]") else { return false }
            host = host.dropFirst().dropLast()
            return !host.contains(UInt8(ascii: "[")) && !host.contains(UInt8(ascii: "]"))
        }
        return !host.contains(UInt8(ascii: ":")) && !host.contains(UInt8(ascii: "[")) && !host.contains(UInt8(ascii: "]"))
    }
}

/// A message that could not be decoded. `message` says what was wrong and where.
public struct MessageError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The body ended before a field did.
        case truncated
        /// Bytes left over after the last field.
        case trailingBytes
        /// Type 0x00 or an unknown type in the required range.
        case unknownType
        /// A count or length over its limit.
        case limitExceeded
        /// A field holds a value the SPEC forbids (bad flag bits, zero sequence, unknown policy…).
        case invalidField
        /// Entries or ids not in strictly ascending order (duplicates included).
        case notCanonical
        /// Text that is not valid UTF-8.
        case badUTF8
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
