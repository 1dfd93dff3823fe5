import Foundation
import HearthCrypto
import Testing
@testable import Catalog

/// `protocol/vectors/batches.json`: signed batches of one library, in order, with each payload's
/// decoded changes and the verdict a node at the current format level gives when it applies
/// them one after another. Written by `BatchVectors.generate()` (set `HEARTH_WRITE_VECTORS=1`
/// and run this suite to rewrite the file); checked against the implementation otherwise.
enum BatchVectors {
    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("protocol/vectors/batches.json")

    static let now: Int64 = 1_767_225_600_000
    static let nonce = [UInt8](repeating: 0x42, count: 16)
    static func key(_ n: UInt8) -> Identity { Identity.fromSeed([UInt8](repeating: n, count: 32)) }
    static let founder = key(0xa1), member = key(0xb2), partner = key(0xc3), stranger = key(0xd4)

    struct Case {
        let name: String
        let note: String
        let batch: SignedBatch
    }

    static func object(_ label: String, chunks: Int) -> ObjectRef {
        let parts = (0..<chunks).map { Blake2b.hash256(Array("\(label)-chunk-\($0)".utf8)) }
        return ObjectRef(id: Blake2b.hash256(Array(label.utf8)), size: UInt64(1000 * chunks), chunks: parts)
    }

