/// A Noise HandshakeState (§5.3) for any pattern of `NoisePattern`, sans-IO: it turns payloads
/// into handshake messages and back; the caller moves the bytes.
///
/// Two peers, with `Frame`s of the Wire module around each message:
/// ```
/// let a = try NoiseHandshake(role: .initiator, pattern: .XX, identity: alice, prologue: p)
/// let b = try NoiseHandshake(role: .responder, pattern: .XX, identity: bob, prologue: p)
/// _ = try b.readMessage(try a.writeMessage())                  // -> e
/// _ = try a.readMessage(try b.writeMessage(bobPayload))        // <- e, ee, s, es
/// _ = try b.readMessage(try a.writeMessage(alicePayload))      // -> s, se
/// let aCipher = a.transportCipher(), bCipher = b.transportCipher()
/// ```
/// A reference type so that no copy of a half-done handshake (and its nonces) exists.
/// Not `Sendable`: keep it on the connection's event loop.
public final class NoiseHandshake {
    public enum Role: Sendable, Hashable { case initiator, responder }

    public let role: Role
    public let pattern: NoisePattern
    private let localStatic: NoiseKeyPair?
    private let psks: [SecretBytes]
    private var state: State
    private var failure: CryptoError?
    private var didSplit = false

    /// Everything a message changes, copied and committed as a whole so that a refused
    /// write leaves the handshake as it was.
    private struct State {
        var symmetric: SymmetricState
        var localEphemeral: NoiseKeyPair?
        var remoteStatic: [UInt8]?
        var remoteEphemeral: [UInt8]?
        var pskIndex = 0
        var messageIndex = 0
    }

    /// - Parameters:
    ///   - staticKey: this side's X25519 static key; needed when the pattern sends or pre-shares it.
    ///   - remoteStaticKey: the peer's X25519 static key, for patterns that know it in advance (`NK`, `IK`, `KK`…).
    ///   - prologue: bytes both sides must agree on; a mismatch fails the first encrypted payload.
    ///   - psks: one 32-byte key per `psk` token, in order.
    public init(role: Role, pattern: NoisePattern, staticKey: NoiseKeyPair? = nil,
                remoteStaticKey: [UInt8]? = nil, prologue: [UInt8] = [], psks: [[UInt8]] = []) throws {
        guard psks.count == pattern.pskCount else {
            throw CryptoError(.badKey, "pattern \(pattern) needs \(pattern.pskCount) pre-shared keys, got \(psks.count)")
        }
        for psk in psks where psk.count != Noise.keyLength {
            throw CryptoError(.badKey, "a pre-shared key must be \(Noise.keyLength) bytes, got \(psk.count)")
        }
        if let remoteStaticKey, remoteStaticKey.count != Noise.dhLength {
            throw CryptoError(.badKey, "remote static key must be \(Noise.dhLength) bytes, got \(remoteStaticKey.count)")
        }
        let (localPre, remotePre) = role == .initiator
            ? (pattern.initiatorPreMessage, pattern.responderPreMessage)
            : (pattern.responderPreMessage, pattern.initiatorPreMessage)
        let sendsStatic = pattern.messages.indices.contains { i in
            Self.sender(of: i, in: pattern) == role && pattern.messages[i].contains(.s)
        }
        if staticKey == nil && (sendsStatic || localPre.contains(.s)) {
            throw CryptoError(.badKey, "pattern \(pattern) needs this side's static key")
        }
        if remoteStaticKey == nil && remotePre.contains(.s) {
            throw CryptoError(.badKey, "pattern \(pattern) needs the peer's static key in advance")
        }
        self.role = role
        self.pattern = pattern
        self.localStatic = staticKey
        self.psks = psks.map(SecretBytes.init)
        var symmetric = SymmetricState(protocolName: pattern.protocolName)
        symmetric.mixHash(prologue)
        let initiatorStatic = role == .initiator ? staticKey?.publicKey : remoteStaticKey
        let responderStatic = role == .responder ? staticKey?.publicKey : remoteStaticKey
        if pattern.initiatorPreMessage.contains(.s), let key = initiatorStatic { symmetric.mixHash(key) }
        if pattern.responderPreMessage.contains(.s), let key = responderStatic { symmetric.mixHash(key) }
        state = State(symmetric: symmetric, remoteStatic: remoteStaticKey)
    }

