import Foundation
import GRDB
import HearthCrypto

/// A person's 16 random bytes (UUID version 4 bits), shown as a lowercase UUID string.
public struct PersonID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// A new random id with the version 4 and variant bits set.
    public static func random() -> PersonID { version4(secureRandomBytes(16)) }

    /// 16 bytes (random, or derived from a seed) with the version 4 and variant bits set.
    public static func version4(_ bytes: [UInt8]) -> PersonID {
        precondition(bytes.count == 16)
        var b = bytes
        b[6] = b[6] & 0x0f | 0x40
        b[8] = b[8] & 0x3f | 0x80
        return PersonID(bytes: b)!
    }

    /// Parses `8-4-4-4-12` hex digits (either case).
    public init?(uuid: String) {
        let u = Array(uuid.utf8)
        guard u.count == 36 else { return nil }
        var hex = [UInt8]()
        for (i, c) in u.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard c == UInt8(ascii: "-") else { return nil }
            } else {
                hex.append(c)
            }
        }
        guard let b = Hex.decode(String(decoding: hex, as: UTF8.self)), b.count == 16 else { return nil }
        self.bytes = b
    }

    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, lowercase.
    public var uuid: String {
        let h = Array(Hex.encode(bytes))
        return String(h[0..<8]) + "-" + String(h[8..<12]) + "-" + String(h[12..<16]) + "-" + String(h[16..<20]) + "-"
            + String(h[20..<32])
    }

    public var description: String { uuid }
    public static func < (a: PersonID, b: PersonID) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }
}

/// A person's fields, each a last-writer-wins register. Raw values are on the wire.
public enum PersonField: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Text, 1...1024 bytes.
    case name = 1
    /// Text, an address with one `@`, at most 320 bytes; unique among live people, compared lowercased.
    case email
    /// Bool.
    case isAdmin
    /// Text, one of `Person.avatarColors`.
    case avatarColor
    /// Text, `PasswordHash.hash`'s output (Argon2id), or null (cannot log in).
    case passwordHash
    /// Int, milliseconds since 1970, set once when the person is created.
    case createdAt
    /// Bool: true once removed.
    case deleted

    public var description: String {
        switch self {
        case .name: "name"
        case .email: "email"
        case .isAdmin: "isAdmin"
        case .avatarColor: "avatarColor"
        case .passwordHash: "passwordHash"
        case .createdAt: "createdAt"
        case .deleted: "deleted"
        }
    }

    var column: String {
        switch self {
        case .name: "name"
        case .email: "email"
        case .isAdmin: "is_admin"
        case .avatarColor: "avatar_color"
        case .passwordHash: "password_hash"
        case .createdAt: "created_at"
        case .deleted: "deleted"
        }
    }
}

/// A person (a user, in Immich's words) as the catalog shows it.
public struct Person: Hashable, Sendable {
    public let id: PersonID
    public let name: String
    public let email: String
    public let isAdmin: Bool
    public let avatarColor: String
    /// Nil when no password was set.
    public let passwordHash: String?
    /// Milliseconds since 1970.
    public let createdAt: Int64
    /// Milliseconds since 1970 of the latest change to any field (from the winning clocks).
    public let updatedAt: Int64
    /// Removed (listed only when asked for removed people too).
    public let deleted: Bool

    /// Immich's avatar colour names.
    public static let avatarColors = ["primary", "pink", "red", "yellow", "blue", "green", "purple", "orange", "gray", "amber"]
    public static let maxEmailBytes = 320

    /// How emails are compared.
    public static func emailKey(_ email: String) -> String { email.lowercased() }
}

