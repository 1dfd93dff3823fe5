import Catalog
import Foundation
import GRDB
import HearthCrypto

/// A login on this node: what a bearer token opens. Tokens are never stored, only their
/// BLAKE2b-256 hash, so a copy of `access.sqlite` opens nothing.
public struct Session: Sendable, Hashable {
    /// A random UUID naming the session (Immich's session id); not a secret.
    public let id: String
    /// The library (hex id) the session belongs to.
    public let library: String
    public let person: PersonID
    public let deviceType: String
    public let deviceOS: String
    /// Milliseconds since 1970.
    public let createdAt: Int64
    public let lastUsedAt: Int64
}

/// An API key: a secret with Immich permission names ("all" grants everything). Stored hashed.
public struct APIKey: Sendable, Hashable {
    /// A random UUID naming the key; not a secret.
    public let id: String
    public let library: String
    public let person: PersonID
    public let name: String
    public let permissions: [String]
    public let createdAt: Int64
    public let updatedAt: Int64

    /// Whether the key grants `permission` (an Immich permission name such as `asset.read`).
    public func allows(_ permission: String) -> Bool {
        permissions.contains("all") || permissions.contains(permission)
    }
}

/// Sessions, API keys and sync checkpoints of this node (`HOME/access.sqlite`). Per node and
/// never synced: a session opened on the laptop does not open the NAS. The people they belong
/// to are in the catalog (synced).
///
/// Schema changes follow the catalog's pattern (`AccessMigrations`): named migrations, append
/// only, pinned in `AccessStoreTests`.
public final class AccessStore: @unchecked Sendable {
    let db: DatabasePool
    public let path: String

    /// Limits on what callers hand in.
    public enum Limits {
        public static let nameBytes = 256
        public static let permissions = 256
        public static let permissionBytes = 64
        public static let deviceBytes = 256
        public static let ackTypes = 64
        public static let ackBytes = 1024
    }

    /// How stale `lastUsedAt` may get before `session(token:now:)` writes it again (ms): one
    /// write a minute per session rather than one per request.
    public static let lastUsedResolution: Int64 = 60_000

    private init(db: DatabasePool, path: String) {
        self.db = db
        self.path = path
    }

    /// Opens (creating when missing) `HOME/access.sqlite`.
    public static func open(home: Home) throws -> AccessStore {
        try FileManager.default.createDirectory(at: home.root, withIntermediateDirectories: true)
        return try open(path: home.root.appendingPathComponent("access.sqlite").path)
    }

    public static func open(path: String) throws -> AccessStore {
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        do {
            let pool = try DatabasePool(path: path, configuration: config)
            try AccessMigrations.migrator.migrate(pool)
            // Secrets' hashes only, but still nobody else's business.
            chmod(path, 0o600)
            return AccessStore(db: pool, path: path)
        } catch let e as NodeError {
            throw e
        } catch {
            throw NodeError(.io, "\(path): cannot open the access store: \(error)")
        }
    }

    /// SQLite's own check of the file (`PRAGMA integrity_check`): empty when intact.
    public func integrityProblems() -> [String] {
        do {
            let rows = try db.read { try String.fetchAll($0, sql: "PRAGMA integrity_check(20)") }
            return rows == ["ok"] ? [] : rows.map { "access store \(path): \($0)" }
        } catch {
            return ["access store \(path): \(error)"]
        }
    }

