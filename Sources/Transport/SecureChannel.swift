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

    init(cipher: TransportCipher, peerDevice: DeviceID, peerHello: Hello, version: UInt16) {
        self.cipher = cipher
        self.peerDevice = peerDevice
        self.peerHello = peerHello
        self.version = version
    }

    func seal(_ m: Message) throws -> [UInt8] { try Self.seal(m, cipher) }
    static func seal(_ m: Message, _ cipher: TransportCipher) throws -> [UInt8] {
        try Framing.encode(try cipher.seal(m.encoded()))
    }
    func open(_ body: [UInt8]) throws -> [UInt8] { try cipher.open(body) }

    /// Runs `Noise_XX` with the identity payloads, checks membership, exchanges Hellos
    /// (SPEC sections 3 and 6). A non-member is dropped before it hears the library id.
    static func establish(role: Connection.Role, context: SyncContext, peer: String,
                          events: inout AsyncStream<Connection.Event>.Iterator,
                          outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
                          now: @Sendable () -> Int64) async throws -> SecureChannel {
        let deadline = now() + context.limits.handshakeTimeout
        func nextFrame(_ what: String, limit: Int) async throws -> [UInt8] {
            while let e = await events.next() {
                switch e {
                case .frame(let body):
                    guard body.count <= limit else {
                        throw SyncError(.handshakeFailed, "\(peer): \(what) of \(body.count) bytes is over \(limit)")
                    }
                    return body
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
        func send(_ bytes: [UInt8]) async throws { try await outbound.write(ByteBuffer(bytes: try Framing.encode(bytes))) }

        let hs = try NoiseHandshake(role: role == .initiator ? .initiator : .responder, pattern: .XX,
                                    identity: context.identity, prologue: HandshakePayload.prologue)
        let mine = HandshakePayload(identity: context.identity).encoded()
        let theirs: [UInt8]
        do {
            if role == .initiator {
                try await send(try hs.writeMessage())
                theirs = try hs.readMessage(try await nextFrame("handshake message 2", limit: Framing.maxHandshakeBodyLength))
                try await send(try hs.writeMessage(mine))
            } else {
                let m1 = try hs.readMessage(try await nextFrame("handshake message 1", limit: Framing.maxHandshakeBodyLength))
                guard m1.isEmpty else { throw SyncError(.handshakeFailed, "\(peer): handshake message 1 has a payload") }
                try await send(try hs.writeMessage(mine))
                theirs = try hs.readMessage(try await nextFrame("handshake message 3", limit: Framing.maxHandshakeBodyLength))
            }
        } catch let e as SyncError {
            throw e
        } catch {
            throw SyncError(.handshakeFailed, "\(peer): \(error)")
        }
        let device: DeviceID
        let payload: HandshakePayload
        do {
            payload = try HandshakePayload(decoding: theirs, context: "\(peer) handshake payload")
            device = try payload.verifiedDevice(of: hs)
        } catch {
            throw SyncError(.handshakeFailed, "\(peer): \(error)")
        }
        // Membership before a single library byte: a stranger gets only a closed connection.
        guard context.isMember(device) else {
            throw SyncError(.notMember, "\(peer): device \(device.short) is not a member of the library")
        }
        let cipher = hs.transportCipher()
        let myHello = Message.hello(Hello(publicKey: context.identity.publicKey, library: context.catalog.syncLibrary.bytes,
                                          epoch: context.epoch, policy: context.policy, software: context.software))
        if role == .initiator { try await outbound.write(ByteBuffer(bytes: try Self.seal(myHello, cipher))) }
        let helloBody = try await nextFrame("Hello", limit: Framing.defaultMaxBodyLength)
        let hello: Hello
        do {
            guard case .hello(let h) = try Message.decode(try cipher.open(helloBody)) else {
                throw SyncError(.unexpectedMessage, "\(peer): first message is not a Hello")
            }
            hello = h
        } catch let e as SyncError {
            throw e
        } catch {
            throw SyncError(.decryptFailed, "\(peer): Hello did not decrypt or decode (\(error))")
        }
        let version = try SyncSession.check(peerHello: hello, handshakeKey: payload.ed25519PublicKey,
                                            library: context.catalog.syncLibrary, isMember: context.isMember, peer: peer)
        if role == .responder { try await outbound.write(ByteBuffer(bytes: try Self.seal(myHello, cipher))) }
        return SecureChannel(cipher: cipher, peerDevice: device, peerHello: hello, version: version)
    }
}
