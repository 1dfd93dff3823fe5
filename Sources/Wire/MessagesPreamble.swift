public import HearthCrypto

/// The plaintext bytes an initiator sends before the Noise handshake (SPEC section 3.1).
///
/// The responder cannot tell `Noise_XX` from `Noise_XXpsk3` from handshake message 1, so the
/// initiator says which one follows: a member session (XX) or pairing with a ticket (XXpsk3,
/// the ticket's secret as the PSK). The preamble is not framed; it is 6 bytes for a member
/// session and 22 for pairing:
///
///     "HRTH" (4) | version u8 = 1 | mode u8 (0 member, 1 pairing) | ticket id (16, pairing only)
public struct ConnectionPreamble: Equatable, Sendable, CustomStringConvertible {
    public enum Mode: UInt8, Sendable {
        /// A member session: `Noise_XX`.
        case member = 0
        /// Pairing a new device with a ticket: `Noise_XXpsk3`.
        case pairing = 1
    }

    public static let magic: [UInt8] = Array("HRTH".utf8)
    public static let version: UInt8 = 1
    public static let ticketIDLength = 16
    /// The longest preamble (pairing): what a responder buffers at most before deciding.
    public static let maxLength = 6 + ticketIDLength

    public let mode: Mode
    /// The ticket named by a pairing preamble; nil for a member session.
    public let ticketID: [UInt8]?

    public static let member = ConnectionPreamble(mode: .member, ticketID: nil)

    public static func pairing(ticketID: [UInt8]) -> ConnectionPreamble {
        precondition(ticketID.count == ticketIDLength, "a ticket id is 16 bytes")
        return ConnectionPreamble(mode: .pairing, ticketID: ticketID)
    }

    private init(mode: Mode, ticketID: [UInt8]?) {
        self.mode = mode
        self.ticketID = ticketID
    }

    public func encoded() -> [UInt8] {
        Self.magic + [Self.version, mode.rawValue] + (ticketID ?? [])
    }

    public var description: String {
        mode == .member ? "member" : "pairing ticket \(Hex.encode(ticketID ?? []))"
    }

    /// Parses a preamble from the first bytes a responder received.
    /// - Returns: the preamble and the bytes it took, or nil when more bytes are needed.
    /// - Throws: `WireError.invalidValue` on a bad magic, version or mode, as soon as the byte
    ///   that shows it has arrived, so garbage is refused without waiting for more.
    public static func parse(_ bytes: [UInt8], context: String = "connection") throws -> (ConnectionPreamble, Int)? {
        for (i, b) in bytes.prefix(4).enumerated() where b != magic[i] {
            throw WireError(.invalidValue, "\(context): not a Hearth connection (preamble starts with \(Hex.encode(Array(bytes.prefix(4)))), expected 48525448 \"HRTH\")")
        }
        guard bytes.count >= 6 else { return nil }
        guard bytes[4] == version else {
            throw WireError(.invalidValue, "\(context): preamble version \(bytes[4]); this node speaks \(version)")
        }
        guard let mode = Mode(rawValue: bytes[5]) else {
            throw WireError(.invalidValue, "\(context): unknown connection mode \(bytes[5]) (0 member, 1 pairing)")
        }
        switch mode {
        case .member:
            return (.member, 6)
        case .pairing:
            guard bytes.count >= maxLength else { return nil }
            return (.pairing(ticketID: Array(bytes[6..<maxLength])), maxLength)
        }
    }
}

/// The payload of Noise message 3 on a pairing connection: the joiner's identity (as in every
/// handshake, 34 bytes) followed by the name it asks to be listed under (SPEC section 3.1).
/// Message 3 is encrypted under keys that mix in the ticket's secret, so the name is private
/// and authenticated.
public struct PairingPayload: Equatable, Sendable {
    public static let maxNameBytes = 64

    public let identity: HandshakePayload
    public let name: String

    public init(identity: HandshakePayload, name: String) {
        precondition(!name.isEmpty && name.utf8.count <= Self.maxNameBytes, "a device name is 1...64 bytes")
        self.identity = identity
        self.name = name
    }

    public func encoded() -> [UInt8] {
        var w = Writer(capacity: HandshakePayload.encodedLength + 1 + name.utf8.count)
        w.writeRaw(identity.encoded())
        w.writeString(name)
        return w.bytes
    }

    public init(decoding bytes: [UInt8], context: String = "pairing payload") throws {
        guard bytes.count > HandshakePayload.encodedLength else {
            throw WireError(.truncated, "\(context): \(bytes.count) bytes, expected an identity and a name")
        }
        let identity = try HandshakePayload(decoding: Array(bytes.prefix(HandshakePayload.encodedLength)), context: context)
        var r = Reader(Array(bytes.dropFirst(HandshakePayload.encodedLength)), context: context)
        let name = try r.readString(maxLength: Self.maxNameBytes, "device name")
        try r.finish()
        guard !name.isEmpty else { throw WireError(.invalidValue, "\(context): empty device name") }
        self.identity = identity
        self.name = name
    }
}