    private func guarded<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as NodeError { throw e } catch {
            throw NodeError(.io, "\(path): \(error)")
        }
    }

    // MARK: Secrets

    /// 32 random bytes, base64url without padding (43 characters).
    static func newSecret() -> String {
        Data(secureRandomBytes(32)).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// What is stored for a secret: BLAKE2b-256 of its text. Any string hashes (a malformed
    /// token simply matches nothing); an over-long one is refused before hashing.
    static func digest(_ secret: String) -> Data? {
        let u = Array(secret.utf8)
        guard !u.isEmpty, u.count <= 512 else { return nil }
        return Data(Blake2b.hash(u))
    }

    static func newID() -> String { PersonID.random().uuid }

    private static func checkText(_ s: String, _ what: String, max: Int) throws {
        guard s.utf8.count <= max, !s.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
            throw NodeError(.invalidArgument, "\(what) must be at most \(max) bytes without control characters")
        }
    }

    static func checkPermissions(_ permissions: [String]) throws {
        guard !permissions.isEmpty, permissions.count <= Limits.permissions else {
            throw NodeError(.invalidArgument, "an API key needs 1...\(Limits.permissions) permissions (\"all\" grants everything)")
        }
        for p in permissions {
            let ok = !p.isEmpty && p.utf8.count <= Limits.permissionBytes && p.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "-" || $0 == "_"
            }
            guard ok else { throw NodeError(.invalidArgument, "\"\(p)\" is not a permission name (such as all or asset.read)") }
        }
    }

    // MARK: Sessions

    /// Opens a session; the token is returned once and only its hash is kept.
    public func createSession(library: String, person: PersonID, deviceType: String = "", deviceOS: String = "",
                              now: Int64) throws -> (token: String, session: Session) {
        try Self.checkText(deviceType, "the device type", max: Limits.deviceBytes)
        try Self.checkText(deviceOS, "the device OS", max: Limits.deviceBytes)
        let token = Self.newSecret()
        let s = Session(id: Self.newID(), library: library, person: person, deviceType: deviceType, deviceOS: deviceOS,
                        createdAt: now, lastUsedAt: now)
        try guarded {
            try db.write { db in
                try db.execute(sql: """
                    INSERT INTO session(id, token_hash, library, person, device_type, device_os, created_at, last_used_at)
                    VALUES(?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [s.id, Self.digest(token)!, library, person.uuid, deviceType, deviceOS, now, now])
            }
        }
        return (token, s)
    }

    private static let sessionColumns = "id, library, person, device_type, device_os, created_at, last_used_at"

    private static func session(_ r: Row) -> Session? {
        guard let p = PersonID(uuid: r[2]) else { return nil }
        return Session(id: r[0], library: r[1], person: p, deviceType: r[3], deviceOS: r[4], createdAt: r[5], lastUsedAt: r[6])
    }

    /// The session a token opens, nil for an unknown or revoked one; records its use.
    public func session(token: String, now: Int64) throws -> Session? {
        guard let h = Self.digest(token) else { return nil }
        return try guarded {
            guard let s = try db.read({ db in
                try Row.fetchOne(db, sql: "SELECT \(Self.sessionColumns) FROM session WHERE token_hash = ?", arguments: [h])
            }).flatMap(Self.session) else { return nil }
            guard now - s.lastUsedAt >= Self.lastUsedResolution else { return s }
            try db.write { db in
                try db.execute(sql: "UPDATE session SET last_used_at = ? WHERE id = ?", arguments: [now, s.id])
            }
            return Session(id: s.id, library: s.library, person: s.person, deviceType: s.deviceType, deviceOS: s.deviceOS,
                           createdAt: s.createdAt, lastUsedAt: now)
        }
    }

    /// Ends the session a token opens (logout); its sync checkpoints go with it. False when unknown.
    @discardableResult
    public func deleteSession(token: String) throws -> Bool {
        guard let h = Self.digest(token) else { return false }
        return try guarded { try db.write { db in
            try db.execute(sql: "DELETE FROM session WHERE token_hash = ?", arguments: [h])
            return db.changesCount > 0
        } }
    }

    /// Ends a session by id. False when unknown.
    @discardableResult
    public func deleteSession(id: String) throws -> Bool {
        try guarded { try db.write { db in
            try db.execute(sql: "DELETE FROM session WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        } }
    }

    /// Ends every session of a person (a removed person, a changed password), optionally one kept.
    @discardableResult
    public func deleteSessions(library: String, person: PersonID, except keep: String? = nil) throws -> Int {
        try guarded { try db.write { db in
            try db.execute(sql: "DELETE FROM session WHERE library = ? AND person = ? AND id IS NOT ?",
                           arguments: [library, person.uuid, keep])
            return db.changesCount
        } }
    }

    /// A person's sessions on this node, oldest first (every library when `library` is nil).
    public func sessions(library: String? = nil, person: PersonID) throws -> [Session] {
        try guarded { try db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT \(Self.sessionColumns) FROM session WHERE person = ? AND (?2 IS NULL OR library = ?2)
                ORDER BY created_at, id
                """, arguments: [person.uuid, library]).compactMap(Self.session)
        } }
    }

    // MARK: API keys

    /// Makes an API key; the secret is returned once and only its hash is kept.
    public func createAPIKey(library: String, person: PersonID, name: String, permissions: [String] = ["all"],
                             now: Int64) throws -> (secret: String, key: APIKey) {
        try Self.checkText(name, "an API key's name", max: Limits.nameBytes)
        try Self.checkPermissions(permissions)
        let secret = Self.newSecret()
        let key = APIKey(id: Self.newID(), library: library, person: person, name: name, permissions: permissions,
                         createdAt: now, updatedAt: now)
        try guarded {
            try db.write { db in
                try db.execute(sql: """
                    INSERT INTO api_key(id, secret_hash, library, person, name, permissions, created_at, updated_at)
                    VALUES(?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [key.id, Self.digest(secret)!, library, person.uuid, name,
                                     Self.encode(permissions), now, now])
            }
        }
        return (secret, key)
    }

    private static let keyColumns = "id, library, person, name, permissions, created_at, updated_at"

    private static func encode(_ permissions: [String]) -> String {
        String(decoding: (try? JSONEncoder().encode(permissions)) ?? Data("[]".utf8), as: UTF8.self)
    }

    private static func key(_ r: Row) -> APIKey? {
        guard let p = PersonID(uuid: r[2]) else { return nil }
        let perms = (try? JSONDecoder().decode([String].self, from: Data((r[4] as String).utf8))) ?? []
        return APIKey(id: r[0], library: r[1], person: p, name: r[3], permissions: perms, createdAt: r[5], updatedAt: r[6])
    }

    /// The key a secret opens, nil for an unknown or revoked one.
    public func apiKey(secret: String) throws -> APIKey? {
        guard let h = Self.digest(secret) else { return nil }
        return try guarded { try db.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.keyColumns) FROM api_key WHERE secret_hash = ?", arguments: [h])
                .flatMap(Self.key)
        } }
    }

    /// One key by id, nil when unknown.
    public func apiKey(id: String) throws -> APIKey? {
        try guarded { try db.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.keyColumns) FROM api_key WHERE id = ?", arguments: [id]).flatMap(Self.key)
        } }
    }

    /// A library's keys, of one person or of everyone, oldest first.
    public func apiKeys(library: String, person: PersonID? = nil) throws -> [APIKey] {
        try guarded { try db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT \(Self.keyColumns) FROM api_key WHERE library = ? AND (?2 IS NULL OR person = ?2) ORDER BY created_at, id
                """, arguments: [library, person?.uuid]).compactMap(Self.key)
        } }
    }

    /// Renames a key and/or replaces its permissions (nil: unchanged).
    @discardableResult
    public func renameAPIKey(id: String, name: String? = nil, permissions: [String]? = nil,
                             now: Int64 = HearthNode.wallClockMillis()) throws -> APIKey {
        if let name { try Self.checkText(name, "an API key's name", max: Limits.nameBytes) }
        if let permissions { try Self.checkPermissions(permissions) }
        return try guarded {
            try db.write { db in
                guard let old = try Row.fetchOne(db, sql: "SELECT \(Self.keyColumns) FROM api_key WHERE id = ?",
                                                 arguments: [id]).flatMap(Self.key) else {
                    throw NodeError(.notFound, "no API key \(id) on this node")
                }
                let n = name ?? old.name, p = permissions ?? old.permissions
                try db.execute(sql: "UPDATE api_key SET name = ?, permissions = ?, updated_at = ? WHERE id = ?",
                               arguments: [n, Self.encode(p), now, id])
                return APIKey(id: id, library: old.library, person: old.person, name: n, permissions: p,
                              createdAt: old.createdAt, updatedAt: now)
            }
        }
    }

    /// Revokes a key. Throws `notFound` for an unknown id.
    public func deleteAPIKey(id: String) throws {
        try guarded {
            try db.write { db in
                try db.execute(sql: "DELETE FROM api_key WHERE id = ?", arguments: [id])
                if db.changesCount == 0 { throw NodeError(.notFound, "no API key \(id) on this node") }
            }
        }
    }

    /// Revokes every key of a person (a removed person). Returns how many.
    @discardableResult
    public func deleteAPIKeys(library: String, person: PersonID) throws -> Int {
        try guarded { try db.write { db in
            try db.execute(sql: "DELETE FROM api_key WHERE library = ? AND person = ?", arguments: [library, person.uuid])
            return db.changesCount
        } }
    }

    // MARK: Sync checkpoints

    /// A session's sync stream checkpoints: entity type → ack string.
    public func syncAcks(session: String) throws -> [String: String] {
        try guarded { try db.read { db in
            Dictionary(try Row.fetchAll(db, sql: "SELECT type, ack FROM sync_ack WHERE session = ?", arguments: [session])
                .map { ($0[0] as String, $0[1] as String) }, uniquingKeysWith: { $1 })
        } }
    }

    /// Sets one checkpoint. Throws `notFound` when the session does not exist.
    public func setSyncAck(session: String, type: String, ack: String) throws {
        try Self.checkText(type, "a sync type", max: 128)
        try Self.checkText(ack, "a sync ack", max: Limits.ackBytes)
        guard !type.isEmpty else { throw NodeError(.invalidArgument, "a sync type must not be empty") }
        try guarded {
            try db.write { db in
                guard try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM session WHERE id = ?)", arguments: [session]) == true else {
                    throw NodeError(.notFound, "no session \(session) on this node")
                }
                let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sync_ack WHERE session = ? AND type != ?",
                                             arguments: [session, type]) ?? 0
                guard count < Limits.ackTypes else {
                    throw NodeError(.invalidArgument, "a session keeps at most \(Limits.ackTypes) sync checkpoints")
                }
                try db.execute(sql: "INSERT OR REPLACE INTO sync_ack(session, type, ack) VALUES(?, ?, ?)",
                               arguments: [session, type, ack])
            }
        }
    }

    /// Deletes a session's checkpoints of these types (nil: all of them).
    public func deleteSyncAcks(session: String, types: [String]? = nil) throws {
        try guarded {
            try db.write { db in
                if let types {
                    for t in types {
                        try db.execute(sql: "DELETE FROM sync_ack WHERE session = ? AND type = ?", arguments: [session, t])
                    }
                } else {
                    try db.execute(sql: "DELETE FROM sync_ack WHERE session = ?", arguments: [session])
                }
            }
        }
    }
}

