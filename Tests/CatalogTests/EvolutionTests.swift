import Foundation
import HearthCrypto
import Testing
@testable import Catalog

/// A batch of `changes` (any mix of known and unknown ones) signed by `signer`: what a node of
/// a later release, with change kinds and fields this build does not know, would send.
func craftChanges(_ lib: LibraryID, signer: Identity, firstSeq: UInt64 = 1, context: [(origin: Origin, seq: UInt64)],
                  changes: [Change]) -> SignedBatch {
    let payload = Payload(hlc: UInt64(t0) << 16, context: context, changes: changes).encode()
    return signed(lib, signer: signer, firstSeq: firstSeq, count: changes.count, payload: payload)
}

func signed(_ lib: LibraryID, signer: Identity, firstSeq: UInt64 = 1, count: Int, payload: [UInt8]) -> SignedBatch {
    let origin = Origin(device: signer.deviceID, epoch: 1)
    let last = firstSeq + UInt64(count) - 1
    let sig = signer.sign(SignedBatch.signedBytes(library: lib, origin: origin, firstSeq: firstSeq, lastSeq: last, payload: payload))
    return SignedBatch(origin: origin, firstSeq: firstSeq, lastSeq: last, payload: payload, signature: sig)
}

/// An import body in payload version 3 with a known field (bytes) and one this build does not know (999).
func importWithUnknownField(_ n: Int) -> [UInt8] {
    var w = ByteWriter()
    w.hash(assetID(n)); w.string("IMG_\(n).JPG"); w.object(objectRef("orig-\(n)"))
    w.varint(2)
    w.varint(UInt64(AssetField.bytes.rawValue)); w.data(Schema.encodeValue(.int(4242)))
    w.varint(999); w.data([0xde, 0xad])
    return w.bytes
}

/// A field edit naming field 500, which this build does not know.
func editOfUnknownField(_ n: Int) -> [UInt8] {
    var w = ByteWriter()
    w.hash(assetID(n)); w.varint(500); w.raw([7, 7, 7])
    return w.bytes
}

func tempPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-evo-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

@Suite struct EvolutionTests {
    /// A batch from a newer node with a far-future change kind, an import carrying an unknown
    /// field and an edit of an unknown field: accepted, counted, relayed byte-identical, kept
    /// across a reopen, never applied.
    @Test func unknownKindsAndFieldsAreKeptCountedAndRelayed() throws {
        let founder = identity(1)
        let path = tempPath("a.sqlite")
        let a = try Catalog.create(path: path, identity: founder, personName: "Ann", nonce: [UInt8](repeating: 9, count: 16), now: t0)
        let newer = identity(2)
        try a.commit([.addMember(publicKey: newer.publicKey, name: "New", role: .member)], now: t0)
        let b = try Catalog.join(path: nil, library: a.libraryID, identity: newer)
        try sync(a, b)
        let batch = craftChanges(a.libraryID, signer: newer, context: try membershipContext(b), changes: [
            .unknown(kind: 200, body: [1, 2, 3]),
            .unknown(kind: 4, body: importWithUnknownField(1)),
            .unknown(kind: 5, body: editOfUnknownField(1)),
            .known(.tagAdd(assetID(1), "Kept")),
        ])
        #expect(batch.payload.first == 3)
        let r = try a.applyRemote([batch], now: t0)
        #expect(r.rejected.isEmpty && r.applied == 1 && r.changes == 4 && r.deferred == 3)
        #expect(try a.versionVector()[batch.origin] == 4, "every change's dot is consumed")
        #expect(try a.deferredChangeCount() == 3)
        // The known part applies now: the import with its known field, and the tag.
        let asset = try #require(try a.asset(assetID(1)))
        #expect(asset.bytes == 4242 && asset.thumbhash == nil)
        #expect(try a.tags(of: assetID(1)) == ["Kept"])
        // Relayed unchanged to a third node, which keeps it too.
        let c = try Catalog.join(path: nil, library: a.libraryID, identity: identity(3))
        let served = try a.batches(missingFrom: VersionVector())
        #expect(served.contains(batch), "relayed byte-identical")
        let rc = try c.applyRemote(served, now: t0)
        #expect(rc.rejected.isEmpty && rc.deferred == 3)
        #expect(try c.digest() == a.digest())
        // Survives a reopen; the current level still does not know these, so nothing applies.
        let again = try Catalog.open(path: path, identity: founder)
        #expect(try again.deferredChangeCount() == 3)
        #expect(try again.versionVector()[batch.origin] == 4)
        #expect(try again.digest() == a.digest())
        #expect(try again.batches(missingFrom: VersionVector()).contains(batch))
    }

