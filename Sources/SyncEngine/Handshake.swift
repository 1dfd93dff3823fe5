import Catalog
import HearthCrypto
import Wire

/// What a joiner presents: the ticket id, its secret (the XXpsk3 PSK), the inviter it must be
/// talking to, and the name it asks to be listed under.
public struct JoinTicket: Sendable {
    public var ticketID: [UInt8]
    public var secret: [UInt8]
    public var inviter: DeviceID
    public var name: String

    public init(ticketID: [UInt8], secret: [UInt8], inviter: DeviceID, name: String) {
        precondition(ticketID.count == ConnectionPreamble.ticketIDLength && secret.count == 32)
        self.ticketID = ticketID
        self.secret = secret
        self.inviter = inviter
        self.name = name
    }
}

/// How a node that issued tickets answers pairing connections.
public struct PairingHook: Sendable {
    public enum Lookup: Sendable {
        /// An open ticket: run XXpsk3 with this secret.
        case open(secret: [UInt8])
        /// A ticket this node knows but will not honour (used, expired): the handshake still runs
        /// with its secret, so only a holder of the ticket hears why, in an Error message.
        case refused(secret: [UInt8], reason: String)
        /// No such ticket: the connection is closed after the preamble.
        case unknown
    }

    /// Finds a ticket by id.
    public var lookup: @Sendable (_ ticketID: [UInt8]) -> Lookup
    /// Admits a joiner that proved it holds the ticket's secret (commits it as a member and marks
    /// the ticket used, atomically); throws a `SyncError(.pairingRefused, …)` to refuse.
    public var admit: @Sendable (_ ticketID: [UInt8], _ publicKey: [UInt8], _ name: String) throws -> Void

    public init(lookup: @escaping @Sendable ([UInt8]) -> Lookup,
                admit: @escaping @Sendable ([UInt8], [UInt8], String) throws -> Void) {
        self.lookup = lookup
        self.admit = admit
    }
}

/// Everything one side of a handshake knows before the first byte.
public struct HandshakeConfig {
    public enum Role: Sendable { case initiator, responder }

    public var role: Role
    public var identity: Identity
    /// The library this node holds; a peer's Hello must name it.
    public var library: LibraryID
    /// The Hello this node sends (its `publicKey` must be `identity`'s).
    public var hello: Hello
    /// Whether a device may connect (a joiner accepts only the ticket's inviter instead).
    public var isMember: (DeviceID) -> Bool
    /// Responder: answers pairing preambles; nil refuses every one.
    public var pairingHook: PairingHook?
    /// Initiator: join with this ticket (XXpsk3) instead of opening a member session.
    public var joinTicket: JoinTicket?
    /// The preamble, the handshake and the Hellos must be done within this many ms of `.start`.
    public var timeout: Int64
    /// How errors name the peer.
    public var peerName: String
    /// This side's Noise ephemeral key pair: fresh random for every connection (SPEC 3). The
    /// machine draws no randomness itself; a simulation derives it from its seed.
    public var ephemeral: NoiseKeyPair
    /// Responder serving several libraries on one port: the library a peer's Hello names gives the
    /// Hello to answer with and who may use it (nil: not held here, refused as `wrong-library`).
    /// Without it the peer's Hello must name `library`. `isMember` above then admits a member of
    /// any library served, before the Hellos.
    public var libraries: ((LibraryID) -> ServedLibrary?)?

    /// One library a responder serves: its Hello and its members.
    public struct ServedLibrary {
        public var hello: Hello
        public var isMember: (DeviceID) -> Bool

        public init(hello: Hello, isMember: @escaping (DeviceID) -> Bool) {
            self.hello = hello
            self.isMember = isMember
        }
    }

    public init(role: Role, identity: Identity, library: LibraryID, hello: Hello, isMember: @escaping (DeviceID) -> Bool,
                pairingHook: PairingHook? = nil, joinTicket: JoinTicket? = nil, timeout: Int64 = 10_000,
                peerName: String, ephemeral: NoiseKeyPair) {
        precondition(role == .initiator || joinTicket == nil, "only the initiator presents a ticket")
        self.role = role
        self.identity = identity
        self.library = library
        self.hello = hello
        self.isMember = isMember
        self.pairingHook = pairingHook
        self.joinTicket = joinTicket
        self.timeout = timeout
        self.peerName = peerName
        self.ephemeral = ephemeral
        libraries = nil
    }
}

/// What the driver feeds a handshake.
public enum HandshakeInput: Sendable {
    /// The connection is open: the initiator sends its preamble and message 1; both arm the timeout.
    case start
    /// The responder read the initiator's preamble (SPEC 3.1).
    case preamble(ConnectionPreamble)
    /// The body of one frame: a Noise handshake message, or the sealed Hello (or Error) after it.
    case frame([UInt8])
    /// Time passed: the handshake timeout.
    case tick
    /// The connection broke or the peer closed it.
    case ended(String)
}