    /// A handshake whose static key is the X25519 form of a device identity.
    /// `psk` is the pre-shared key of a one-PSK pattern such as `.XXpsk3`; leave it nil for `.XX`.
    /// `ephemeral` is the key pair this side sends as `e`; nil draws a fresh random one when it is
    /// needed. A caller that must not read randomness itself (a deterministic simulation) passes
    /// one it made; it MUST still be fresh for every connection.
    public convenience init(role: Role, pattern: NoisePattern, identity: Identity,
                            prologue: [UInt8] = [], psk: [UInt8]? = nil, ephemeral: NoiseKeyPair? = nil) throws {
        try self.init(role: role, pattern: pattern, staticKey: NoiseKeyPair(identity: identity),
                      prologue: prologue, psks: psk.map { [$0] } ?? [])
        if let ephemeral { useEphemeral(ephemeral) }
    }

    /// Fixes the ephemeral key this side will send (test vectors only).
    func useEphemeral(_ keyPair: NoiseKeyPair) { state.localEphemeral = keyPair }

    private static func sender(of message: Int, in pattern: NoisePattern) -> Role {
        pattern.isOneWay || message % 2 == 0 ? .initiator : .responder
    }

    /// True once every handshake message has been written or read.
    public var isComplete: Bool { state.messageIndex == pattern.messages.count }

    /// True when the next handshake step is `writeMessage`.
    public var isMyTurnToWrite: Bool { !isComplete && Self.sender(of: state.messageIndex, in: pattern) == role }

    /// The peer's X25519 static key, once the handshake has carried it (or it was known in advance).
    public var remoteStaticKey: [UInt8]? { state.remoteStatic }

    /// The handshake hash `h`: after completion, a value both peers share that names the session.
    public var handshakeHash: [UInt8] { state.symmetric.handshakeHash }

    /// Whether `ed25519PublicKey` (sent in a handshake payload) is the identity behind the
    /// authenticated remote static key, i.e. its X25519 form equals `remoteStaticKey`.
    public func remoteStaticMatches(ed25519PublicKey: [UInt8]) -> Bool {
        guard let remote = state.remoteStatic,
              let converted = try? Identity.curve25519PublicKey(ed25519: ed25519PublicKey) else { return false }
        return constantTimeEqual(converted, remote)
    }

    /// WriteMessage(payload): the next handshake message. Throws `.badLength` (handshake
    /// unchanged) if the message would exceed 65535 bytes.
    public func writeMessage(_ payload: [UInt8] = []) throws -> [UInt8] {
        if let failure { throw failure }
        precondition(isMyTurnToWrite, "writeMessage called when it is not this side's turn to write")
        var next = state
        var out = [UInt8]()
        do {
            for token in pattern.messages[next.messageIndex] {
                switch token {
                case .e:
                    let e = next.localEphemeral ?? NoiseKeyPair.generate()
                    next.localEphemeral = e
                    out += e.publicKey
                    next.symmetric.mixHash(e.publicKey)
                    if pattern.pskCount > 0 { next.symmetric.mixKey(e.publicKey) }
                case .s:
                    out += try next.symmetric.encryptAndHash(localStatic!.publicKey)
                case .psk:
                    mixPSK(&next)
                case .ee, .es, .se, .ss:
                    try mixDH(token, &next)
                }
            }
            out += try next.symmetric.encryptAndHash(payload)
        } catch let error as CryptoError {
            failure = error
            throw error
        }
        guard out.count <= Noise.maxMessageLength else {
            throw CryptoError(.badLength, "handshake message would be \(out.count) bytes, over the Noise limit of \(Noise.maxMessageLength); send a shorter payload")
        }
        next.messageIndex += 1
        state = next
        return out
    }