/// What person fields hold and who may write people.
enum PeopleRules {
    static func validate(_ f: PersonField, _ v: FieldValue) -> String? {
        let ok: Bool
        switch (f, v) {
        case (.name, .text(let s)): ok = !s.isEmpty && s.utf8.count <= Limits.nameBytes
        case (.email, .text(let s)): ok = validEmail(s)
        case (.isAdmin, .bool), (.deleted, .bool): ok = true
        case (.avatarColor, .text(let s)): ok = Person.avatarColors.contains(s)
        case (.passwordHash, .null): ok = true
        case (.passwordHash, .text(let s)): ok = PasswordHash.isWellFormed(s)
        case (.createdAt, .int(let i)): ok = i >= 0
        default: ok = false
        }
        return ok ? nil : "value \(v) is not valid for person field \(f)"
    }

    static func validEmail(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count >= 3, u.count <= Person.maxEmailBytes, u.filter({ $0 == UInt8(ascii: "@") }).count == 1,
              u.first != UInt8(ascii: "@"), u.last != UInt8(ascii: "@") else { return false }
        return !s.unicodeScalars.contains { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7f }
    }

    /// Why `role` (the author's, `author` its device) may not write `op`; nil when it may.
    /// People and device links are written by admin and member devices; a member links only
    /// its own device to a person.
    static func refusal(_ op: Op, role: Role, author: DeviceID) -> String? {
        switch op {
        case .person:
            return role == .admin || role == .member ? nil : "a \(role) device may not change people"
        case .devicePerson(let target, _):
            if role == .admin { return nil }
            if role == .member, target == author { return nil }
            return role == .member ? "a member device may only link itself to a person"
                : "a \(role) device may not link devices to people"
        default:
            return nil
        }
    }
}

extension Applier {
    /// Applies each field register the change wins, then the materialized row.
    func applyPerson(_ p: PersonID, _ fields: [(PersonField, FieldValue)], stamp: Stamp) throws {
        let key = Data(p.bytes)
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO person(id) VALUES(?)").execute(arguments: [key])
        for (f, v) in fields {
            if let reg = try Row.fetchOne(db.cachedStatement(sql: """
                SELECT hlc, dev, epoch, seq FROM person_reg WHERE person = ? AND field = ?
                """), arguments: [key, Int64(f.rawValue)]), let old = Self.stamp(reg, 0), old >= stamp {
                continue
            }
            try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO person_reg(person, field, hlc, dev, epoch, seq) VALUES(?, ?, ?, ?, ?, ?)
                """).execute(arguments: [key, Int64(f.rawValue), sql(stamp.hlc), Data(stamp.device), Int64(stamp.epoch),
                                         sql(stamp.seq)])
            let value: DatabaseValue
            switch v {
            case .text(let s): value = s.databaseValue
            case .bool(let b): value = (b ? 1 : 0 as Int64).databaseValue
            case .int(let i): value = i.databaseValue
            default: value = f == .isAdmin || f == .deleted ? (0 as Int64).databaseValue : .null
            }
            try db.execute(sql: "UPDATE person SET \(f.column) = ? WHERE id = ?", arguments: [value, key])
            if f == .email {
                try db.execute(sql: "UPDATE person SET email_key = ? WHERE id = ?",
                               arguments: [v.text.map(Person.emailKey), key])
            }
        }
        // The latest winning clock of any field: the same on every node once all changes are in.
        try db.execute(sql: "UPDATE person SET updated_at = MAX(updated_at, ?) WHERE id = ?",
                       arguments: [Int64(stamp.hlc >> 16), key])
    }

    func applyDevicePerson(_ d: DeviceID, _ p: PersonID?, stamp: Stamp) throws {
        if let reg = try Row.fetchOne(db.cachedStatement(sql: "SELECT hlc, dev, epoch, seq FROM device_person WHERE device = ?"),
                                      arguments: [d.hash.data]), let old = Self.stamp(reg, 0), old >= stamp {
            return
        }
        try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO device_person(device, person, hlc, dev, epoch, seq) VALUES(?, ?, ?, ?, ?, ?)
            """).execute(arguments: [d.hash.data, p.map { Data($0.bytes) }, sql(stamp.hlc), Data(stamp.device),
                                     Int64(stamp.epoch), sql(stamp.seq)])
    }
}

