import HearthCrypto

/// Who wrote a change: a device, in one epoch of its database.
///
/// A restored or rebuilt database starts a new epoch, so its sequence numbers start over
/// without ever colliding with dots its earlier life already gave out.
public struct Origin: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let device: DeviceID
    public let epoch: UInt32

    public init(device: DeviceID, epoch: UInt32) {
        self.device = device
        self.epoch = epoch
    }

    public static func < (a: Origin, b: Origin) -> Bool {
        a.device != b.device ? a.device < b.device : a.epoch < b.epoch
    }

    public var description: String { "\(device.short)/\(epoch)" }
}

/// A change's identity: the origin that made it and that origin's sequence number (from 1).
public struct Dot: Hashable, Comparable, Sendable {
    public let origin: Origin
    public let seq: UInt64

    public init(origin: Origin, seq: UInt64) {
        self.origin = origin
        self.seq = seq
    }

    public static func < (a: Dot, b: Dot) -> Bool {
        a.origin != b.origin ? a.origin < b.origin : a.seq < b.seq
    }
}

/// A node's knowledge: for each origin, the highest contiguous sequence number it holds.
public struct VersionVector: Equatable, Sendable {
    public private(set) var entries: [Origin: UInt64]

    public init(_ entries: [Origin: UInt64] = [:]) {
        self.entries = entries.filter { $0.value > 0 }
    }

    public subscript(origin: Origin) -> UInt64 {
        get { entries[origin] ?? 0 }
        set { entries[origin] = newValue == 0 ? nil : newValue }
    }

    public func covers(_ dot: Dot) -> Bool { self[dot.origin] >= dot.seq }

    /// Pointwise maximum.
    public func merged(with other: VersionVector) -> VersionVector {
        var out = self
        for (o, s) in other.entries where s > out[o] { out[o] = s }
        return out
    }

    /// True when every entry of `other` is at most ours.
    public func dominates(_ other: VersionVector) -> Bool {
        other.entries.allSatisfy { self[$0.key] >= $0.value }
    }

    /// Entries in canonical (sorted) order: the only way they may reach an output.
    public var sorted: [(origin: Origin, seq: UInt64)] {
        entries.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}

/// A contiguous run of one origin's changes, `firstSeq...lastSeq`, signed by that origin.
///
/// Batches are the unit of storage, transfer and verification: a batch travels unchanged
/// through any node (gossip) and is verified against its origin's public key on arrival.
/// `payload` is the Catalog's canonical encoding of the changes; the signature covers
/// `signedBytes`, which binds the library, origin and sequence range to the payload.
public struct SignedBatch: Equatable, Sendable {
    public let origin: Origin
    public let firstSeq: UInt64
    public let lastSeq: UInt64
    public let payload: [UInt8]
    public let signature: [UInt8]

    public init(origin: Origin, firstSeq: UInt64, lastSeq: UInt64, payload: [UInt8], signature: [UInt8]) {
        self.origin = origin
        self.firstSeq = firstSeq
        self.lastSeq = lastSeq
        self.payload = payload
        self.signature = signature
    }

    /// The bytes the origin signs: "hearth-batch-v1" ‖ library id (16) ‖ device hash (32) ‖
    /// epoch (u32 BE) ‖ firstSeq (u64 BE) ‖ lastSeq (u64 BE) ‖ BLAKE2b-256(payload).
    public static func signedBytes(library: LibraryID, origin: Origin, firstSeq: UInt64, lastSeq: UInt64,
                                   payload: [UInt8]) -> [UInt8] {
        var out = Array("hearth-batch-v1".utf8)
        out += library.bytes
        out += origin.device.hash.bytes
        out += withUnsafeBytes(of: origin.epoch.bigEndian, Array.init)
        out += withUnsafeBytes(of: firstSeq.bigEndian, Array.init)
        out += withUnsafeBytes(of: lastSeq.bigEndian, Array.init)
        out += Blake2b.hash(payload)
        return out
    }
}

/// A library's random 128-bit id.
public struct LibraryID: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    public init?(hex: String) {
        guard let b = Hex.decode(hex), b.count == 16 else { return nil }
        bytes = b
    }

    public static func random() -> LibraryID { LibraryID(bytes: secureRandomBytes(16))! }

    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }
}
