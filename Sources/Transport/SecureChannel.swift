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
    /// Drives a `Handshake` (SPEC sections 3 and 8: preamble, `Noise_XX` or `XXpsk3`, admission of
    /// a joiner, the membership check, the Hellos) with the connection's events and real time.
    /// The reader passes the handshake frames and the peer's Hello raw; once the handshake is done
    /// the receiving half of the cipher goes to `startOpening`, and later frames arrive opened.
    static func establish(role: Connection.Role, context: SyncContext, peer: String,
                          events: inout AsyncStream<Connection.Event>.Iterator,
                          outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
                          startOpening: (TransportOpener) -> Void,
                          now: @Sendable () -> Int64) async throws -> SecureChannel {
        func hello(_ c: SyncContext) -> Hello {
            Hello(publicKey: c.identity.publicKey, library: c.catalog.syncLibrary.bytes,
                  epoch: c.epoch, policy: c.policy, software: c.software)
        }
        var config = HandshakeConfig(
            role: role == .initiator ? .initiator : .responder, identity: context.identity,
            library: context.catalog.syncLibrary, hello: hello(context), isMember: context.isMember,
            pairingHook: role == .responder ? context.pairingHook : nil,
            joinTicket: role == .initiator ? context.joinTicket : nil,
            timeout: context.limits.handshakeTimeout, peerName: peer, ephemeral: NoiseKeyPair.generate())
        if role == .responder, let resolve = context.libraries {
            config.libraries = { id in resolve(id).map { .init(hello: hello($0), isMember: $0.isMember) } }
        }
        var machine = Handshake(config)
        var pending = machine.handle(.start, now: now())
        while true {
            for effect in pending {
                switch effect {
                case .sendRaw(let bytes):
                    context.traffic?.add(sent: bytes.count)
                    try await outbound.write(ByteBuffer(bytes: bytes))
                case .sendFrame(let body):
                    let frame = try Framing.encode(body)
                    context.traffic?.add(sent: frame.count)
                    try await outbound.write(ByteBuffer(bytes: frame))
                case .close(let e):
                    throw e
                case .established(let o):
                    startOpening(o.cipher.opener)
                    if let p = o.pairing, role == .responder {
                        context.logger.notice("paired", metadata: ["device": "\(o.peerDevice.short)", "name": "\(p.name)",
                                                                   "ticket": "\(Hex.encode(p.ticketID))"])
                    }
                    // The library the peer's Hello named (a node serving several), else this context's.
                    let served = role == .responder ? context.libraries?(o.library) ?? context : context
                    return SecureChannel(cipher: o.cipher, peerDevice: o.peerDevice, peerHello: o.peerHello,
                                         version: o.version, context: served)
                }
            }
            guard let event = await events.next() else {
                pending = machine.handle(.ended("connection ended"), now: now())
                continue
            }
            switch event {
            case .preamble(let p): pending = machine.handle(.preamble(p), now: now())
            case .frame(let body): pending = machine.handle(.frame(body), now: now())
            case .tick: pending = machine.handle(.tick, now: now())
            case .localChange: pending = []
            case .ended(let why): pending = machine.handle(.ended(why), now: now())
            case .message, .undecodable, .undecryptable: // the reader opens nothing before the handshake is done
                throw SyncError(.internalError, "\(peer): an opened frame before the handshake finished")
            }
        }
    }
}