extension EditBuilder {
    /// The change a person edit makes, checked against the current state.
    func personOp(for edit: Edit) throws -> Op {
        switch edit {
        case .createPerson(let p, let name, let email, let isAdmin, let hash, let color):
            if try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM person WHERE id = ?)", arguments: [Data(p.bytes)]) == true {
                throw CatalogError(.invalidEdit, "person \(p) already exists")
            }
            try requireFreeEmail(email, except: nil)
            var fields: [(PersonField, FieldValue)] = [(.name, .text(name)), (.email, .text(email)), (.isAdmin, .bool(isAdmin)),
                                                       (.avatarColor, .text(color))]
            fields.append((.passwordHash, hash.map { .text($0) } ?? .null))
            fields.append((.createdAt, .int(max(now, 0))))
            for (f, v) in fields {
                if let problem = PeopleRules.validate(f, v) { throw CatalogError(.invalidEdit, problem) }
            }
            return .person(p, fields)
        case .setPerson(let p, let f, let v):
            let current = try requirePerson(p)
            guard f != .createdAt, f != .deleted else {
                throw CatalogError(.invalidEdit, "person field \(f) is not set directly"
                                   + (f == .deleted ? "; remove the person instead" : ""))
            }
            if let problem = PeopleRules.validate(f, v) { throw CatalogError(.invalidEdit, problem) }
            if f == .email, let e = v.text { try requireFreeEmail(e, except: p) }
            if f == .isAdmin, current.isAdmin, v == .bool(false), try adminPeople() <= 1 {
                throw CatalogError(.notPermitted, "\(current.email) is the last admin; make another person admin first")
            }
            return .person(p, [(f, v)])
        case .removePerson(let p):
            let current = try requirePerson(p)
            if current.isAdmin, try adminPeople() <= 1, try livePeople() > 1 {
                throw CatalogError(.notPermitted, "\(current.email) is the last admin; make another person admin first")
            }
            return .person(p, [(.deleted, .bool(true))])
        case .setDevicePerson(let d, let p):
            guard let m = try Members.row(db, d), !m.removed, m.publicKey != nil else {
                throw CatalogError(.unknownMember, "device \(d.short) is not a member of this library")
            }
            if let p { _ = try requirePerson(p) }
            return .devicePerson(d, p)
        default:
            preconditionFailure("not a person edit")
        }
    }

    private func requirePerson(_ p: PersonID) throws -> Person {
        guard let person = try Catalog.person(db, p), !person.deleted else {
            throw CatalogError(.unknownPerson, "no person \(p) in this library")
        }
        return person
    }

    private func requireFreeEmail(_ email: String, except: PersonID?) throws {
        guard PeopleRules.validEmail(email) else {
            throw CatalogError(.invalidEdit, "\"\(email)\" is not an email address (x@y, at most \(Person.maxEmailBytes) bytes)")
        }
        let taken = try Data.fetchAll(db, sql: "SELECT id FROM person WHERE email_key = ? AND deleted = 0 AND name IS NOT NULL",
                                      arguments: [Person.emailKey(email)])
        if taken.contains(where: { except.map { Data($0.bytes) } != $0 }) {
            throw CatalogError(.duplicateEmail, "a person with email \(email) already exists")
        }
    }

    private func adminPeople() throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM person WHERE deleted = 0 AND is_admin = 1 AND email IS NOT NULL") ?? 0
    }

    private func livePeople() throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM person WHERE deleted = 0 AND name IS NOT NULL AND email IS NOT NULL") ?? 0
    }
}

extension Catalog {
    static let personColumns = "p.id, p.name, p.email, p.is_admin, p.avatar_color, p.password_hash, p.created_at, p.updated_at, p.deleted"

    /// A person row is shown once its creation (name and email) is held.
    static func people(_ db: Database, where extra: String, _ args: [DatabaseValueConvertible]) throws -> [Person] {
        try Row.fetchAll(db, sql: """
            SELECT \(personColumns) FROM person p WHERE p.name IS NOT NULL AND p.email IS NOT NULL \(extra)
            ORDER BY p.created_at, p.id
            """, arguments: StatementArguments(args)).compactMap(Self.person(row:))
    }

