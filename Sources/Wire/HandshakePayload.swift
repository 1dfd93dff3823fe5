public import HearthCrypto

/// What a node puts in the Noise handshake messages that carry its static key (XX messages
/// 2 and 3): the wire version it speaks and its Ed25519 public key, so the peer can map
/// the authenticated X25519 static key to a device identity (`protocol/SPEC.md`, "Handshake").
public struct HandshakePayload: Sendable, Equatable {
    /// The Noise prologue of wire version 1 (`hearth/1`); other versions fail the handshake.
    public static let prologue: [UInt8] = Array("hearth/1".utf8)
    /// The only wire version so far.
    public static let currentVersion: UInt16 = 1
    public static let encodedLength = 2 + 32

    public let version: UInt16
    public let ed25519PublicKey: [UInt8]

    public init(version: UInt16 = HandshakePayload.currentVersion, ed25519PublicKey: [UInt8]) {
        precondition(ed25519PublicKey.count == 32)
        self.version = version
        self.ed25519PublicKey = ed25519PublicKey
    }

    public init(identity: Identity) { self.init(ed25519PublicKey: identity.publicKey) }

    public func encoded() -> [UInt8] {
        var w = Writer(capacity: Self.encodedLength)
        w.writeUInt16(version)
        w.writeRaw(ed25519PublicKey)
        return w.bytes
    }

    /// Parses a peer's payload; refuses versions other than `currentVersion`.
    public init(decoding bytes: [UInt8], context: String = "handshake payload") throws {
        var r = Reader(bytes, context: context)
        let version = try r.readUInt16("version")
        guard version == Self.currentVersion else {
            throw WireError(.invalidValue, "\(context): peer speaks wire version \(version), this node speaks \(Self.currentVersion)")
        }
        let key = try r.readRaw(count: 32, "Ed25519 public key")
        try r.finish()
        self.init(version: version, ed25519PublicKey: key)
    }

    /// The device the payload names, provided the handshake authenticated its X25519 form.
    public func verifiedDevice(of handshake: NoiseHandshake) throws -> DeviceID {
        guard handshake.remoteStaticMatches(ed25519PublicKey: ed25519PublicKey) else {
            throw WireError(.invalidValue, "handshake payload names device \(DeviceID(publicKey: ed25519PublicKey).short), whose key the peer did not prove it holds")
        }
        return DeviceID(publicKey: ed25519PublicKey)
    }
}