/// A pairing the handshake carried out.
public struct PairingOutcome: Sendable, Equatable {
    public let ticketID: [UInt8]
    /// The name the joiner asked to be listed under.
    public let name: String
    /// Responder: it admitted the joiner. Initiator: the inviter let this node in.
    public let admitted: Bool
}

/// The result of a handshake: the transport cipher and who the peer is.
public struct HandshakeOutcome {
    /// Both directions of the transport cipher. The opener has opened the peer's Hello (nonce 0).
    public let cipher: TransportCipher
    public let peerDevice: DeviceID
    public let peerHello: Hello
    /// The library the session serves: the one the peer's Hello named (see `HandshakeConfig.libraries`).
    public let library: LibraryID
    /// The protocol version the session speaks (SPEC 8).
    public let version: UInt16
    /// Set on a pairing connection that admitted the joiner.
    public let pairing: PairingOutcome?
}

/// What the driver must do, in order.
public enum HandshakeEffect {
    /// Write these bytes unframed (the preamble).
    case sendRaw([UInt8])
    /// Write one frame with this body.
    case sendFrame([UInt8])
    /// The handshake and the Hellos are done: run a `SyncSession` with `version`.
    case established(HandshakeOutcome)
    /// Close the connection (an encrypted Error message, if any, was sent just before).
    case close(SyncError)
}

/// One side of a connection's handshake as a pure state machine, `(state, input, now) -> [effect]`:
/// the preamble, `Noise_XX` or `Noise_XXpsk3` with the identity payloads, pairing admission, the
/// membership check and the Hello exchange with version negotiation (SPEC sections 3 and 8). It
/// reads no clock and draws no randomness: `now` is monotonic elapsed ms and the ephemeral key
/// comes in the config, so a simulation runs it deterministically.
///
/// A non-member is dropped before it hears the library id: nothing but handshake messages goes to
/// a peer before its device passed the membership check.
public struct Handshake {
    enum Step: Equatable {
        case idle, preamble, message1, message2, message3, hello, done
    }

    let config: HandshakeConfig
    var step: Step = .idle
    var deadline: Int64 = 0
    var noise: NoiseHandshake?
    /// Responder on a pairing connection: the ticket and the reason it is refused, if it is.
    var pairing: (ticketID: [UInt8], refusal: String?)?
    var admitted: PairingOutcome?
    var peerPayload: HandshakePayload?
    var peerDevice: DeviceID?
    var cipher: TransportCipher?
    /// Set once the handshake failed; every later input returns nothing.
    public private(set) var closed: SyncError?

    public init(_ config: HandshakeConfig) { self.config = config }

    var peer: String { config.peerName }

    /// True once `.established` was returned.
    public var isEstablished: Bool { step == .done }

    /// What the machine waits for, for errors and timeouts.
    var awaiting: String {
        switch step {
        case .idle: "start"
        case .preamble: "preamble"
        case .message1: "handshake message 1"
        case .message2: "handshake message 2"
        case .message3: "handshake message 3"
        case .hello: "Hello"
        case .done: "nothing"
        }
    }

    /// Advances the handshake by one input. After `.established` or `.close` every input returns nothing.
    public mutating func handle(_ input: HandshakeInput, now: Int64) -> [HandshakeEffect] {
        guard closed == nil, step != .done else { return [] }
        var out: [HandshakeEffect] = []
        do {
            switch input {
            case .start:
                guard step == .idle else { throw SyncError(.internalError, "handshake started twice") }
                deadline = now + config.timeout
                try start(&out)
            case .tick:
                guard step != .idle else { return [] }
                if now > deadline {
                    throw SyncError(.timeout, "\(peer): no \(awaiting) within \(config.timeout) ms")
                }
            case .ended(let why):
                throw SyncError(.handshakeFailed, "\(peer) before \(awaiting): \(why)")
            case .preamble(let p):
                guard step == .preamble else {
                    throw SyncError(.handshakeFailed, "\(peer): expected \(awaiting), got a preamble")
                }
                try preamble(p)
            case .frame(let body):
                try frame(body, &out)
            }
        } catch let e as SyncError {
            fail(e, &out)
        } catch {
            fail(SyncError(.handshakeFailed, "\(peer): \(error)"), &out)
        }
        return out
    }

    mutating func fail(_ e: SyncError, _ out: inout [HandshakeEffect]) {
        closed = e
        out.append(.close(e))
    }

    func makeNoise(psk: [UInt8]?) throws -> NoiseHandshake {
        try NoiseHandshake(role: config.role == .initiator ? .initiator : .responder, pattern: psk == nil ? .XX : .XXpsk3,
                           identity: config.identity, prologue: HandshakePayload.prologue, psk: psk,
                           ephemeral: config.ephemeral)
    }

