import HearthCrypto
import Testing
@testable import Catalog

/// A batch for `lib` signed by `signer` as if it came from `signer`'s origin, claiming `context`.
func craft(_ lib: LibraryID, signer: Identity, epoch: UInt32 = 1, firstSeq: UInt64 = 1,
           context: [(origin: Origin, seq: UInt64)] = [], ops: [Op]) -> SignedBatch {
    let origin = Origin(device: signer.deviceID, epoch: epoch)
    let payload = Payload(hlc: UInt64(t0) << 16, context: context, ops: ops).encode()
    let last = firstSeq + UInt64(ops.count) - 1
    let sig = signer.sign(SignedBatch.signedBytes(library: lib, origin: origin, firstSeq: firstSeq, lastSeq: last, payload: payload))
    return SignedBatch(origin: origin, firstSeq: firstSeq, lastSeq: last, payload: payload, signature: sig)
}

@Suite struct SecurityTests {
    let importOp = Op.importAsset(id: assetID(1), fileName: "evil.jpg", original: objectRef("evil"), fields: [])

    @Test func forgedSignatureIsRejected() throws {
        let cs = try library(2)
        let good = try cs[1].commit([.importAsset(anImport(1))], now: t0)
        var sig = good.signature
        sig[5] ^= 1
        let forged = SignedBatch(origin: good.origin, firstSeq: good.firstSeq, lastSeq: good.lastSeq,
                                 payload: good.payload, signature: sig)
        let before = try cs[0].digest()
        let r = try cs[0].applyRemote([forged], now: t0)
        #expect(r.rejected.map(\.reason.code) == [.badSignature])
        #expect(try cs[0].digest() == before)
        var payload = good.payload
        payload[payload.count - 1] ^= 0x40
        let tampered = SignedBatch(origin: good.origin, firstSeq: good.firstSeq, lastSeq: good.lastSeq,
                                   payload: payload, signature: good.signature)
        #expect(try cs[0].applyRemote([tampered], now: t0).rejected.count == 1)
        #expect(try cs[0].digest() == before)
        #expect(try cs[0].applyRemote([good], now: t0).applied == 1)
    }

    @Test func nonMemberBatchIsRejected() throws {
        let a = try library(1)[0]
        let before = try a.digest()
        let r = try a.applyRemote([craft(a.libraryID, signer: identity(7), ops: [importOp])], now: t0)
        #expect(r.rejected.map(\.reason.code) == [.notMember])
        #expect(r.pending == 0)
        #expect(try a.digest() == before)
    }

    @Test func partnerAndNonAdminBatchesAreRejected() throws {
        let cs = try library(3, roles: [.member, .partner])
        let a = cs[0]
        let before = try a.digest()
        let ctx = try membershipContext(a)
        let partner = craft(a.libraryID, signer: identity(3), context: ctx, ops: [importOp])
        var r = try a.applyRemote([partner], now: t0)
        #expect(r.rejected.map(\.reason.code) == [.notPermitted])
        let grab = craft(a.libraryID, signer: identity(2), context: ctx, ops: [.memberPut(publicKey: identity(2).publicKey, name: "me", role: .admin)])
        r = try a.applyRemote([grab], now: t0)
        #expect(r.rejected.map(\.reason.code) == [.notPermitted])
        #expect(try a.digest() == before)
        #expect(try a.members().first { $0.device == identity(2).deviceID }?.role == .member)
    }

    @Test func removedMemberCannotWriteOnceItKnows() throws {
        let cs = try library(2)
        try cs[0].commit([.removeMember(identity(2).deviceID)], now: t0)
        try sync(cs[0], cs[1])
        #expect(throws: CatalogError.self) { try cs[1].commit([.importAsset(anImport(3))], now: t0) }
        // A batch it signs anyway, with the context it really has, is refused.
        let late = craft(cs[0].libraryID, signer: identity(2), context: try membershipContext(cs[1]),
                         ops: [.importAsset(id: assetID(3), fileName: "x.jpg", original: objectRef("x"), fields: [])])
        let r = try cs[0].applyRemote([late], now: t0)
        #expect(r.rejected.map(\.reason.code) == [.notMember])
        #expect(try cs[0].asset(assetID(3)) == nil)
    }

    @Test func joinerChecksGenesisAgainstLibraryID() throws {
        let real = try library(1)[0]
        let other = try Catalog.create(path: nil, identity: identity(8), personName: "Mallory",
                                       nonce: [UInt8](repeating: 3, count: 16), now: t0)
        let j = try Catalog.join(path: nil, library: real.libraryID, identity: identity(20))
        // Mallory's genesis names her own library id: its signature is for that library, and it founds another.
        var r = try j.applyRemote(other.batches(missingFrom: VersionVector()), now: t0)
        #expect(r.applied == 0 && r.rejected.count == 1)
        // A genesis re-signed for the real library id still fails: the id derives from the founder's key.
        let fake = craft(real.libraryID, signer: identity(8),
                         ops: [.genesis(nonce: [UInt8](repeating: 3, count: 16), publicKey: identity(8).publicKey),
                               .memberPut(publicKey: identity(8).publicKey, name: "Mallory", role: .admin)])
        r = try j.applyRemote([fake], now: t0)
        #expect(r.rejected.map(\.reason.code) == [.wrongLibrary])
        r = try j.applyRemote(real.batches(missingFrom: VersionVector()), now: t0)
        #expect(r.applied == 1 && r.rejected.isEmpty)
        #expect(try j.founder() == identity(1).publicKey)
        #expect(try j.digest() == real.digest())
    }