    /// An older-level node receives the format 2 field, relays it to a newer node, and applies
    /// it once reopened at the current level.
    @Test func olderLevelKeepsNewFieldRelaysItAndAppliesItOnUpgrade() throws {
        let cs = try library(2)
        let a = cs[0]
        let path = tempPath("old.sqlite")
        let oldID = identity(5)
        try a.commit([.addMember(publicKey: oldID.publicKey, name: "Old", role: .member)], now: t0)
        let old = try Catalog.join(path: path, library: a.libraryID, identity: oldID, formatLevel: CatalogFormat.base)
        try sync(a, old)
        let v2 = try a.commit([.importAsset(anImport(1))], now: t0 + 1)
        let v3 = try a.commit([.importAsset(anImport(2, fields: [.thumbhash: .text("1QcSHQRnh493V4dIh4eXh1h4kJUI")])),
                               .setField(assetID(1), .thumbhash, .text("3OcRJYB4d3h/iIeHeEh3eIhw+j3A"))], now: t0 + 2)
        #expect(v2.payload.first == 2 && v3.payload.first == 3)
        let r = try sync(a, old)
        #expect(r.rejected.isEmpty && r.deferred == 2)
        #expect(try old.asset(assetID(2))?.thumbhash == nil && old.asset(assetID(1))?.thumbhash == nil)
        #expect(try old.digest(format: CatalogFormat.base) == a.digest(format: CatalogFormat.base))
        #expect(try old.digest() != a.digest())
        // An older node cannot write what it does not understand.
        #expect(throws: CatalogError.self) { try old.commit([.setField(assetID(1), .thumbhash, .text("x"))], now: t0 + 3) }
        // Relayed through the older node to a newer one, which applies everything.
        let third = try Catalog.join(path: nil, library: a.libraryID, identity: identity(6))
        try a.commit([.addMember(publicKey: identity(6).publicKey, name: "Third", role: .member)], now: t0 + 4)
        try sync(a, old)
        let rt = try sync(old, third)
        #expect(rt.rejected.isEmpty && rt.deferred == 0)
        #expect(try third.digest() == a.digest())
        // Upgraded: the kept changes apply with their original stamps.
        let upgraded = try Catalog.open(path: path, identity: oldID)
        #expect(try upgraded.deferredChangeCount() == 0)
        #expect(try upgraded.asset(assetID(2))?.thumbhash == "1QcSHQRnh493V4dIh4eXh1h4kJUI")
        #expect(try upgraded.digest() == a.digest())
        // An edit made after the upgrade still beats the import's value, and once upgraded the
        // catalog cannot go back to the lower level.
        #expect(throws: CatalogError.self) { try Catalog.open(path: path, identity: oldID, formatLevel: CatalogFormat.base) }
    }

    /// A kept import field does not overwrite a later edit of that field, nor a later import.
    @Test func keptImportFieldsLoseToLaterWrites() throws {
        let cs = try library(2)
        let a = cs[0]
        let path = tempPath("old.sqlite")
        let oldID = identity(5)
        try a.commit([.addMember(publicKey: oldID.publicKey, name: "Old", role: .member)], now: t0)
        let old = try Catalog.join(path: path, library: a.libraryID, identity: oldID, formatLevel: CatalogFormat.base)
        try a.commit([.importAsset(anImport(1, fields: [.thumbhash: .text("first")])),
                      .importAsset(anImport(2, fields: [.thumbhash: .text("imported")]))], now: t0 + 1)
        try a.commit([.setField(assetID(2), .thumbhash, .text("edited"))], now: t0 + 2)
        try sync(a, old)
        #expect(try old.deferredChangeCount() == 3)
        let upgraded = try Catalog.open(path: path, identity: oldID)
        #expect(try upgraded.asset(assetID(1))?.thumbhash == "first")
        #expect(try upgraded.asset(assetID(2))?.thumbhash == "edited")
        #expect(try upgraded.digest() == a.digest())
    }

    /// Unknown changes never grant anything: a non-member's or a partner's batch is refused
    /// whatever it carries, and an unknown kind counts as a write.
    @Test func unknownChangesAreAuthorizedLikeAnyWrite() throws {
        let cs = try library(3, roles: [.member, .partner])
        let a = cs[0]
        let partner = craftChanges(a.libraryID, signer: identity(3), context: try membershipContext(cs[2]),
                                   changes: [.unknown(kind: 200, body: [])])
        let stranger = craftChanges(a.libraryID, signer: identity(40), context: try membershipContext(a),
                                    changes: [.unknown(kind: 200, body: [])])
        let r = try a.applyRemote([partner, stranger], now: t0)
        #expect(Set(r.rejected.map(\.reason.code)) == [.notPermitted, .notMember])
        #expect(try a.deferredChangeCount() == 0)
    }