    /// Builds the library with real commits, and the refused batches by hand.
    static func cases() throws -> (LibraryID, [Case]) {
        let a = try Catalog.create(path: nil, identity: founder, personName: "Ann", nonce: nonce, now: now)
        var out: [Case] = []
        func add(_ name: String, _ note: String, _ b: SignedBatch) { out.append(Case(name: name, note: note, batch: b)) }
        let lib = a.libraryID
        add("genesis", "the founder's first batch: genesis, then the founder as admin",
            try a.batches(missingFrom: VersionVector())[0])
        add("members", "the admin adds a member and a read-only partner",
            try a.commit([.addMember(publicKey: member.publicKey, name: "Bob", role: .member),
                          .addMember(publicKey: partner.publicKey, name: "Pat", role: .partner)], now: now + 1))
        let m = try Catalog.join(path: nil, library: lib, identity: member)
        try m.applyRemote(a.batches(missingFrom: VersionVector()), now: now)
        let photo = Blake2b.hash256(Array("photo-1".utf8))
        let original = object("photo-1", chunks: 2)
        add("import-v2", "an import with metadata and its preview and thumbnail: payload version 2 (release 6847644 reads it)",
            try m.commit([.importAsset(AssetImport(id: photo, fileName: "IMG_0001.JPG", original: original, fields: [
                .type: .text("image"), .mimeType: .text("image/jpeg"), .bytes: .int(2000), .width: .int(4032),
                .height: .int(3024), .takenAt: .takenAt(TakenAt(localSeconds: 1_700_000_000, utcOffsetMinutes: 540)),
                .latitude: .double(35.0116), .longitude: .double(135.7681), .motion: .bool(true),
                .motionRange: .range(ByteRange(offset: 1500, length: 500)),
            ])), .setPreview(photo, object("photo-1-preview", chunks: 1)),
            .setThumbnail(photo, object("photo-1-thumb", chunks: 1))], now: now + 2))
        let album = AlbumID(bytes: [UInt8](repeating: 0xab, count: 16))!
        add("edits-v2", "rating, favorite, description, a tag, an album with the photo in it",
            try m.commit([.setRating(photo, 4), .setFavorite(photo, true), .setDescription(photo, "Kyoto"),
                          .addTag(photo, "Places/Japan"), .createAlbum(album, name: "Trip"), .addToAlbum(album, photo)],
                         now: now + 3))
        add("removes-v2", "removing the tag and the album item names the dots they observed",
            try m.commit([.removeTag(photo, "Places/Japan"), .removeFromAlbum(album, photo)], now: now + 4))
        add("thumbhash-v3", "a format 2 field (thumbhash, 30) on an import and as an edit: payload version 3",
            try m.commit([.importAsset(AssetImport(id: Blake2b.hash256(Array("photo-2".utf8)), fileName: "IMG_0002.JPG",
                                                   original: object("photo-2", chunks: 1),
                                                   fields: [.bytes: .int(1000), .thumbhash: .text("1QcSHQRnh493V4dIh4eXh1h4kJUI")])),
                          .setField(photo, .thumbhash, .text("3OcRJYB4d3h/iIeHeEh3eIhw+j3A"))], now: now + 5))
        let bob = PersonID(bytes: Array(Blake2b.hash(Array("person-bob".utf8)).prefix(16)))!
        let hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
        let photo4 = Blake2b.hash256(Array("photo-4".utf8))
        add("people-v3", "format 3: a person (kind 12) created with every field, this member device linked to them (kind 13), "
            + "an import recording its owner (31) and SHA-1 (32), then a rename: payload version 3",
            try m.commit([.createPerson(bob, name: "Bob", email: "bob@example.org", isAdmin: false, passwordHash: hash,
                                        avatarColor: "green"),
                          .setDevicePerson(member.deviceID, bob),
                          .importAsset(AssetImport(id: photo4, fileName: "IMG_0004.JPG", original: object("photo-4", chunks: 1),
                                                   fields: [.bytes: .int(1000), .owner: .text(bob.uuid),
                                                            .sha1: .text(SHA1.base64(SHA1.digest(Array("photo-4".utf8))))])),
                          .setPerson(bob, .name, .text("Bob B."))], now: now + 6))
        try a.applyRemote(m.batches(missingFrom: a.versionVector()), now: now + 6)
        let mctx = try m.db.read { try Membership.context($0) }
        let next = try m.versionVector()[try m.origin()] + 1
        // A newer node's batch: a kind this release does not know, an import with an unknown
        // field, and a known change after them.
        var imp = ByteWriter()
        imp.hash(Blake2b.hash256(Array("photo-3".utf8))); imp.string("IMG_0003.JPG"); imp.object(object("photo-3", chunks: 1))
        imp.varint(2)
        imp.varint(1); imp.data(Schema.encodeValue(.int(1000)))
        imp.varint(77); imp.data([0x01, 0x02, 0x03])
        add("unknown-kind-v3", "kind 200 and field 77 are unknown to this release: kept, counted and relayed, not applied",
            sign(lib, member, firstSeq: next, changes: [.unknown(kind: 200, body: Array("future".utf8)),
                                                        .unknown(kind: 4, body: imp.bytes),
                                                        .known(.tagAdd(photo, "Kept"))], context: mctx))
        add("refused-partner", "a partner may not write", sign(lib, partner, firstSeq: 1,
            changes: [.known(.setField(photo, .rating, .int(1)))], context: mctx))
        add("refused-stranger", "a device that is not a member", sign(lib, stranger, firstSeq: 1,
            changes: [.known(.setField(photo, .rating, .int(1)))], context: mctx))
        add("refused-member-writes-members", "only an admin changes the member list", sign(lib, member, firstSeq: next + 3,
            changes: [.known(.memberPut(publicKey: stranger.publicKey, name: "Eve", role: .admin))], context: mctx))
        add("refused-member-links-another-device", "a member device links only itself to a person (kind 13)",
            sign(lib, member, firstSeq: next + 3, changes: [.known(.devicePerson(founder.deviceID, bob))], context: mctx))
        let good = sign(lib, member, firstSeq: next + 3, changes: [.known(.setField(photo, .rating, .int(2)))], context: mctx)
        var flipped = good.signature
        flipped[0] ^= 1
        add("refused-signature", "one bit of the signature flipped",
            SignedBatch(origin: good.origin, firstSeq: good.firstSeq, lastSeq: good.lastSeq, payload: good.payload, signature: flipped))
        var bad = ByteWriter()
        bad.u8(3); bad.varint(UInt64(now) << 16); bad.varint(UInt64(mctx.count))
        for e in mctx { bad.hash(e.origin.device.hash); bad.varint(UInt64(e.origin.epoch)); bad.varint(e.seq) }
        bad.varint(1); bad.varint(6); bad.data(Array(photo.bytes.prefix(31)))
        add("refused-malformed-v3", "a known kind (6, purge) whose body is one byte short", signPayload(lib, member, firstSeq: next + 3,
            count: 1, payload: bad.bytes))
        var lengthy = ByteWriter()
        lengthy.raw(Array(bad.bytes.dropLast(33)))
        lengthy.varint(200); lengthy.varint(50); lengthy.raw([0, 0])
        add("refused-length-beyond-payload", "an unknown change whose length runs past the payload",
            signPayload(lib, member, firstSeq: next + 3, count: 1, payload: lengthy.bytes))
        add("accepted-after-refusals", "the member's next batch: nothing of the refused ones was applied", good)
        let s = next + 4
        add("null-and-local-time", "a null value clears the description; a takenAt without UTC offset (local wall-clock time only)",
            sign(lib, member, firstSeq: s, changes: [
                .known(.setField(photo, .description, .null)),
                .known(.setField(photo, .takenAt, .takenAt(TakenAt(localSeconds: 1_700_003_600, utcOffsetMinutes: nil)))),
            ], context: mctx))
        var unknownField = ByteWriter()
        unknownField.hash(photo); unknownField.varint(77); unknownField.value(.int(7))
        add("unknown-field-setField-v3", "a setField of field 77, unknown to this release: kept whole, not applied",
            sign(lib, member, firstSeq: s + 2, changes: [.unknown(kind: 5, body: unknownField.bytes)], context: mctx))
        add("gap-pending", "the member's batch after a gap (one seq missing): it waits in the pending pool, unjudged",
            sign(lib, member, firstSeq: s + 4, changes: [.known(.tagAdd(photo, "Later"))], context: mctx))
        let filler = sign(lib, member, firstSeq: s + 3, changes: [.known(.setField(photo, .rating, .int(3)))], context: mctx)
        add("gap-filled", "the missing batch: applied, and the pending batch after it with it", filler)
        add("refused-overlap", "a batch starting at a seq already held and running past it: refused whole",
            sign(lib, member, firstSeq: s + 4, changes: [.known(.tagAdd(photo, "Again")),
                                                         .known(.setField(photo, .rating, .int(5)))], context: mctx))
        add("already-held-skipped", "the missing batch again: every seq of it is held, so it is skipped, not judged", filler)
        add("refused-genesis", "a stranger's genesis: its key and nonce do not give this library's id",
            sign(lib, stranger, firstSeq: 1, changes: [
                .known(.genesis(nonce: [UInt8](repeating: 0x43, count: 16), publicKey: stranger.publicKey)),
                .known(.memberPut(publicKey: stranger.publicKey, name: "Eve", role: .admin)),
            ], context: []))
        return (lib, out)
    }