    static func person(row r: Row) -> Person? {
        guard let id = PersonID(bytes: [UInt8](r[0] as Data)) else { return nil }
        return Person(id: id, name: r[1], email: r[2], isAdmin: r[3] as Bool, avatarColor: r[4] ?? "primary",
                      passwordHash: r[5], createdAt: r[6] ?? 0, updatedAt: r[7], deleted: r[8] as Bool)
    }

    static func person(_ db: Database, _ p: PersonID) throws -> Person? {
        try people(db, where: "AND p.id = ?", [Data(p.bytes)]).first
    }

    /// Live people, oldest first; with `includingRemoved`, removed ones too (flagged `deleted`).
    public func people(includingRemoved: Bool = false) throws -> [Person] {
        try guarded { try db.read { db in try Self.people(db, where: includingRemoved ? "" : "AND p.deleted = 0", []) } }
    }

    /// A live person by id, nil when unknown or removed (`includingRemoved`: removed ones too).
    public func person(_ id: PersonID, includingRemoved: Bool = false) throws -> Person? {
        try guarded {
            try db.read { db in
                guard let p = try Self.person(db, id) else { return nil }
                return p.deleted && !includingRemoved ? nil : p
            }
        }
    }

    /// The live person with this email (compared lowercased). Two devices may give the same email
    /// to two people concurrently; the one whose email register has the lowest stamp holds it
    /// (the same answer on every node), the other cannot log in by it until its email changes.
    public func person(email: String) throws -> Person? {
        try guarded {
            try db.read { db in
                try Row.fetchOne(db, sql: """
                    SELECT \(Self.personColumns) FROM person p JOIN person_reg r ON r.person = p.id AND r.field = 2
                    WHERE p.email_key = ? AND p.deleted = 0 AND p.name IS NOT NULL
                    ORDER BY r.hlc, r.dev, r.epoch, r.seq LIMIT 1
                    """, arguments: [Person.emailKey(email)]).flatMap(Self.person(row:))
            }
        }
    }

    /// The person a device belongs to, when linked (the person may since have been removed).
    public func person(ofDevice device: DeviceID) throws -> PersonID? {
        try guarded {
            try db.read { db in
                try Data.fetchOne(db, sql: "SELECT person FROM device_person WHERE device = ?", arguments: [device.hash.data])
                    .flatMap { PersonID(bytes: [UInt8]($0)) }
            }
        }
    }

    /// The devices linked to a person.
    public func devices(of person: PersonID) throws -> [DeviceID] {
        try guarded {
            try db.read { db in
                try Data.fetchAll(db, sql: "SELECT device FROM device_person WHERE person = ? ORDER BY device",
                                  arguments: [Data(person.bytes)]).compactMap { $0.hash256.map(DeviceID.init(hash:)) }
            }
        }
    }

    /// Assets (not purged) whose original has this SHA-1 (base64, asset field 32).
    public func assets(sha1: String) throws -> [Hash256] {
        try guarded {
            try db.read { db in
                try Data.fetchAll(db, sql: "SELECT id FROM asset WHERE f_32 = ? AND state != 9 ORDER BY id",
                                  arguments: [sha1]).compactMap(\.hash256)
            }
        }
    }

    /// Assets (not purged) without a SHA-1, for the backfill: at most `limit`, by id after `after`.
    public func assetsMissingSHA1(after: Hash256?, limit: Int) throws -> [(id: Hash256, original: ObjectRef)] {
        try guarded {
            try db.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT id, original FROM asset WHERE f_32 IS NULL AND state != 9 AND id > ? ORDER BY id LIMIT ?
                    """, arguments: [after?.data ?? Data(), limit]).compactMap { r in
                    guard let id = (r[0] as Data).hash256, let o = Schema.decodeObject(r[1]) else { return nil }
                    return (id, o)
                }
            }
        }
    }
}
