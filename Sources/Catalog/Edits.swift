import Foundation
import GRDB
import HearthCrypto

/// The member table, read.
enum Members {
    struct Row {
        let publicKey: [UInt8]?
        let name: String?
        let role: Role?
        let removed: Bool
    }

    static func row(_ db: Database, _ dev: DeviceID) throws -> Row? {
        guard let r = try GRDB.Row.fetchOne(db.cachedStatement(sql: """
            SELECT public_key, name, role, removed FROM member WHERE device = ?
            """), arguments: [dev.hash.data]) else { return nil }
        return Row(publicKey: (r[0] as Data?).map { [UInt8]($0) }, name: r[1],
                   role: (r[2] as Int64?).flatMap { Role(rawValue: UInt8(truncatingIfNeeded: $0)) },
                   removed: r[3] as Bool)
    }

    static func adminCount(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM member WHERE removed = 0 AND role = ?",
                         arguments: [Int64(Role.admin.rawValue)]) ?? 0
    }
}

/// Turns a local edit into a change, checking it against the current state first.
struct EditBuilder {
    let db: Database
    let role: Role
    let now: Int64
    let formatLevel: UInt16
    /// The device committing (a member links only itself to a person).
    var device: DeviceID? = nil

    func op(for edit: Edit) throws -> Op {
        let op = try makeOp(for: edit)
        guard op.format <= formatLevel else {
            throw CatalogError(.invalidEdit, "this node understands catalog format \(formatLevel); the edit needs \(op.format)")
        }
        if let device, let refusal = PeopleRules.refusal(op, role: role, author: device) {
            throw CatalogError(.notPermitted, refusal)
        }
        return op
    }