    static func sign(_ lib: LibraryID, _ who: Identity, firstSeq: UInt64, changes: [Change],
                     context: [(origin: Origin, seq: UInt64)]) -> SignedBatch {
        signPayload(lib, who, firstSeq: firstSeq, count: changes.count,
                    payload: Payload(hlc: UInt64(now + 10) << 16, context: context, changes: changes).encode())
    }

    static func signPayload(_ lib: LibraryID, _ who: Identity, firstSeq: UInt64, count: Int, payload: [UInt8]) -> SignedBatch {
        let origin = Origin(device: who.deviceID, epoch: 1)
        let last = firstSeq + UInt64(count) - 1
        return SignedBatch(origin: origin, firstSeq: firstSeq, lastSeq: last, payload: payload,
                           signature: who.sign(SignedBatch.signedBytes(library: lib, origin: origin, firstSeq: firstSeq,
                                                                       lastSeq: last, payload: payload)))
    }

    // MARK: JSON forms

    static func json(_ o: ObjectRef) -> [String: Any] {
        ["id": o.id.hex, "size": Int(o.size), "chunks": o.chunks.map(\.hex)]
    }

    static func json(_ v: FieldValue) -> Any {
        switch v {
        case .null: NSNull()
        case .int(let i): ["int": Int(i)]
        case .double(let d): ["double": d]
        case .text(let s): ["text": s]
        case .bool(let b): ["bool": b]
        case .takenAt(let t):
            ["takenAt": ["localSeconds": Int(t.localSeconds), "utcOffsetMinutes": t.utcOffsetMinutes.map { Int($0) as Any } ?? NSNull()]]
        case .object(let o): ["object": json(o)]
        case .range(let r): ["range": ["offset": Int(r.offset), "length": Int(r.length)]]
        }
    }

    static func json(_ d: Dot) -> [String: Any] {
        ["device": d.origin.device.hash.hex, "epoch": Int(d.origin.epoch), "seq": Int(d.seq)]
    }

