import Catalog
import ChunkStore
import Foundation
import HearthCrypto
import SyncEngine

/// What `backfillChecksums` did.
public struct ChecksumBackfill: Sendable, Equatable {
    /// Assets that had no SHA-1 and whose original was read.
    public var updated = 0
    /// Assets without a SHA-1 whose original is not (wholly) on this node: left for a node that has it.
    public var notLocal = 0
    /// Originals that could not be read (the error is in `errors`, the asset left as it was).
    public var failed = 0
    public var errors: [String] = []

    public init(updated: Int = 0, notLocal: Int = 0, failed: Int = 0, errors: [String] = []) {
        self.updated = updated
        self.notLocal = notLocal
        self.failed = failed
        self.errors = errors
    }
}

extension HearthNode {
    /// This device's person: the one its `device_person` register names, when linked.
    public func currentPerson() throws -> PersonID? {
        try catalog.person(ofDevice: identity.deviceID)
    }

    /// Whether the library has (or had) people: from then on imports record owner and SHA-1
    /// (catalog format 3). Before, nothing this node writes needs more than format 1, so nodes
    /// of release 6847644 keep syncing with it.
    public func usesPeople() throws -> Bool {
        try !catalog.people(includingRemoved: true).isEmpty
    }

    /// A live person by email (compared lowercased) or by UUID.
    public func findPerson(_ emailOrID: String) throws -> Person {
        if let id = PersonID(uuid: emailOrID), let p = try catalog.person(id) { return p }
        if let p = try catalog.person(email: emailOrID) { return p }
        throw NodeError(.notFound, "no person \"\(emailOrID)\" in this library (see `hearth user list`)")
    }

    /// Commits person edits, turning the catalog's refusals into node errors.
    func commitPeople(_ edits: [Edit]) throws {
        do {
            try commit(edits)
        } catch let e as CatalogError {
            switch e.code {
            case .duplicateEmail: throw NodeError(.conflict, e.message)
            case .unknownPerson, .unknownMember: throw NodeError(.notFound, e.message)
            case .notPermitted: throw NodeError(.forbidden, e.message)
            case .invalidEdit: throw NodeError(.invalidArgument, e.message)
            default: throw e
            }
        }
    }

    static func hashPassword(_ password: String) throws -> String {
        do { return try PasswordHash.hash(password) } catch let e as CryptoError {
            throw NodeError(.invalidArgument, e.message)
        }
    }

    /// Adds a person to the library (`hearth user add`, Immich's user creation and first-admin
    /// sign-up). When this device belongs to no person yet it is linked, in the same batch, to
    /// the library's first person: the new one when it is the first.
    @discardableResult
    public func addPerson(email: String, name: String, password: String?, isAdmin: Bool,
                          avatarColor: String = "primary") throws -> Person {
        let id = PersonID.random()
        let hash = try password.map(Self.hashPassword)
        var edits: [Edit] = [.createPerson(id, name: name, email: email, isAdmin: isAdmin, passwordHash: hash,
                                           avatarColor: avatarColor)]
        if try currentPerson() == nil {
            let first = try catalog.people().first?.id ?? id
            edits.append(.setDevicePerson(identity.deviceID, first))
        }
        try commitPeople(edits)
        guard let p = try catalog.person(id) else { throw NodeError(.io, "person \(id) was not stored") }
        return p
    }

    /// Changes a person's fields (nil: unchanged) in one batch.
    @discardableResult
    public func updatePerson(_ id: PersonID, name: String? = nil, email: String? = nil, isAdmin: Bool? = nil,
                             avatarColor: String? = nil) throws -> Person {
        var edits: [Edit] = []
        if let name { edits.append(.setPerson(id, .name, .text(name))) }
        if let email { edits.append(.setPerson(id, .email, .text(email))) }
        if let isAdmin { edits.append(.setPerson(id, .isAdmin, .bool(isAdmin))) }
        if let avatarColor { edits.append(.setPerson(id, .avatarColor, .text(avatarColor))) }
        if !edits.isEmpty { try commitPeople(edits) }
        guard let p = try catalog.person(id) else { throw NodeError(.notFound, "no person \(id) in this library") }
        return p
    }

    /// Sets a person's password (hashed here; the catalog carries only the hash).
    public func setPassword(_ id: PersonID, password: String) throws {
        try commitPeople([.setPerson(id, .passwordHash, .text(try Self.hashPassword(password)))])
    }