    /// Which handshake: the initiator says it in the preamble; the responder waits to read it.
    mutating func start(_ out: inout [HandshakeEffect]) throws {
        guard config.role == .initiator else {
            step = .preamble
            return
        }
        let hs: NoiseHandshake
        if let t = config.joinTicket {
            out.append(.sendRaw(ConnectionPreamble.pairing(ticketID: t.ticketID).encoded()))
            hs = try makeNoise(psk: t.secret)
        } else {
            out.append(.sendRaw(ConnectionPreamble.member.encoded()))
            hs = try makeNoise(psk: nil)
        }
        noise = hs
        out.append(.sendFrame(try hs.writeMessage()))
        step = .message2
    }

    /// Responder: looks the ticket of a pairing preamble up. An unknown one closes at once.
    mutating func preamble(_ p: ConnectionPreamble) throws {
        var psk: [UInt8]?
        if let id = p.ticketID {
            guard let hook = config.pairingHook else {
                throw SyncError(.pairingRefused, "\(peer) asked to pair with ticket \(Hex.encode(id)), but this node is not accepting pairing")
            }
            switch hook.lookup(id) {
            case .open(let secret): (psk, pairing) = (secret, (id, nil))
            case .refused(let secret, let reason): (psk, pairing) = (secret, (id, reason))
            case .unknown:
                throw SyncError(.pairingRefused, "\(peer) presented ticket \(Hex.encode(id)), which this node never issued")
            }
        }
        noise = try makeNoise(psk: psk)
        step = .message1
    }

    mutating func frame(_ body: [UInt8], _ out: inout [HandshakeEffect]) throws {
        switch step {
        case .idle, .preamble, .done:
            throw SyncError(.handshakeFailed, "\(peer): a frame while waiting for the \(awaiting)")
        case .message1, .message2, .message3:
            guard body.count <= Framing.maxHandshakeBodyLength else {
                throw SyncError(.handshakeFailed, "\(peer): \(awaiting) of \(body.count) bytes is over \(Framing.maxHandshakeBodyLength)")
            }
            try noiseMessage(body, &out)
        case .hello:
            try hello(body, &out)
        }
    }

    /// Noise messages 1–3, then (once the peer's identity is known) admission and the membership check.
    mutating func noiseMessage(_ body: [UInt8], _ out: inout [HandshakeEffect]) throws {
        let hs = noise!
        let theirs: [UInt8]
        do {
            switch step {
            case .message1:
                guard try hs.readMessage(body).isEmpty else {
                    throw SyncError(.handshakeFailed, "\(peer): handshake message 1 has a payload")
                }
                out.append(.sendFrame(try hs.writeMessage(HandshakePayload(identity: config.identity).encoded())))
                step = .message3
                return
            case .message2:
                theirs = try hs.readMessage(body)
                let mine = HandshakePayload(identity: config.identity)
                let m3 = config.joinTicket.map { PairingPayload(identity: mine, name: $0.name).encoded() } ?? mine.encoded()
                out.append(.sendFrame(try hs.writeMessage(m3)))
            default:
                theirs = try hs.readMessage(body)
            }
        } catch let e as SyncError {
            throw e
        } catch {
            let why = pairing != nil ? " (a pairing handshake fails here when the joiner does not hold the ticket's secret)" : ""
            throw SyncError(.handshakeFailed, "\(peer): \(error)\(why)")
        }
        var joinerName: String?
        let payload: HandshakePayload
        let device: DeviceID
        do {
            if pairing != nil {
                let p = try PairingPayload(decoding: theirs, context: "\(peer) pairing payload")
                (payload, joinerName) = (p.identity, p.name)
            } else {
                payload = try HandshakePayload(decoding: theirs, context: "\(peer) handshake payload")
            }
            device = try payload.verifiedDevice(of: hs)
        } catch {
            throw SyncError(.handshakeFailed, "\(peer): \(error)")
        }
        (peerPayload, peerDevice) = (payload, device)
        let cipher = hs.transportCipher()
        self.cipher = cipher
        if let (ticketID, refusal) = pairing {
            try admit(ticketID: ticketID, refusal: refusal, publicKey: payload.ed25519PublicKey, device: device,
                      name: joinerName!, cipher: cipher, &out)
        }
        // Membership before a single library byte: a stranger gets only a closed connection.
        let accepted = config.joinTicket.map { $0.inviter == device } ?? config.isMember(device)
        guard accepted else {
            if let joining = config.joinTicket {
                throw SyncError(.notMember, "\(peer) is device \(device.short), not \(joining.inviter.short) that issued the ticket")
            }
            throw SyncError(.notMember, "\(peer): device \(device.short) is not a member of the library")
        }
        if config.role == .initiator { out.append(.sendFrame(try cipher.seal(Message.hello(config.hello).encoded()))) }
        step = .hello
    }