    private func makeOp(for edit: Edit) throws -> Op {
        switch edit {
        case .importAsset(let imp):
            guard !imp.fileName.isEmpty, imp.fileName.utf8.count <= Limits.nameBytes else {
                throw CatalogError(.invalidEdit, "file name must be 1...\(Limits.nameBytes) bytes: \"\(imp.fileName)\"")
            }
            guard imp.original.chunks.count <= Limits.chunksPerObject else {
                throw CatalogError(.invalidEdit, "\(imp.fileName): more than \(Limits.chunksPerObject) chunks")
            }
            if try isPurged(imp.id) {
                throw CatalogError(.invalidEdit, "\(imp.fileName): asset \(imp.id.hex.prefix(12)) was permanently deleted")
            }
            for (f, v) in imp.fields {
                if let problem = validate(f, v) { throw CatalogError(.invalidEdit, "\(imp.fileName): \(problem)") }
            }
            let fields = imp.fields.sorted { $0.key.rawValue < $1.key.rawValue }.map { ($0.key, $0.value) }
            return .importAsset(id: imp.id, fileName: imp.fileName, original: imp.original, fields: fields)
        case .setField(let id, let f, let v):
            try requireAsset(id)
            if let problem = validate(f, v) { throw CatalogError(.invalidEdit, "asset \(id.hex.prefix(12)): \(problem)") }
            if f == .motionVideo || f == .thumbnail || f == .preview, case .object(let o) = v,
               o.chunks.count > Limits.chunksPerObject {
                throw CatalogError(.invalidEdit, "object \(o.id.hex.prefix(12)) has too many chunks")
            }
            return .setField(id, f, v)
        case .trash(let id):
            try requireAsset(id)
            return .setField(id, .trashedAt, .int(max(now, 0)))
        case .restore(let id):
            try requireAsset(id)
            return .setField(id, .trashedAt, .null)
        case .purge(let id):
            try requireAsset(id)
            let trashed = try Bool.fetchOne(db, sql: "SELECT state = 2 FROM asset WHERE id = ?", arguments: [id.data])
            guard trashed == true else {
                throw CatalogError(.invalidEdit, "asset \(id.hex.prefix(12)) is not in the trash; trash it before purging")
            }
            return .purge(id)
        case .createAlbum(let a, let name):
            if try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM album WHERE id = ?)", arguments: [Data(a.bytes)]) == true {
                throw CatalogError(.invalidEdit, "album \(a.hex) already exists")
            }
            return try albumSet(a, .name, .text(name))
        case .renameAlbum(let a, let name):
            try requireAlbum(a)
            return try albumSet(a, .name, .text(name))
        case .describeAlbum(let a, let text):
            try requireAlbum(a)
            return try albumSet(a, .description, text.map { .text($0) } ?? .null)
        case .setAlbumCover(let a, let id):
            try requireAlbum(a)
            if let id { try requireAsset(id) }
            return try albumSet(a, .cover, id.map { .text($0.hex) } ?? .null)
        case .deleteAlbum(let a):
            try requireAlbum(a)
            return .albumSet(a, .deleted, .bool(true))
        case .addToAlbum(let a, let id):
            try requireAlbum(a)
            try requireAsset(id)
            return .albumAdd(a, id)
        case .removeFromAlbum(let a, let id):
            try requireAlbum(a)
            let dots = try observed("album_item", "album", Data(a.bytes), "asset", id.data)
            guard !dots.isEmpty else {
                throw CatalogError(.invalidEdit, "asset \(id.hex.prefix(12)) is not in album \(a.hex.prefix(8))")
            }
            return .albumRemove(a, id, observed: dots)
        case .addTag(let id, let tag):
            try requireAsset(id)
            guard Tags.isValid(tag) else {
                throw CatalogError(.invalidEdit, "tag \"\(tag)\" must be non-empty parts separated by single slashes")
            }
            return .tagAdd(id, tag)
        case .removeTag(let id, let tag):
            let dots = try observed("asset_tag", "asset", id.data, "tag", tag)
            guard !dots.isEmpty else {
                throw CatalogError(.invalidEdit, "asset \(id.hex.prefix(12)) has no tag \"\(tag)\"")
            }
            return .tagRemove(id, tag, observed: dots)
        case .addMember(let pk, let name, let newRole):
            try requireAdmin()
            guard pk.count == 32, (try? Identity.curve25519PublicKey(ed25519: pk)) != nil else {
                throw CatalogError(.invalidEdit, "not a valid Ed25519 public key for member \(name)")
            }
            guard !name.isEmpty, name.utf8.count <= Limits.nameBytes else {
                throw CatalogError(.invalidEdit, "member name must be 1...\(Limits.nameBytes) bytes")
            }
            return .memberPut(publicKey: pk, name: name, role: newRole)
        case .removeMember(let dev):
            try requireAdmin()
            let m = try requireMember(dev)
            if m.role == .admin, try Members.adminCount(db) <= 1 {
                throw CatalogError(.notPermitted, "\(dev.short) is the last admin; make another admin first")
            }
            return .memberRemove(dev)
        case .setRole(let dev, let newRole):
            try requireAdmin()
            let m = try requireMember(dev)
            if m.role == .admin, newRole != .admin, try Members.adminCount(db) <= 1 {
                throw CatalogError(.notPermitted, "\(dev.short) is the last admin; make another admin first")
            }
            return .memberPut(publicKey: m.publicKey!, name: m.name ?? "", role: newRole)
        case .createPerson, .setPerson, .removePerson, .setDevicePerson:
            return try personOp(for: edit)
        }
    }

    private func albumSet(_ a: AlbumID, _ f: AlbumField, _ v: FieldValue) throws -> Op {
        guard AlbumRules.valid(f, v) else { throw CatalogError(.invalidEdit, "invalid album \(f): \(v)") }
        return .albumSet(a, f, v)
    }

    private func isPurged(_ id: Hash256) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS(SELECT 1 FROM purged WHERE asset = ?)"), arguments: [id.data]) ?? false
    }

    private func requireAsset(_ id: Hash256) throws {
        let state = try Int64.fetchOne(db.cachedStatement(sql: "SELECT state FROM asset WHERE id = ?"),
                                       arguments: [id.data])
        guard let state, state != 9 else {
            throw CatalogError(.unknownAsset, "no asset \(id.hex.prefix(12)) in this library"
                               + (state == 9 ? " (it was permanently deleted)" : ""))
        }
    }

    private func requireAlbum(_ a: AlbumID) throws {
        let ok = try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM album WHERE id = ? AND deleted = 0 AND name IS NOT NULL)",
                                   arguments: [Data(a.bytes)]) ?? false
        guard ok else { throw CatalogError(.unknownAlbum, "no album \(a.hex.prefix(8)) in this library") }
    }

    private func requireAdmin() throws {
        guard role == .admin else { throw CatalogError(.notPermitted, "only an admin device may change members") }
    }

    private func requireMember(_ dev: DeviceID) throws -> Members.Row {
        guard let m = try Members.row(db, dev), !m.removed, m.publicKey != nil else {
            throw CatalogError(.unknownMember, "device \(dev.short) is not a member of this library")
        }
        return m
    }

    private func observed(_ table: String, _ c1: String, _ k1: DatabaseValueConvertible, _ c2: String,
                          _ k2: DatabaseValueConvertible) throws -> [Dot] {
        try GRDB.Row.fetchAll(db, sql: "SELECT dev, epoch, seq FROM \(table) WHERE \(c1) = ? AND \(c2) = ? ORDER BY dev, epoch, seq",
                              arguments: [k1, k2]).compactMap { r in
            guard let h = (r[0] as Data).hash256 else { return nil }
            return Dot(origin: Origin(device: DeviceID(hash: h), epoch: UInt32(truncatingIfNeeded: r[1] as Int64)),
                       seq: unsql(r[2]))
        }
    }
}