    /// Removes a person from the library; their sessions and API keys on this node end with them.
    public func removePerson(_ id: PersonID, access: AccessStore? = nil) throws {
        try commitPeople([.removePerson(id)])
        if let access {
            try access.deleteSessions(library: libraryID, person: id)
            try access.deleteAPIKeys(library: libraryID, person: id)
        }
    }

    /// A hash no password matches, verified for unknown emails so that a login takes as long
    /// whether or not the account exists.
    private static let decoyHash: String = (try? PasswordHash.hash(Hex.encode(secureRandomBytes(16)))) ?? ""

    /// Checks an email and password (Immich's `POST /auth/login`). Refused with `rateLimited`
    /// after too many failures from `address` or on the account (see `LoginLimiter`), with
    /// `unauthorized` for an unknown email, a person without a password or a wrong password
    /// (the same message for all three).
    public func login(email: String, password: String, address: String?, now: Int64,
                      limiter: LoginLimiter = .shared) throws -> Person {
        let account = "\(libraryID):\(Person.emailKey(email))"
        if let wait = limiter.retryAfter(address: address, account: account, now: now) {
            throw NodeError(.rateLimited, "too many failed logins; try again in \(wait) s", retryAfterSeconds: wait)
        }
        let refused = NodeError(.unauthorized, "incorrect email or password")
        guard !email.isEmpty, email.utf8.count <= Person.maxEmailBytes, PasswordHash.lengths.contains(password.utf8.count) else {
            limiter.recordFailure(address: address, account: account, now: now)
            throw refused
        }
        let person = try catalog.person(email: email)
        guard let person, let hash = person.passwordHash else {
            _ = PasswordHash.verify(password, hash: Self.decoyHash)
            limiter.recordFailure(address: address, account: account, now: now)
            throw refused
        }
        guard PasswordHash.verify(password, hash: hash) else {
            limiter.recordFailure(address: address, account: account, now: now)
            throw refused
        }
        limiter.recordSuccess(account: account)
        return person
    }

    /// Gives every asset imported before SHA-1s were recorded its SHA-1, read from the local
    /// original (never fetched), committing `batchSize` field edits per batch. Assets whose
    /// original is not here are left for a node that holds it. `hearth serve` runs it at start
    /// (reading through its shared chunk store, `source`); `hearth verify --repair` runs it too.
    @discardableResult
    public func backfillChecksums(batchSize: Int = 256, source: (any SyncChunkSource)? = nil,
                                  progress: (_ done: Int, _ notLocal: Int) -> Void = { _, _ in }) throws -> ChecksumBackfill {
        var out = ChecksumBackfill()
        guard try usesPeople() else { return out }  // see `usesPeople`
        var after: Hash256? = nil
        while true {
            let page = try catalog.assetsMissingSHA1(after: after, limit: max(1, batchSize))
            guard let last = page.last else { break }
            after = last.id
            var edits: [Edit] = []
            let store: any SyncChunkSource = try source ?? chunks
            for (id, original) in page {
                guard try store.syncMissing(original.chunks).isEmpty else {
                    out.notLocal += 1
                    continue
                }
                do {
                    // The bytes are checked against the asset id (BLAKE2b of the whole original)
                    // before their SHA-1 is recorded.
                    var h = SHA1()
                    var b = Blake2b()
                    for c in original.chunks {
                        guard let bytes = try store.syncRead(c) else {
                            throw ChunkStoreError(.missingChunk, "chunk \(c.hex.prefix(12)) of \(id.hex.prefix(12)) went missing")
                        }
                        h.update(bytes)
                        b.update(bytes)
                    }
                    if Hash256(bytes: b.finalize()) != original.id {
                        throw ChunkStoreError(.hashMismatch, "the chunks of \(id.hex.prefix(12)) do not make its original")
                    }
                    edits.append(.setField(id, .sha1, .text(h.finalizeBase64())))
                } catch {
                    out.failed += 1
                    if out.errors.count < 20 { out.errors.append("\(id.hex.prefix(12)): \(error)") }
                }
            }
            if !edits.isEmpty {
                try commit(edits)
                out.updated += edits.count
            }
            progress(out.updated, out.notLocal)
        }
        return out
    }
}