    @Test func memberBatchBeforeItsAdmissionIsAppliedInOneCall() throws {
        let cs = try library(1)
        let a = cs[0]
        try a.commit([.addMember(publicKey: identity(2).publicKey, name: "Bob", role: .member)], now: t0)
        let b = try Catalog.join(path: nil, library: a.libraryID, identity: identity(2))
        try sync(a, b)
        let bb = try b.commit([.importAsset(anImport(1))], now: t0)
        let j = try Catalog.join(path: nil, library: a.libraryID, identity: identity(30))
        let r = try j.applyRemote([bb] + a.batches(missingFrom: VersionVector()).reversed(), now: t0)
        #expect(r.applied == 3 && r.rejected.isEmpty)
        #expect(try j.digest() == b.digest())
    }
}

@Suite struct DecoderTests {
    @Test func roundTripsEveryOp() throws {
        let dot = Dot(origin: Origin(device: identity(1).deviceID, epoch: 3), seq: 77)
        let ops: [Op] = [
            .genesis(nonce: [UInt8](repeating: 1, count: 16), publicKey: identity(1).publicKey),
            .memberPut(publicKey: identity(2).publicKey, name: "Bob", role: .recognizer),
            .memberRemove(identity(3).deviceID),
            .importAsset(id: assetID(1), fileName: "a.jpg", original: objectRef("o"),
                         fields: [(.takenAt, .takenAt(TakenAt(localSeconds: -5, utcOffsetMinutes: -330))),
                                  (.latitude, .double(-33.5)), (.motionRange, .range(ByteRange(offset: 1, length: 2)))]),
            .setField(assetID(2), .rating, .int(3)), .purge(assetID(3)),
            .albumSet(albumID(1), .cover, .text(assetID(1).hex)), .albumAdd(albumID(1), assetID(2)),
            .albumRemove(albumID(1), assetID(2), observed: [dot]), .tagAdd(assetID(1), "A/B"),
            .tagRemove(assetID(1), "A/B", observed: [dot, dot]),
        ]
        let ctx = [(origin: dot.origin, seq: UInt64(4)), (origin: Origin(device: identity(1).deviceID, epoch: 4), seq: 1)]
        let p = Payload(hlc: 123_456, context: ctx, ops: ops)
        let decoded = try Payload.decode(p.encode())
        #expect(decoded.hlc == 123_456 && decoded.ops == ops)
        #expect(decoded.context.map(\.origin) == ctx.map(\.origin) && decoded.context.map(\.seq) == [4, 1])
        // A context out of order, repeated or with seq 0 is not canonical and is refused.
        for bad in [[ctx[1], ctx[0]], [ctx[0], ctx[0]], [(origin: dot.origin, seq: UInt64(0))]] {
            #expect(throws: CatalogError.self) { try Payload.decode(Payload(hlc: 1, context: bad, ops: ops).encode()) }
        }
    }

    /// Random bytes, truncations and bit flips of a valid payload: errors, never a crash.
    @Test func fuzzedPayloadsNeverCrash() throws {
        var rng = SeededRNG(seed: 7)
        let valid = Payload(hlc: 99, ops: [
            .importAsset(id: assetID(1), fileName: "a.jpg", original: objectRef("o"), fields: [(.rating, .int(3))]),
            .tagRemove(assetID(1), "A", observed: [Dot(origin: Origin(device: identity(1).deviceID, epoch: 1), seq: 2)]),
            .memberPut(publicKey: identity(2).publicKey, name: "Bob", role: .member),
        ]).encode()
        var rejected = 0
        for i in 0..<20_000 {
            var bytes: [UInt8]
            switch i % 3 {
            case 0: bytes = (0..<Int.random(in: 0..<64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 1: bytes = Array(valid.prefix(Int.random(in: 0..<valid.count, using: &rng)))
            default:
                bytes = valid
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            }
            if (try? Payload.decode(bytes)) == nil { rejected += 1 }
        }
        #expect(rejected > 10_000)
        // Huge counts are refused before any allocation.
        var w = ByteWriter()
        w.u8(2); w.varint(5); w.varint(0); w.varint(UInt64(Limits.opsPerBatch))
        #expect(throws: CatalogError.self) { try Payload.decode(w.bytes) }
        var chunky = ByteWriter()
        chunky.u8(2); chunky.varint(5); chunky.varint(0); chunky.varint(1); chunky.u8(4); chunky.hash(assetID(1)); chunky.string("a")
        chunky.hash(assetID(2)); chunky.varint(10); chunky.varint(1 << 19)
        #expect(throws: CatalogError.self) { try Payload.decode(chunky.bytes) }
    }

    @Test func signedGarbageFromAMemberIsRejected() throws {
        let cs = try library(2)
        let lib = cs[0].libraryID
        let origin = Origin(device: identity(2).deviceID, epoch: 1)
        let payload: [UInt8] = [1, 5, 1, 4, 0xff]
        let sig = identity(2).sign(SignedBatch.signedBytes(library: lib, origin: origin, firstSeq: 1, lastSeq: 1, payload: payload))
        let before = try cs[0].digest()
        let r = try cs[0].applyRemote([SignedBatch(origin: origin, firstSeq: 1, lastSeq: 1, payload: payload, signature: sig)], now: t0)
        #expect(r.rejected.map(\.reason.code) == [.badPayload])
        #expect(try cs[0].digest() == before)
    }
}
