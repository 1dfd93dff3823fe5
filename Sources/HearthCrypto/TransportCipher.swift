/// Both directions of a Noise session after the handshake: encrypts outgoing and decrypts
/// incoming transport messages in order, with implicit nonce counters.
///
/// Each direction is its own object (`sealer`, `opener`), so a connection may open frames on
/// one task while it seals on another; each half is still used by one task at a time.
/// Nonces are never reused: each counter lives in one object, reaches 2^64-1 only as an
/// error, and a message that fails authentication ends that direction for good (TCP delivers in order,
/// so a bad message means tampering, not reordering). Both peers rekey each direction after
/// every `rekeyInterval` messages in it (Noise §11.3), so they must agree on the interval.
///
/// `seal`/`open` carry application messages longer than one Noise message: the plaintext is
/// cut into pieces of `maxPlaintextLength` bytes (the last may be shorter, an empty message is
/// one empty piece), each encrypted as its own Noise message and concatenated. The receiver
/// cuts the body at every 65535 bytes, so piece boundaries need no length fields.
public final class TransportCipher {
    /// Plaintext bytes that fit in one Noise transport message.
    public static let maxPlaintextLength = Noise.maxMessageLength - Noise.tagLength
    /// Default messages per direction between rekeys.
    public static let defaultRekeyInterval: UInt64 = 1 << 16

    public let sealer: TransportSealer
    public let opener: TransportOpener
    public var rekeyInterval: UInt64 { sealer.rekeyInterval }

    /// - Parameter rekeyInterval: messages per direction between rekeys; 0 never rekeys.
    public init(send: CipherState, receive: CipherState, rekeyInterval: UInt64 = TransportCipher.defaultRekeyInterval) {
        precondition(send !== receive, "send and receive must be different ciphers")
        sealer = TransportSealer(send, rekeyInterval: rekeyInterval)
        opener = TransportOpener(receive, rekeyInterval: rekeyInterval)
    }

    /// Messages encrypted / decrypted so far.
    public var messagesSent: UInt64 { sealer.messages }
    public var messagesReceived: UInt64 { opener.messages }

    /// Encrypts one Noise transport message of at most `maxPlaintextLength` bytes.
    public func encrypt(_ plaintext: [UInt8]) throws -> [UInt8] { try sealer.encrypt(plaintext) }
    /// Decrypts the next incoming Noise transport message; any failure ends the session.
    public func decrypt(_ message: [UInt8]) throws -> [UInt8] { try opener.decrypt(message) }
    /// Encrypts an application message of any length as consecutive Noise messages.
    public func seal(_ plaintext: [UInt8]) throws -> [UInt8] { try sealer.seal(plaintext) }
    /// Reverses `seal`.
    public func open(_ body: [UInt8]) throws -> [UInt8] { try opener.open(body) }

    /// The size `seal` gives a plaintext of `plaintextLength` bytes.
    public static func sealedLength(plaintextLength: Int) -> Int {
        let pieces = max(1, (plaintextLength + maxPlaintextLength - 1) / maxPlaintextLength)
        return plaintextLength + pieces * Noise.tagLength
    }

    /// Rekeys both directions now; the peer must call it at the same point of the stream.
    public func rekeyNow() {
        sealer.cipher.rekey()
        opener.cipher.rekey()
    }
}

/// One direction of a transport session: its cipher, rekey interval and first failure (after
/// which every call fails: the session is over).
public class TransportDirection {
    let cipher: CipherState
    let rekeyInterval: UInt64
    private var failure: CryptoError?

    init(_ cipher: CipherState, rekeyInterval: UInt64) {
        self.cipher = cipher
        self.rekeyInterval = rekeyInterval
    }

    /// Messages processed so far in this direction.
    public var messages: UInt64 { cipher.nonce }

    /// Runs one step of this direction: refused once a step failed, and a crypto failure is
    /// remembered for good.
    func step<T>(_ body: () throws -> T) throws -> T {
        if let failure { throw failure }
        do {
            return try body()
        } catch let error as CryptoError {
            failure = error
            throw error
        }
    }