    /// ReadMessage(message): checks and decrypts a peer's handshake message, returning its
    /// payload. Any failure ends the handshake: later calls rethrow it.
    public func readMessage(_ message: [UInt8]) throws -> [UInt8] {
        if let failure { throw failure }
        do {
            guard !isComplete else {
                throw CryptoError(.handshake, "peer sent a handshake message after the handshake finished")
            }
            guard !isMyTurnToWrite else {
                throw CryptoError(.handshake, "peer sent handshake message \(state.messageIndex + 1) out of turn")
            }
            guard message.count <= Noise.maxMessageLength else {
                throw CryptoError(.badLength, "peer's handshake message is \(message.count) bytes, over the Noise limit of \(Noise.maxMessageLength)")
            }
            var next = state
            var rest = message[...]
            func take(_ n: Int) throws -> [UInt8] {
                guard rest.count >= n else {
                    throw CryptoError(.badLength, "peer's handshake message \(next.messageIndex + 1) is truncated (\(message.count) bytes)")
                }
                defer { rest = rest.dropFirst(n) }
                return Array(rest.prefix(n))
            }
            for token in pattern.messages[next.messageIndex] {
                switch token {
                case .e:
                    let re = try take(Noise.dhLength)
                    next.remoteEphemeral = re
                    next.symmetric.mixHash(re)
                    if pattern.pskCount > 0 { next.symmetric.mixKey(re) }
                case .s:
                    let length = Noise.dhLength + (next.symmetric.cipher.hasKey ? Noise.tagLength : 0)
                    next.remoteStatic = try next.symmetric.decryptAndHash(try take(length))
                case .psk:
                    mixPSK(&next)
                case .ee, .es, .se, .ss:
                    try mixDH(token, &next)
                }
            }
            let payload = try next.symmetric.decryptAndHash(Array(rest))
            next.messageIndex += 1
            state = next
            return payload
        } catch let error as CryptoError {
            failure = error
            throw error
        }
    }

    private func mixPSK(_ next: inout State) {
        next.symmetric.mixKeyAndHash(psks[next.pskIndex].bytes)
        next.pskIndex += 1
    }

    private func mixDH(_ token: NoisePattern.Token, _ next: inout State) throws {
        let initiator = role == .initiator
        let pair: (NoiseKeyPair?, [UInt8]?)
        switch token {
        case .ee: pair = (next.localEphemeral, next.remoteEphemeral)
        case .ss: pair = (localStatic, next.remoteStatic)
        case .es: pair = initiator ? (next.localEphemeral, next.remoteStatic) : (localStatic, next.remoteEphemeral)
        case .se: pair = initiator ? (localStatic, next.remoteEphemeral) : (next.localEphemeral, next.remoteStatic)
        default: preconditionFailure("\(token) is not a DH token")
        }
        guard let mine = pair.0, let theirs = pair.1 else {
            throw CryptoError(.handshake, "pattern \(pattern) token \(token) has no key to use")
        }
        var shared = try Noise.dh(mine, theirs)
        next.symmetric.mixKey(shared)
        secureZero(&shared)
    }

    /// Split(): the transport ciphers, `send` for this side's messages. Callable once, after completion.
    public func split() -> (send: CipherState, receive: CipherState) {
        precondition(isComplete && failure == nil, "split() before the handshake completed")
        precondition(!didSplit, "split() called twice; two ciphers with one key would reuse nonces")
        didSplit = true
        let (c1, c2) = state.symmetric.split()
        return role == .initiator
            ? (CipherState(core: c1), CipherState(core: c2))
            : (CipherState(core: c2), CipherState(core: c1))
    }

    /// `split()` wrapped in a `TransportCipher`.
    public func transportCipher(rekeyInterval: UInt64 = TransportCipher.defaultRekeyInterval) -> TransportCipher {
        let (send, receive) = split()
        return TransportCipher(send: send, receive: receive, rekeyInterval: rekeyInterval)
    }
}