    static func json(_ op: Op) -> [String: Any] {
        var out: [String: Any] = ["kind": Int(op.kind)]
        switch op {
        case .genesis(let nonce, let pk): out["type"] = "genesis"; out["nonce"] = Hex.encode(nonce); out["publicKey"] = Hex.encode(pk)
        case .memberPut(let pk, let name, let role):
            out["type"] = "memberPut"; out["publicKey"] = Hex.encode(pk); out["name"] = name; out["role"] = role.description
            out["device"] = DeviceID(publicKey: pk).hash.hex
        case .memberRemove(let d): out["type"] = "memberRemove"; out["device"] = d.hash.hex
        case .importAsset(let id, let name, let original, let fields):
            out["type"] = "importAsset"; out["asset"] = id.hex; out["fileName"] = name; out["original"] = json(original)
            out["fields"] = fields.map { ["field": Int($0.0.rawValue), "name": "\($0.0)", "value": json($0.1)] as [String: Any] }
        case .setField(let id, let f, let v):
            out["type"] = "setField"; out["asset"] = id.hex; out["field"] = Int(f.rawValue); out["name"] = "\(f)"; out["value"] = json(v)
        case .purge(let id): out["type"] = "purge"; out["asset"] = id.hex
        case .albumSet(let a, let f, let v):
            out["type"] = "albumSet"; out["album"] = a.hex; out["field"] = Int(f.rawValue); out["name"] = "\(f)"; out["value"] = json(v)
        case .albumAdd(let a, let id): out["type"] = "albumAdd"; out["album"] = a.hex; out["asset"] = id.hex
        case .albumRemove(let a, let id, let dots):
            out["type"] = "albumRemove"; out["album"] = a.hex; out["asset"] = id.hex; out["observed"] = dots.map(json)
        case .tagAdd(let id, let tag): out["type"] = "tagAdd"; out["asset"] = id.hex; out["tag"] = tag
        case .tagRemove(let id, let tag, let dots):
            out["type"] = "tagRemove"; out["asset"] = id.hex; out["tag"] = tag; out["observed"] = dots.map(json)
        case .person(let p, let fields):
            out["type"] = "person"; out["person"] = p.uuid
            out["fields"] = fields.map { ["field": Int($0.0.rawValue), "name": "\($0.0)", "value": json($0.1)] as [String: Any] }
        case .devicePerson(let d, let p):
            out["type"] = "devicePerson"; out["device"] = d.hash.hex; out["person"] = p.map { $0.uuid as Any } ?? NSNull()
        }
        return out
    }

    static func json(_ c: Change) -> [String: Any] {
        switch c {
        case .known(let op): json(op)
        case .partial(let op, _): json(op).merging(["unknownFieldsKept": true]) { $1 }
        case .unknown(let kind, let body): ["kind": Int(kind), "type": "unknown", "body": Hex.encode(body)]
        }
    }

    static func decoded(_ payload: [UInt8]) -> [String: Any] {
        do {
            let p = try Payload.decode(payload)
            return ["version": Int(payload[0]), "hlc": String(p.hlc),
                    "context": p.context.map { ["device": $0.origin.device.hash.hex, "epoch": Int($0.origin.epoch), "seq": Int($0.seq)] },
                    "changes": p.changes.map(json)]
        } catch let e as CatalogError {
            return ["error": e.code.rawValue]
        } catch {
            return ["error": "\(error)"]
        }
    }

    static func verdict(_ r: ApplyReport) -> [String: Any] {
        if let bad = r.rejected.first { return ["result": "rejected", "code": bad.reason.code.rawValue] }
        if r.applied > 1 { return ["result": "applied", "deferred": r.deferred, "pendingApplied": r.applied - 1] }
        if r.applied == 1 { return ["result": "applied", "deferred": r.deferred] }
        if r.skipped > 0 { return ["result": "skipped", "deferred": r.deferred] }
        return ["result": "pending"]
    }

