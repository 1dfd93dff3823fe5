import Catalog
import HearthCrypto
import NIOCore
import SyncEngine
import Wire

/// A connection after the Noise handshake and the Hello exchange: the transport cipher and
/// the authenticated peer.
final class SecureChannel {
    let cipher: TransportCipher
    let peerDevice: DeviceID
    let peerHello: Hello
    let version: UInt16
    /// The context of the library this connection serves (see `SyncContext.libraries`).
    let context: SyncContext

    init(cipher: TransportCipher, peerDevice: DeviceID, peerHello: Hello, version: UInt16, context: SyncContext) {
        self.cipher = cipher
        self.peerDevice = peerDevice
        self.peerHello = peerHello
        self.version = version
        self.context = context
    }

    /// The sealed frame in a buffer ready to write: encrypted straight behind its header.
    func sealBuffer(_ m: Message) throws -> ByteBuffer {
        let plain = m.encoded()
        let n = TransportCipher.sealedLength(plaintextLength: plain.count)
        precondition(n <= Framing.defaultMaxBodyLength, "a message over the frame limit was built")
        var buffer = ByteBufferAllocator().buffer(capacity: Framing.headerLength + n)
        buffer.writeInteger(UInt32(n))
        try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: n) { out in
            try plain.withUnsafeBytes { try cipher.sealer.seal($0, into: UnsafeMutableRawBufferPointer(rebasing: out[0..<n])) }
            return n
        }
        return buffer
    }
    static func seal(_ m: Message, _ cipher: TransportCipher) throws -> [UInt8] {
        try Framing.encode(try cipher.seal(m.encoded()))
    }
    /// Runs the preamble and `Noise_XX` (or `XXpsk3` for pairing) with the identity payloads,
    /// admits a joiner, checks membership, exchanges Hellos (SPEC sections 3 and 6). A non-member
    /// is dropped before it hears the library id. Once the handshake is done, the receiving
    /// half of the cipher goes to `startOpening`: frames arrive opened and decoded from then on.
    static func establish(role: Connection.Role, context: SyncContext, peer: String,
                          events: inout AsyncStream<Connection.Event>.Iterator,
                          outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
                          startOpening: (TransportOpener) -> Void,
                          now: @Sendable () -> Int64) async throws -> SecureChannel {
        let deadline = now() + context.limits.handshakeTimeout
        func next(_ what: String, limit: Int) async throws -> Connection.Event {
            while let e = await events.next() {
                switch e {
                case .frame(let body):
                    guard body.count <= limit else {
                        throw SyncError(.handshakeFailed, "\(peer): \(what) of \(body.count) bytes is over \(limit)")
                    }
                    return e
                case .preamble, .message, .undecodable, .undecryptable: return e
                case .tick:
                    if now() > deadline {
                        throw SyncError(.timeout, "\(peer): no \(what) within \(context.limits.handshakeTimeout) ms")
                    }
                case .localChange: continue
                case .ended(let why): throw SyncError(.handshakeFailed, "\(peer) before \(what): \(why)")
                }
            }
            throw SyncError(.handshakeFailed, "\(peer): connection ended before \(what)")
        }
        func nextFrame(_ what: String, limit: Int) async throws -> [UInt8] {
            guard case .frame(let body) = try await next(what, limit: limit) else {
                throw SyncError(.handshakeFailed, "\(peer): expected \(what), got a second preamble")
            }
            return body
        }
        func send(_ bytes: [UInt8]) async throws { try await outbound.write(ByteBuffer(bytes: try Framing.encode(bytes))) }

        // Which handshake: the initiator says it in the preamble; the responder reads it.
        var pairing: (ticketID: [UInt8], refusal: String?)?
        var psk: [UInt8]?
        if role == .initiator {
            if let t = context.joinTicket {
                try await outbound.write(ByteBuffer(bytes: ConnectionPreamble.pairing(ticketID: t.ticketID).encoded()))
                psk = t.secret
            } else {
                try await outbound.write(ByteBuffer(bytes: ConnectionPreamble.member.encoded()))
            }
        } else {
            guard case .preamble(let p) = try await next("preamble", limit: 0) else {
                throw SyncError(.handshakeFailed, "\(peer): no preamble")
            }
            if let id = p.ticketID {
                guard let hook = context.pairingHook else {
                    throw SyncError(.pairingRefused, "\(peer) asked to pair with ticket \(Hex.encode(id)), but this node is not accepting pairing")
                }
                switch hook.lookup(id) {
                case .open(let secret): (psk, pairing) = (secret, (id, nil))
                case .refused(let secret, let reason): (psk, pairing) = (secret, (id, reason))
                case .unknown:
                    throw SyncError(.pairingRefused, "\(peer) presented ticket \(Hex.encode(id)), which this node never issued")
                }
            }
        }

        let hs = try NoiseHandshake(role: role == .initiator ? .initiator : .responder, pattern: psk == nil ? .XX : .XXpsk3,
                                    identity: context.identity, prologue: HandshakePayload.prologue, psk: psk)
        let mine = HandshakePayload(identity: context.identity).encoded()
        let theirs: [UInt8]
        do {
            if role == .initiator {
                try await send(try hs.writeMessage())
                theirs = try hs.readMessage(try await nextFrame("handshake message 2", limit: Framing.maxHandshakeBodyLength))
                let m3 = context.joinTicket.map { PairingPayload(identity: HandshakePayload(identity: context.identity), name: $0.name).encoded() }
                try await send(try hs.writeMessage(m3 ?? mine))
            } else {
                let m1 = try hs.readMessage(try await nextFrame("handshake message 1", limit: Framing.maxHandshakeBodyLength))
                guard m1.isEmpty else { throw SyncError(.handshakeFailed, "\(peer): handshake message 1 has a payload") }
                try await send(try hs.writeMessage(mine))
                theirs = try hs.readMessage(try await nextFrame("handshake message 3", limit: Framing.maxHandshakeBodyLength))
            }
        } catch let e as SyncError {
            throw e
        } catch {
            let why = pairing != nil ? " (a pairing handshake fails here when the joiner does not hold the ticket's secret)" : ""
            throw SyncError(.handshakeFailed, "\(peer): \(error)\(why)")
        }
        let device: DeviceID
        let payload: HandshakePayload
        var joinerName: String?
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
        let cipher = hs.transportCipher()
        startOpening(cipher.opener)
        /// Refusals after the handshake go to the peer encrypted, so only the ticket's holder reads them.
        func refuse(_ e: SyncError) async throws -> Never {
            let m = Message.error(ErrorMessage(code: .pairingRefused, text: String(decoding: e.message.utf8.prefix(1000), as: UTF8.self)))
            try? await outbound.write(ByteBuffer(bytes: try Self.seal(m, cipher)))
            throw e
        }
        if let (ticketID, refusal) = pairing {
            if let refusal {
                try await refuse(SyncError(.pairingRefused, "\(peer) (device \(device.short)) presented ticket \(Hex.encode(ticketID)): \(refusal)"))
            }
            do {
                try context.pairingHook!.admit(ticketID, payload.ed25519PublicKey, joinerName!)
            } catch let e as SyncError {
                try await refuse(e)
            } catch {
                try await refuse(SyncError(.pairingRefused, "\(peer): could not admit device \(device.short): \(error)"))
            }
            context.logger.notice("paired", metadata: ["device": "\(device.short)", "name": "\(joinerName!)",
                                                       "ticket": "\(Hex.encode(ticketID))"])
        }
        // Membership before a single library byte: a stranger gets only a closed connection.
        let joining = context.joinTicket
        let accepted = joining.map { $0.inviter == device } ?? context.isMember(device)
        guard accepted else {
            if let joining {
                throw SyncError(.notMember, "\(peer) is device \(device.short), not \(joining.inviter.short) that issued the ticket")
            }
            throw SyncError(.notMember, "\(peer): device \(device.short) is not a member of the library")
        }
        func myHello(_ c: SyncContext) -> Message {
            .hello(Hello(publicKey: c.identity.publicKey, library: c.catalog.syncLibrary.bytes,
                         epoch: c.epoch, policy: c.policy, software: c.software))
        }
        if role == .initiator { try await outbound.write(ByteBuffer(bytes: try Self.seal(myHello(context), cipher))) }
        let hello: Hello
        switch try await next("Hello", limit: Framing.defaultMaxBodyLength) {
        case .message(.hello(let h)): hello = h
        case .message(.error(let e)) where e.code == .pairingRefused:
            throw SyncError(.pairingRefused, "\(peer) refused the ticket: \(e.text)")
        case .message(.error(let e)):
            throw SyncError(.closedByPeer, "\(peer) closed the session: \(e.code) \(e.text)")
        case .message:
            throw SyncError(.unexpectedMessage, "\(peer): first message is not a Hello")
        case .undecodable(let e):
            throw SyncError(.decryptFailed, "\(peer): Hello did not decode (\(e))")
        case .undecryptable(let why):
            throw SyncError(.decryptFailed, "\(peer): Hello did not decrypt (\(why))")
        default:
            throw SyncError(.handshakeFailed, "\(peer): a second preamble or handshake message instead of Hello")
        }
        var served = context
        if role == .responder, let resolve = context.libraries {
            guard let library = LibraryID(bytes: hello.library), let c = resolve(library) else {
                throw SyncError(.wrongLibrary, "\(peer) asks for library \(Hex.encode(hello.library)), which this node does not hold")
            }
            served = c
        }
        let isMember: (DeviceID) -> Bool = joining.map { j in { $0 == j.inviter } } ?? served.isMember
        let version = try SyncSession.check(peerHello: hello, handshakeKey: payload.ed25519PublicKey,
                                            library: served.catalog.syncLibrary, isMember: isMember, peer: peer)
        if role == .responder { try await outbound.write(ByteBuffer(bytes: try Self.seal(myHello(served), cipher))) }
        return SecureChannel(cipher: cipher, peerDevice: device, peerHello: hello, version: version, context: served)
    }
}