    /// After every `rekeyInterval` messages in this direction (Noise §11.3); 0 never rekeys.
    func rekeyIfDue() {
        if rekeyInterval > 0 && cipher.nonce % rekeyInterval == 0 { cipher.rekey() }
    }
}

/// The sending direction of a transport session.
public final class TransportSealer: TransportDirection {
    /// Encrypts one Noise transport message of at most `maxPlaintextLength` bytes.
    public func encrypt(_ plaintext: [UInt8]) throws -> [UInt8] {
        guard plaintext.count <= TransportCipher.maxPlaintextLength else {
            throw CryptoError(.badLength, "transport message of \(plaintext.count) bytes exceeds \(TransportCipher.maxPlaintextLength); use seal()")
        }
        return try step {
            let out = try cipher.encrypt(plaintext)
            rekeyIfDue()
            return out
        }
    }

    /// Encrypts an application message of any length as consecutive Noise messages.
    public func seal(_ plaintext: [UInt8]) throws -> [UInt8] {
        let n = TransportCipher.sealedLength(plaintextLength: plaintext.count)
        return try [UInt8](unsafeUninitializedCapacity: n) { out, count in
            try plaintext.withUnsafeBytes { try seal($0, into: UnsafeMutableRawBufferPointer(out)) }
            count = n
        }
    }

    /// `seal` straight into `out`, which must hold exactly `sealedLength(plaintextLength:)` bytes:
    /// no intermediate copies of the message.
    public func seal(_ plaintext: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) throws {
        precondition(out.count == TransportCipher.sealedLength(plaintextLength: plaintext.count))
        try step {
            var start = 0
            var at = 0
            repeat {
                let end = min(start + TransportCipher.maxPlaintextLength, plaintext.count)
                let piece = UnsafeRawBufferPointer(rebasing: plaintext[start..<end])
                try cipher.core.encrypt(plaintext: piece, into: out.baseAddress! + at)
                rekeyIfDue()
                at += piece.count + Noise.tagLength
                start = end
            } while start < plaintext.count
        }
    }
}

/// The receiving direction of a transport session.
public final class TransportOpener: TransportDirection {
    /// Decrypts the next incoming Noise transport message; any failure ends the session.
    public func decrypt(_ message: [UInt8]) throws -> [UInt8] {
        try step {
            guard message.count <= Noise.maxMessageLength else {
                throw CryptoError(.badLength, "peer's transport message is \(message.count) bytes, over the Noise limit of \(Noise.maxMessageLength)")
            }
            let out = try cipher.decrypt(message)
            rekeyIfDue()
            return out
        }
    }

    /// Reverses `seal`: decrypts a body made of 65535-byte Noise messages and a shorter last one.
    public func open(_ body: [UInt8]) throws -> [UInt8] {
        try body.withUnsafeBytes { try open($0) }
    }

    /// `open` reading the body in place: one pass, one output buffer.
    public func open(_ body: UnsafeRawBufferPointer) throws -> [UInt8] {
        try step {
            let lastPiece = body.count % Noise.maxMessageLength
            guard !body.isEmpty, lastPiece == 0 || lastPiece >= Noise.tagLength else {
                throw CryptoError(.badLength, "peer's sealed message of \(body.count) bytes cannot be cut into Noise messages")
            }
            let pieces = (body.count + Noise.maxMessageLength - 1) / Noise.maxMessageLength
            let n = body.count - pieces * Noise.tagLength
            return try [UInt8](unsafeUninitializedCapacity: max(1, n)) { out, count in
                var start = 0
                var at = 0
                while start < body.count {
                    let end = min(start + Noise.maxMessageLength, body.count)
                    try cipher.core.decrypt(ciphertext: UnsafeRawBufferPointer(rebasing: body[start..<end]),
                                            into: UnsafeMutableRawPointer(out.baseAddress! + at))
                    rekeyIfDue()
                    at += end - start - Noise.tagLength
                    start = end
                }
                count = n
            }
        }
    }
}