    /// Every case with what this implementation makes of it, applied in order on a fresh joiner.
    static func render() throws -> [String: Any] {
        let (lib, list) = try cases()
        let node = try Catalog.join(path: nil, library: lib, identity: key(0xe5))
        var rendered: [[String: Any]] = []
        for c in list {
            let b = c.batch
            let r = try node.applyRemote([b], now: now + 100)
            rendered.append(["name": c.name, "note": c.note, "device": b.origin.device.hash.hex, "epoch": Int(b.origin.epoch),
                             "firstSeq": Int(b.firstSeq), "lastSeq": Int(b.lastSeq), "payload": Hex.encode(b.payload),
                             "signature": Hex.encode(b.signature), "decoded": decoded(b.payload), "verdict": verdict(r)])
        }
        var keys: [String: Any] = [:]
        for (name, k) in [("founder", founder), ("member", member), ("partner", partner), ("stranger", stranger)] {
            keys[name] = ["seed": Hex.encode([UInt8](repeating: name == "founder" ? 0xa1 : name == "member" ? 0xb2
                                                     : name == "partner" ? 0xc3 : 0xd4, count: 32)),
                          "publicKey": Hex.encode(k.publicKey), "device": k.deviceID.hash.hex]
        }
        return ["description": "Signed catalog batches of one library (SPEC section 11), applied in this order by a "
                    + "node at catalog format level 3 that joined the library: each case's payload, its decoded "
                    + "changes and the verdict. A node MUST reach every verdict; decoded.changes is what the payload says.",
                "library": lib.hex, "formatLevel": Int(CatalogFormat.current), "keys": keys,
                "digestAfter": try node.digest().hex, "deferredAfter": try node.deferredChangeCount(), "cases": rendered]
    }

    static func roundTrip(_ d: [String: Any]) throws -> NSDictionary {
        try JSONSerialization.jsonObject(with: JSONSerialization.data(withJSONObject: d, options: [.sortedKeys])) as! NSDictionary
    }

    static func generate() throws {
        let data = try JSONSerialization.data(withJSONObject: try render(), options: [.prettyPrinted, .sortedKeys])
        try data.write(to: file)
    }
}

@Suite struct BatchVectorTests {
    @Test func vectorsMatchTheImplementation() throws {
        if ProcessInfo.processInfo.environment["HEARTH_WRITE_VECTORS"] != nil { try BatchVectors.generate() }
        let stored = try JSONSerialization.jsonObject(with: Data(contentsOf: BatchVectors.file)) as! NSDictionary
        let fresh = try JSONSerialization.jsonObject(with: JSONSerialization.data(withJSONObject: try BatchVectors.render(),
                                                                                  options: [.sortedKeys])) as! NSDictionary
        let storedCases = stored["cases"] as! [NSDictionary]
        let freshCases = fresh["cases"] as! [NSDictionary]
        #expect(storedCases.count == freshCases.count && storedCases.count >= 12)
        for (s, f) in zip(storedCases, freshCases) {
            #expect(s.isEqual(to: f as! [AnyHashable: Any]), "case \(s["name"] ?? "?") differs from what this implementation makes")
        }
        #expect(stored.isEqual(to: fresh as! [AnyHashable: Any]))
    }

    /// The payload bytes alone decide the decoded form and the verdict: each stored payload
    /// decodes (or fails) as stated, and a fresh node applying the stored batches in order
    /// reaches every stated verdict.
    @Test func storedBatchesGiveTheStatedVerdicts() throws {
        let stored = try JSONSerialization.jsonObject(with: Data(contentsOf: BatchVectors.file)) as! [String: Any]
        let lib = LibraryID(hex: stored["library"] as! String)!
        let node = try Catalog.join(path: nil, library: lib, identity: BatchVectors.key(0xe5))
        var verdicts: [String] = []
        for c in stored["cases"] as! [[String: Any]] {
            let dev = DeviceID(hash: Hash256(bytes: Hex.decode(c["device"] as! String)!)!)
            let b = SignedBatch(origin: Origin(device: dev, epoch: UInt32(c["epoch"] as! Int)),
                                firstSeq: UInt64(c["firstSeq"] as! Int), lastSeq: UInt64(c["lastSeq"] as! Int),
                                payload: Hex.decode(c["payload"] as! String)!, signature: Hex.decode(c["signature"] as! String)!)
            let want = c["verdict"] as! [String: Any]
            let got = try BatchVectors.roundTrip(BatchVectors.verdict(try node.applyRemote([b], now: BatchVectors.now)))
            #expect(got.isEqual(to: want), "\(c["name"] ?? "?"): \(got) instead of \(want)")
            verdicts.append("\(want["result"] ?? "")")
        }
        #expect(verdicts.contains("rejected") && verdicts.contains("applied"))
        #expect(try node.digest().hex == stored["digestAfter"] as! String)
    }
}