/// Every change to `access.sqlite`'s schema, in order (the pattern of `CatalogMigrations`:
/// append only, never edit one that shipped; the names are pinned in `AccessStoreTests`).
enum AccessMigrations {
    static let all: [(name: String, migrate: @Sendable (Database) throws -> Void)] = [
        ("v1-sessions-keys-acks", v1),
    ]

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        for (name, migrate) in all { m.registerMigration(name, migrate: migrate) }
        return m
    }

    /// Sessions and API keys (hashes of their secrets only) and per-session sync checkpoints,
    /// deleted with their session.
    static func v1(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE session(id TEXT PRIMARY KEY, token_hash BLOB NOT NULL UNIQUE, library TEXT NOT NULL,
                person TEXT NOT NULL, device_type TEXT NOT NULL, device_os TEXT NOT NULL,
                created_at INTEGER NOT NULL, last_used_at INTEGER NOT NULL);
            CREATE INDEX session_person ON session(person, library);
            CREATE TABLE api_key(id TEXT PRIMARY KEY, secret_hash BLOB NOT NULL UNIQUE, library TEXT NOT NULL,
                person TEXT NOT NULL, name TEXT NOT NULL, permissions TEXT NOT NULL,
                created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
            CREATE INDEX api_key_person ON api_key(library, person);
            CREATE TABLE sync_ack(session TEXT NOT NULL REFERENCES session(id) ON DELETE CASCADE, type TEXT NOT NULL,
                ack TEXT NOT NULL, PRIMARY KEY(session, type)) WITHOUT ROWID;
            """)
    }
}
