import Foundation
import HearthCrypto
import Testing
@testable import Catalog

func personID(_ n: UInt8) -> PersonID {
    var b = [UInt8](repeating: n, count: 16)
    b[6] = b[6] & 0x0f | 0x40
    b[8] = b[8] & 0x3f | 0x80
    return PersonID(bytes: b)!
}

/// A well-formed Argon2id string (the catalog checks the form; hashing is HearthCrypto's).
let aHash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"

func create(_ p: PersonID, _ email: String, admin: Bool = false, name: String = "Someone") -> Edit {
    .createPerson(p, name: name, email: email, isAdmin: admin, passwordHash: aHash, avatarColor: "blue")
}

/// People in the catalog CRDT: ids, queries, email uniqueness, removal, convergence under
/// concurrent edits, who may write them, and deferral by a node below format 3.
@Suite struct PeopleTests {
    @Test func personIDsAreVersion4UUIDs() throws {
        for _ in 0..<50 {
            let p = PersonID.random()
            let s = p.uuid
            #expect(s.count == 36 && s == s.lowercased())
            #expect(Array(s)[14] == "4" && "89ab".contains(Array(s)[19]))
            #expect(PersonID(uuid: s) == p && PersonID(uuid: s.uppercased()) == p)
        }
        #expect(PersonID(uuid: "not-a-uuid") == nil)
        #expect(PersonID(uuid: "0123456789abcdef0123456789abcdef0123") == nil)
        #expect(PersonID(uuid: "g1234567-89ab-4def-8123-456789abcdef") == nil)
    }

    @Test func createQueryAndEdit() throws {
        let (a, _) = try pair()
        let ann = personID(1)
        try a.commit([create(ann, "Ann@Example.org", admin: true, name: "Ann")], now: t0 + 5)
        let p = try #require(try a.person(ann))
        #expect(p.name == "Ann" && p.email == "Ann@Example.org" && p.isAdmin && p.avatarColor == "blue")
        #expect(p.passwordHash == aHash && p.createdAt == t0 + 5 && p.updatedAt >= t0 + 5 && !p.deleted)
        #expect(try a.person(email: "ann@example.ORG")?.id == ann)
        #expect(try a.people().map(\.id) == [ann])
        try a.commit([.setPerson(ann, .name, .text("Ann B.")), .setPerson(ann, .avatarColor, .text("amber"))], now: t0 + 9)
        let q = try #require(try a.person(ann))
        #expect(q.name == "Ann B." && q.avatarColor == "amber" && q.updatedAt >= t0 + 9 && q.createdAt == t0 + 5)
        #expect(throws: CatalogError.self) { try a.commit([.setPerson(ann, .avatarColor, .text("mauve"))], now: t0 + 10) }
        #expect(throws: CatalogError.self) { try a.commit([.setPerson(ann, .createdAt, .int(1))], now: t0 + 10) }
        #expect(throws: CatalogError.self) { try a.commit([.setPerson(ann, .passwordHash, .text("plaintext"))], now: t0 + 10) }
        #expect(throws: CatalogError.self) { try a.commit([.setPerson(personID(9), .name, .text("x"))], now: t0 + 10) }
        #expect(throws: CatalogError.self) { try a.commit([create(ann, "other@example.org")], now: t0 + 10) }
        for bad in ["", "no-at-sign", "a@b@c", "@x.org", "sp ace@x.org", String(repeating: "a", count: 320) + "@x.org"] {
            #expect(throws: CatalogError.self, "\(bad)") { try a.commit([create(personID(7), bad)], now: t0 + 10) }
        }
    }

