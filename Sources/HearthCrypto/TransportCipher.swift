/// Both directions of a Noise session after the handshake: encrypts outgoing and decrypts
/// incoming transport messages in order, with implicit nonce counters.
///
/// Nonces are never reused: the counters live in this one object, reach 2^64-1 only as an
/// error, and a message that fails authentication ends the session (TCP delivers in order,
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

    public let rekeyInterval: UInt64
    private let sender: CipherState
    private let receiver: CipherState
    private var failure: CryptoError?

    /// - Parameter rekeyInterval: messages per direction between rekeys; 0 never rekeys.
    public init(send: CipherState, receive: CipherState, rekeyInterval: UInt64 = TransportCipher.defaultRekeyInterval) {
        precondition(send !== receive, "send and receive must be different ciphers")
        self.sender = send
        self.receiver = receive
        self.rekeyInterval = rekeyInterval
    }

    /// Messages encrypted / decrypted so far.
    public var messagesSent: UInt64 { sender.nonce }
    public var messagesReceived: UInt64 { receiver.nonce }

    /// Encrypts one Noise transport message of at most `maxPlaintextLength` bytes.
    public func encrypt(_ plaintext: [UInt8]) throws -> [UInt8] {
        if let failure { throw failure }
        guard plaintext.count <= Self.maxPlaintextLength else {
            throw CryptoError(.badLength, "transport message of \(plaintext.count) bytes exceeds \(Self.maxPlaintextLength); use seal()")
        }
        do {
            let out = try sender.encrypt(plaintext)
            rekeyIfDue(sender)
            return out
        } catch let error as CryptoError {
            failure = error
            throw error
        }
    }

    /// Decrypts the next incoming Noise transport message; any failure ends the session.
    public func decrypt(_ message: [UInt8]) throws -> [UInt8] {
        if let failure { throw failure }
        do {
            guard message.count <= Noise.maxMessageLength else {
                throw CryptoError(.badLength, "peer's transport message is \(message.count) bytes, over the Noise limit of \(Noise.maxMessageLength)")
            }
            let out = try receiver.decrypt(message)
            rekeyIfDue(receiver)
            return out
        } catch let error as CryptoError {
            failure = error
            throw error
        }
    }

    /// The size `seal` gives a plaintext of `plaintextLength` bytes.
    public static func sealedLength(plaintextLength: Int) -> Int {
        let pieces = max(1, (plaintextLength + maxPlaintextLength - 1) / maxPlaintextLength)
        return plaintextLength + pieces * Noise.tagLength
    }

    /// Encrypts an application message of any length as consecutive Noise messages.
    public func seal(_ plaintext: [UInt8]) throws -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(Self.sealedLength(plaintextLength: plaintext.count))
        var start = 0
        repeat {
            let end = min(start + Self.maxPlaintextLength, plaintext.count)
            out += try encrypt(Array(plaintext[start..<end]))
            start = end
        } while start < plaintext.count
        return out
    }

    /// Reverses `seal`: decrypts a body made of 65535-byte Noise messages and a shorter last one.
    public func open(_ body: [UInt8]) throws -> [UInt8] {
        if let failure { throw failure }
        let lastPiece = body.count % Noise.maxMessageLength
        guard !body.isEmpty, lastPiece == 0 || lastPiece >= Noise.tagLength else {
            let error = CryptoError(.badLength, "peer's sealed message of \(body.count) bytes cannot be cut into Noise messages")
            failure = error
            throw error
        }
        var out = [UInt8]()
        out.reserveCapacity(body.count)
        var start = 0
        while start < body.count {
            let end = min(start + Noise.maxMessageLength, body.count)
            out += try decrypt(Array(body[start..<end]))
            start = end
        }
        return out
    }

    /// Rekeys both directions now; the peer must call it at the same point of the stream.
    public func rekeyNow() {
        sender.rekey()
        receiver.rekey()
    }

    private func rekeyIfDue(_ cipher: CipherState) {
        if rekeyInterval > 0 && cipher.nonce % rekeyInterval == 0 { cipher.rekey() }
    }
}