    /// Responder on a pairing connection: admits the joiner, or tells it why not, encrypted, so
    /// that only the ticket's holder reads the reason.
    mutating func admit(ticketID: [UInt8], refusal: String?, publicKey: [UInt8], device: DeviceID, name: String,
                        cipher: TransportCipher, _ out: inout [HandshakeEffect]) throws {
        func refuse(_ e: SyncError) throws -> Never {
            let m = Message.error(ErrorMessage(code: .pairingRefused, text: String(decoding: e.message.utf8.prefix(1000), as: UTF8.self)))
            if let sealed = try? cipher.seal(m.encoded()) { out.append(.sendFrame(sealed)) }
            throw e
        }
        if let refusal {
            try refuse(SyncError(.pairingRefused, "\(peer) (device \(device.short)) presented ticket \(Hex.encode(ticketID)): \(refusal)"))
        }
        do {
            try config.pairingHook!.admit(ticketID, publicKey, name)
        } catch let e as SyncError {
            try refuse(e)
        } catch {
            try refuse(SyncError(.pairingRefused, "\(peer): could not admit device \(device.short): \(error)"))
        }
        admitted = PairingOutcome(ticketID: ticketID, name: name, admitted: true)
    }

    /// The peer's first transport message: its Hello (or the Error of a refused pairing).
    mutating func hello(_ body: [UInt8], _ out: inout [HandshakeEffect]) throws {
        let cipher = cipher!
        let plain: [UInt8]
        do { plain = try cipher.open(body) } catch {
            throw SyncError(.decryptFailed, "\(peer): Hello did not decrypt (\(error))")
        }
        let h: Hello
        switch Result(catching: { try Message.decode(plain) }) {
        case .success(.hello(let hello)): h = hello
        case .success(.error(let e)) where e.code == .pairingRefused:
            throw SyncError(.pairingRefused, "\(peer) refused the ticket: \(e.text)")
        case .success(.error(let e)):
            throw SyncError(.closedByPeer, "\(peer) closed the session: \(e.code) \(e.text)")
        case .success:
            throw SyncError(.unexpectedMessage, "\(peer): first message is not a Hello")
        case .failure(let e):
            throw SyncError(.decryptFailed, "\(peer): Hello did not decode (\(e))")
        }
        var served = (library: config.library, hello: config.hello, isMember: config.isMember)
        if config.role == .responder, let resolve = config.libraries {
            guard let library = LibraryID(bytes: h.library), let s = resolve(library) else {
                throw SyncError(.wrongLibrary, "\(peer) asks for library \(Hex.encode(h.library)), which this node does not hold")
            }
            served = (library, s.hello, s.isMember)
        }
        let isMember: (DeviceID) -> Bool = config.joinTicket.map { j in { $0 == j.inviter } } ?? served.isMember
        let version = try Self.check(peerHello: h, handshakeKey: peerPayload!.ed25519PublicKey, library: served.library,
                                     isMember: isMember, peer: peer, localMaxVersion: served.hello.protocolVersion)
        if config.role == .responder { out.append(.sendFrame(try cipher.seal(Message.hello(served.hello).encoded()))) }
        let joined = config.joinTicket.map { PairingOutcome(ticketID: $0.ticketID, name: $0.name, admitted: true) }
        step = .done
        out.append(.established(HandshakeOutcome(cipher: cipher, peerDevice: peerDevice!, peerHello: h,
                                                 library: served.library, version: version, pairing: admitted ?? joined)))
    }

    /// Checks a peer's Hello against what the handshake proved and what we hold.
    /// Returns the protocol version the session speaks.
    public static func check(peerHello h: Hello, handshakeKey: [UInt8], library: LibraryID,
                             isMember: (DeviceID) -> Bool, peer: String,
                             localMaxVersion: UInt16 = MessageLimits.protocolVersion) throws(SyncError) -> UInt16 {
        guard constantTimeEqual(h.publicKey, handshakeKey) else {
            throw SyncError(.notMember, "\(peer): Hello names a key other than the one its handshake proved")
        }
        guard h.library == library.bytes else {
            throw SyncError(.wrongLibrary, "\(peer) holds library \(Hex.encode(h.library)), not \(library)")
        }
        guard isMember(DeviceID(publicKey: h.publicKey)) else {
            throw SyncError(.notMember, "\(peer): device \(DeviceID(publicKey: h.publicKey).short) is not a member of library \(library)")
        }
        guard let version = ProtocolVersion.negotiate(localMax: localMaxVersion, peer: h) else {
            throw SyncError(.unsupportedVersion, "\(peer) speaks protocol \(h.protocolVersion); this node needs "
                            + "\(MessageLimits.minimumProtocolVersion)...\(localMaxVersion)")
        }
        return version
    }
}