    @Test func emailsAreUniqueAmongLivePeopleIgnoringCase() throws {
        let (a, _) = try pair()
        try a.commit([create(personID(1), "ann@example.org", admin: true), create(personID(2), "bob@example.org")], now: t0 + 1)
        do {
            try a.commit([create(personID(3), "ANN@example.org")], now: t0 + 2)
            Issue.record("a second person with the same email was accepted")
        } catch let e as CatalogError { #expect(e.code == .duplicateEmail) }
        #expect(throws: CatalogError.self) { try a.commit([.setPerson(personID(2), .email, .text("Ann@Example.org"))], now: t0 + 2) }
        try a.commit([.setPerson(personID(2), .email, .text("BOB@example.org"))], now: t0 + 3)  // its own, recased
        try a.commit([.removePerson(personID(2))], now: t0 + 4)
        try a.commit([create(personID(3), "bob@example.org")], now: t0 + 5)  // free again
        #expect(try a.person(email: "bob@example.org")?.id == personID(3))
    }

    @Test func removalHidesThePersonAndWinsOverConcurrentEdits() throws {
        let cats = try library(3)
        let (a, b, c) = (cats[0], cats[1], cats[2])
        try a.commit([create(personID(1), "ann@example.org", admin: true), create(personID(2), "bob@example.org")], now: t0 + 1)
        try sync(a, b); try sync(a, c)
        try b.commit([.removePerson(personID(2))], now: t0 + 2)
        try c.commit([.setPerson(personID(2), .name, .text("Robert"))], now: t0 + 3)
        for (x, y) in [(b, c), (c, b), (b, a), (c, a), (a, b), (a, c)] { try sync(x, y, now: t0 + 4) }
        for cat in cats {
            #expect(try cat.person(personID(2)) == nil && cat.person(email: "bob@example.org") == nil)
            #expect(try cat.people().map(\.id) == [personID(1)])
            let removed = try #require(try cat.person(personID(2), includingRemoved: true))
            #expect(removed.deleted && removed.name == "Robert")
        }
        #expect(try a.digest() == b.digest() && b.digest() == c.digest())
        // The last admin stays while others remain.
        try a.commit([create(personID(3), "cy@example.org")], now: t0 + 5)
        #expect(throws: CatalogError.self) { try a.commit([.removePerson(personID(1))], now: t0 + 6) }
        #expect(throws: CatalogError.self) { try a.commit([.setPerson(personID(1), .isAdmin, .bool(false))], now: t0 + 6) }
        try a.commit([.setPerson(personID(3), .isAdmin, .bool(true)), .removePerson(personID(1))], now: t0 + 7)
        #expect(try a.people().map(\.id) == [personID(3)])
    }

    /// Three replicas edit the same person and claim the same email concurrently; every
    /// delivery order ends in one state, and the same person holds the contested email.
    @Test func threeReplicasConvergeUnderConcurrentEdits() throws {
        var rng = SeededRNG(seed: 11)
        for round in 0..<6 {
            let cats = try library(3)
            try cats[0].commit([create(personID(1), "ann@example.org", admin: true)], now: t0 + 1)
            for c in cats.dropFirst() { try sync(cats[0], c) }
            for (i, c) in cats.enumerated() {
                let now = t0 + 10 + Int64((i * 7 + round) % 5)
                try c.commit([.setPerson(personID(1), .name, .text("Ann \(i)")),
                              .setPerson(personID(1), .avatarColor, .text(Person.avatarColors[i]))], now: now)
                // Each replica creates its own person with the same email.
                try c.commit([create(personID(UInt8(10 + i)), "Shared@Example.org", name: "S\(i)")], now: now + 1)
                if i == 2 { try c.commit([.setDevicePerson(c.device, personID(1))], now: now + 2) }
            }
            var order = [(0, 1), (1, 2), (2, 0), (0, 2), (2, 1), (1, 0)]
            order.shuffle(using: &rng)
            for _ in 0..<2 { for (x, y) in order { try sync(cats[x], cats[y], now: t0 + 100) } }
            let digests = try cats.map { try $0.digest() }
            #expect(Set(digests).count == 1, "round \(round)")
            let holders = try cats.map { try $0.person(email: "shared@example.org")?.id }
            #expect(Set(holders).count == 1 && holders[0] != nil)
            #expect(try cats.allSatisfy { try $0.people().count == 4 })
            #expect(try cats.allSatisfy { try $0.person(ofDevice: cats[2].device) == personID(1) })
        }
    }

    /// Person changes need an admin or member device; a member links only itself; a recognizer
    /// or partner is refused locally and its batches are refused by every node.
    @Test func onlyAdminsAndMembersWritePeople() throws {
        let cats = try library(4, roles: [.member, .recognizer, .partner])
        let (admin, member, recognizer) = (cats[0], cats[1], cats[2])
        try admin.commit([create(personID(1), "ann@example.org", admin: true)], now: t0 + 1)
        for c in cats.dropFirst() { try sync(admin, c) }
        try member.commit([create(personID(2), "bob@example.org"), .setDevicePerson(member.device, personID(2))], now: t0 + 2)
        #expect(throws: CatalogError.self) { try member.commit([.setDevicePerson(admin.device, personID(2))], now: t0 + 3) }
        #expect(throws: CatalogError.self) { try recognizer.commit([create(personID(3), "rec@example.org")], now: t0 + 3) }
        try admin.commit([.setDevicePerson(recognizer.device, personID(1))], now: t0 + 3)
        try sync(member, admin)
        #expect(try admin.person(ofDevice: member.device) == personID(2))
        #expect(try admin.person(ofDevice: recognizer.device) == personID(1))
        // Crafted batches that an honest node would not commit.
        let rctx = try membershipContext(recognizer)
        let fromRecognizer = craftChanges(admin.libraryID, signer: identity(3), context: rctx,
                                          changes: [.known(.person(personID(4), [(.name, .text("Eve"))]))])
        let fromMember = craftChanges(admin.libraryID, signer: identity(2), firstSeq: try member.versionVector()[member.origin()] + 1,
                                      context: try membershipContext(member),
                                      changes: [.known(.devicePerson(admin.device, personID(2)))])
        let report = try admin.applyRemote([fromRecognizer, fromMember], now: t0 + 4)
        #expect(report.applied == 0 && report.rejected.count == 2)
        #expect(report.rejected.allSatisfy { $0.reason.code == .notPermitted })
        #expect(try admin.person(ofDevice: admin.device) == nil && admin.people().count == 2)
    }

    /// A node at format 2 keeps people changes and the new asset fields without applying them,
    /// and applies them on upgrade, except a person change its author had no right to make.
    @Test func aFormat2NodeDefersPeopleUntilUpgraded() throws {
        let cats = try library(3, roles: [.member, .recognizer])
        let (a, recognizer) = (cats[0], cats[2])
        let path = tempPath("old.sqlite")
        let oldID = identity(9)
        try a.commit([.addMember(publicKey: oldID.publicKey, name: "Old", role: .member)], now: t0)
        let old = try Catalog.join(path: path, library: a.libraryID, identity: oldID, formatLevel: CatalogFormat.thumbhash)
        try sync(a, old)
        try sync(a, recognizer)
        let sha = SHA1.base64(SHA1.digest(Array("orig-1".utf8)))
        try a.commit([create(personID(1), "ann@example.org", admin: true), .setDevicePerson(a.device, personID(1)),
                      .importAsset(anImport(1, fields: [.owner: .text(personID(1).uuid), .sha1: .text(sha)]))], now: t0 + 1)
        // What a recognizer of a newer build could send: refused at format 3, kept at format 2.
        let sneaky = craftChanges(a.libraryID, signer: identity(3), context: try membershipContext(recognizer),
                                  changes: [.known(.person(personID(5), [(.name, .text("Eve")), (.email, .text("eve@x.org"))]))])
        let r1 = try old.applyRemote(a.batches(missingFrom: old.versionVector()) + [sneaky], now: t0 + 2)
        #expect(r1.rejected.isEmpty && r1.deferred == 4)
        #expect(try old.people().isEmpty && old.person(ofDevice: a.device) == nil)
        let kept = try #require(try old.asset(assetID(1)))
        #expect(kept.owner == nil && kept.sha1 == nil && kept.bytes == 1001)
        #expect(try a.applyRemote([sneaky], now: t0 + 2).rejected.count == 1)
        let upgraded = try Catalog.open(path: path, identity: oldID)
        #expect(try upgraded.people().map(\.id) == [personID(1)])
        #expect(try upgraded.person(ofDevice: a.device) == personID(1))
        #expect(try upgraded.asset(assetID(1))?.owner == personID(1) && upgraded.asset(assetID(1))?.sha1 == sha)
        #expect(try upgraded.deferredChangeCount() == 0)
        #expect(try upgraded.digest() == a.digest())
    }

    @Test func assetsRecordOwnerAndSHA1AndAreFoundBySHA1() throws {
        let (a, b) = try pair()
        let sha = SHA1.base64(SHA1.digest(Array("photo".utf8)))
        #expect(sha.count == 28)
        try a.commit([create(personID(1), "ann@example.org", admin: true),
                      .importAsset(anImport(1, fields: [.owner: .text(personID(1).uuid), .sha1: .text(sha)])),
                      .importAsset(anImport(2))], now: t0 + 1)
        try sync(a, b)
        #expect(try b.assets(sha1: sha) == [assetID(1)])
        #expect(try b.assets(sha1: SHA1.base64(SHA1.digest([1]))).isEmpty)
        #expect(try b.asset(assetID(1))?.owner == personID(1))
        #expect(try b.assetsMissingSHA1(after: nil, limit: 10).map(\.id) == [assetID(2)])
        #expect(throws: CatalogError.self) { try a.commit([.setField(assetID(2), .sha1, .text("short"))], now: t0 + 2) }
        #expect(throws: CatalogError.self) { try a.commit([.setField(assetID(2), .owner, .text("nobody"))], now: t0 + 2) }
        try a.commit([.setField(assetID(2), .sha1, .text(sha))], now: t0 + 2)
        #expect(try a.assets(sha1: sha).count == 2)
    }

    @Test func personChangesDecodeWithLimits() throws {
        let op = Op.person(personID(1), [(.name, .text("Ann")), (.email, .text("a@b.c")), (.isAdmin, .bool(true)),
                                         (.passwordHash, .null), (.createdAt, .int(5))])
        let payload = Payload(hlc: 7, ops: [op, .devicePerson(DeviceID(hash: assetID(1)), nil),
                                            .devicePerson(DeviceID(hash: assetID(2)), personID(2))])
        let bytes = payload.encode()
        #expect(bytes[0] == 3)
        #expect(try Payload.decode(bytes).ops == payload.ops)
        func v3(_ body: [UInt8], kind: UInt64 = 12) -> [UInt8] {
            var w = ByteWriter()
            w.u8(3); w.varint(7); w.varint(0); w.varint(1); w.varint(kind); w.data(body)
            return w.bytes
        }
        func body(_ fields: [(UInt8, FieldValue)]) -> [UInt8] {
            var w = ByteWriter()
            w.raw(personID(1).bytes); w.varint(UInt64(fields.count))
            for (f, v) in fields { w.u8(f); w.value(v) }
            return w.bytes
        }
        #expect(throws: CatalogError.self) { try Payload.decode(v3(body([(4, .text("mauve"))]))) }
        #expect(throws: CatalogError.self) { try Payload.decode(v3(body([(2, .text("x")), (1, .text("A"))]))) }
        #expect(throws: CatalogError.self) { try Payload.decode(v3(body([(1, .text("A")), (1, .text("B"))]))) }
        #expect(throws: CatalogError.self) { try Payload.decode(v3(body([(99, .text("A"))]))) }
        #expect(throws: CatalogError.self) { try Payload.decode(v3(body([]))) }
        #expect(throws: CatalogError.self) { try Payload.decode(v3(body([(1, .text(String(repeating: "n", count: 1025)))]))) }
        #expect(throws: CatalogError.self) { try Payload.decode(v3(Array(body([(1, .text("A"))]).dropLast()))) }
        var dp = ByteWriter(); dp.hash(assetID(1)); dp.u8(2)
        #expect(throws: CatalogError.self) { try Payload.decode(v3(dp.bytes, kind: 13)) }
        // Version 2 cannot carry them.
        var w = ByteWriter()
        w.u8(2); w.varint(7); w.varint(0); w.varint(1); w.op(op)
        #expect(throws: CatalogError.self) { try Payload.decode(w.bytes) }
        // A format 2 reader keeps them whole.
        if case .unknown(12, _) = try Payload.decode(bytes, level: CatalogFormat.thumbhash).changes[0] {} else {
            Issue.record("a format 2 reader did not keep the person change")
        }
    }

    /// A founder and one member, caught up.
    func pair() throws -> (Catalog, Catalog) {
        let cats = try library(2)
        return (cats[0], cats[1])
    }
}