    /// Truly malformed version 3 payloads are still refused whole.
    @Test func malformedV3IsRefused() throws {
        let cs = try library(2)
        let a = cs[0]
        let ctx = try membershipContext(cs[1])
        func header(_ n: Int, version: UInt8 = 3) -> ByteWriter {
            var w = ByteWriter()
            w.u8(version); w.varint(UInt64(t0) << 16); w.varint(UInt64(ctx.count))
            for e in ctx { w.hash(e.origin.device.hash); w.varint(UInt64(e.origin.epoch)); w.varint(e.seq) }
            w.varint(UInt64(n))
            return w
        }
        var cases: [(String, [UInt8])] = []
        var w = header(1); w.varint(6); w.data(Array(assetID(1).bytes.prefix(31)))
        cases.append(("known kind, short body", w.bytes))
        w = header(1); w.varint(6); w.data(assetID(1).bytes + [0])
        cases.append(("known kind, trailing byte in its body", w.bytes))
        w = header(1); w.varint(200); w.varint(10); w.raw([1, 2, 3])
        cases.append(("change length beyond the payload", w.bytes))
        w = header(2); w.varint(200); w.data([1])
        cases.append(("fewer changes than counted", w.bytes))
        w = header(1); w.varint(0); w.data([])
        cases.append(("kind 0", w.bytes))
        w = header(1, version: 4); w.varint(200); w.data([])
        cases.append(("payload version 4", w.bytes))
        var imp = ByteWriter()
        imp.hash(assetID(1)); imp.string("a.jpg"); imp.object(objectRef("o")); imp.varint(2)
        imp.varint(999); imp.data([1]); imp.varint(998); imp.data([1])
        w = header(1); w.varint(4); w.data(imp.bytes)
        cases.append(("import fields out of order", w.bytes))
        imp = ByteWriter()
        imp.hash(assetID(1)); imp.string("a.jpg"); imp.object(objectRef("o")); imp.varint(1)
        imp.varint(UInt64(AssetField.rating.rawValue)); imp.data(Schema.encodeValue(.int(9)))
        w = header(1); w.varint(4); w.data(imp.bytes)
        cases.append(("known field, invalid value", w.bytes))
        var v2 = header(1, version: 2); v2.op(.setField(assetID(1), .thumbhash, .text("x")))
        cases.append(("a format 2 field in a version 2 payload", v2.bytes))
        for (name, payload) in cases {
            let count = name == "fewer changes than counted" ? 2 : 1
            let b = signed(a.libraryID, signer: identity(2), count: count, payload: payload)
            let r = try a.applyRemote([b], now: t0)
            #expect(r.rejected.map(\.reason.code) == [.badPayload], "\(name)")
            #expect(try a.versionVector()[b.origin] == 0, "\(name)")
        }
    }

    /// Old kinds are still written as payload version 2, byte for byte as release 6847644 wrote
    /// them; a format 2 field makes the batch version 3.
    @Test func writersKeepVersion2ForOldKinds() throws {
        let ops: [Op] = [.setField(assetID(1), .rating, .int(3)), .tagAdd(assetID(1), "A")]
        let bytes = Payload(hlc: 5, ops: ops).encode()
        // 2, hlc 5, no context, 2 changes, kind 5 ‖ id ‖ field 24 ‖ int tag 1 ‖ zigzag 3, kind 10 ‖ id ‖ "A"
        #expect(bytes == [2, 5, 0, 2, 5] + assetID(1).bytes + [24, 1, 6, 10] + assetID(1).bytes + [1, 65])
        let three = Payload(hlc: 5, ops: [.setField(assetID(1), .thumbhash, .text("h"))]).encode()
        #expect(three == [3, 5, 0, 1, 5, 36] + assetID(1).bytes + [30, 3, 1, 104])
        #expect(try Payload.decode(three).ops == [.setField(assetID(1), .thumbhash, .text("h"))])
        if case .unknown(5, _) = try Payload.decode(three, level: CatalogFormat.base).changes[0] {} else {
            Issue.record("a level 1 reader keeps a format 2 edit")
        }
    }

    /// Towards a peer that reads only payload version 2: each origin stops before its first
    /// version 3 batch, later version 2 batches of that origin included, so what it gets is contiguous.
    @Test func olderPeersGetAContiguousVersion2Prefix() throws {
        let cs = try library(2)
        let a = cs[0]
        let before = try a.versionVector()
        let first = try a.commit([.importAsset(anImport(1))], now: t0 + 1)
        try a.commit([.setField(assetID(1), .thumbhash, .text("h"))], now: t0 + 2)
        try a.commit([.setRating(assetID(1), 4)], now: t0 + 3)
        try sync(a, cs[1])
        try cs[1].commit([.addTag(assetID(1), "B")], now: t0 + 4)
        try sync(cs[1], a)
        let origin = first.origin
        let capped = try a.versionVector(maxPayloadVersion: 2)
        #expect(capped[origin] == first.lastSeq)
        #expect(capped[try cs[1].origin()] == (try a.versionVector())[try cs[1].origin()])
        let served = try a.batches(missingFrom: before, maxPayloadVersion: 2)
        #expect(served.allSatisfy { $0.payload.first == 2 })
        #expect(served.filter { $0.origin == origin }.map(\.lastSeq) == [first.lastSeq])
        #expect(served.contains { $0.origin != origin })
        #expect(try a.batches(missingFrom: before).count == served.count + 2)
    }
}
