import Catalog
import Foundation
import HearthCrypto
import Testing
@testable import Node

/// The node-local access store: sessions and API keys (hashed at rest), revocation, sync
/// checkpoints; the login rate limit and `HearthNode.login`.
@Suite struct AccessStoreTests {
    static let now: Int64 = 1_767_225_600_000

    static func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-access-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Every byte of the database and its WAL, as text, to look for secrets in.
    static func rawBytes(_ path: String) -> [UInt8] {
        [path, path + "-wal", path + "-shm", path + "-journal"].flatMap {
            (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: $0)))) ?? []
        }
    }

    static func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
        let n = Array(needle.utf8)
        guard !n.isEmpty, haystack.count >= n.count else { return false }
        for i in 0...(haystack.count - n.count) where haystack[i] == n[0] && Array(haystack[i..<(i + n.count)]) == n {
            return true
        }
        return false
    }

    /// Append a new migration here when you append it to `AccessMigrations.all`.
    @Test func migrationNamesArePinned() {
        #expect(AccessMigrations.all.map(\.name) == ["v1-sessions-keys-acks"])
    }

    @Test func sessionsOpenRecordUseAndEnd() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try AccessStore.open(home: Home(path: dir.path))
        let ann = PersonID.random(), bob = PersonID.random()
        let (token, s) = try store.createSession(library: "ab12", person: ann, deviceType: "iOS", deviceOS: "17", now: Self.now)
        #expect(token.count == 43 && !token.contains("=") && !token.contains("+") && !token.contains("/"))
        #expect(try store.session(token: token, now: Self.now + 1)?.id == s.id)
        #expect(try store.session(token: token, now: Self.now + 1)?.lastUsedAt == Self.now)  // within the resolution
        let later = Self.now + AccessStore.lastUsedResolution + 5
        #expect(try store.session(token: token, now: later)?.lastUsedAt == later)
        #expect(try store.sessions(person: ann).first?.lastUsedAt == later)
        #expect(try store.session(token: token + "x", now: later) == nil)
        #expect(try store.session(token: "", now: later) == nil)
        #expect(try store.session(token: String(repeating: "a", count: 10_000), now: later) == nil)
        let (t2, _) = try store.createSession(library: "ab12", person: ann, now: Self.now)
        _ = try store.createSession(library: "ab12", person: bob, now: Self.now)
        #expect(try store.sessions(person: ann).count == 2 && store.sessions(library: "cd34", person: ann).isEmpty)
        // Sync checkpoints, deleted with their session.
        try store.setSyncAck(session: s.id, type: "AssetV1", ack: "AssetV1|123")
        try store.setSyncAck(session: s.id, type: "UserV1", ack: "UserV1|9")
        try store.setSyncAck(session: s.id, type: "UserV1", ack: "UserV1|10")
        #expect(try store.syncAcks(session: s.id) == ["AssetV1": "AssetV1|123", "UserV1": "UserV1|10"])
        try store.deleteSyncAcks(session: s.id, types: ["AssetV1"])
        #expect(try store.syncAcks(session: s.id) == ["UserV1": "UserV1|10"])
        #expect(throws: NodeError.self) { try store.setSyncAck(session: "no-such-session", type: "UserV1", ack: "x") }
        #expect(try store.deleteSession(token: token))
        #expect(try store.session(token: token, now: later) == nil)
        #expect(try store.syncAcks(session: s.id).isEmpty)
        #expect(try !store.deleteSession(token: token))
        #expect(try store.deleteSessions(library: "ab12", person: ann) == 1)
        #expect(try store.session(token: t2, now: later) == nil)
        #expect(throws: NodeError.self) {
            try store.createSession(library: "ab12", person: ann, deviceType: "bad\ntype", now: Self.now)
        }
        // A reopen keeps them.
        let again = try AccessStore.open(home: Home(path: dir.path))
        #expect(try again.sessions(person: bob).count == 1)
    }

    @Test func apiKeysCarryPermissionsAndRevoke() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try AccessStore.open(home: Home(path: dir.path))
        let ann = PersonID.random()
        let (secret, key) = try store.createAPIKey(library: "ab12", person: ann, name: "uploader",
                                                   permissions: ["asset.upload", "asset.read"], now: Self.now)
        let opened = try #require(try store.apiKey(secret: secret))
        #expect(opened == key && opened.allows("asset.upload") && !opened.allows("user.delete"))
        let (all, _) = try store.createAPIKey(library: "ab12", person: ann, name: "everything", now: Self.now + 1)
        #expect(try store.apiKey(secret: all)?.allows("anything.at.all") == true)
        #expect(try store.apiKeys(library: "ab12", person: ann).map(\.name) == ["uploader", "everything"])
        #expect(try store.apiKeys(library: "ab12").count == 2 && store.apiKeys(library: "ff00").isEmpty)
        let renamed = try store.renameAPIKey(id: key.id, name: "phone", permissions: ["all"], now: Self.now + 2)
        #expect(renamed.name == "phone" && renamed.permissions == ["all"] && renamed.updatedAt == Self.now + 2)
        #expect(try store.apiKey(secret: secret)?.name == "phone")
        #expect(throws: NodeError.self) { try store.renameAPIKey(id: "nope", name: "x") }
        #expect(throws: NodeError.self) { try store.createAPIKey(library: "ab12", person: ann, name: "k", permissions: [], now: 0) }
        #expect(throws: NodeError.self) {
            try store.createAPIKey(library: "ab12", person: ann, name: "k", permissions: ["drop table"], now: 0)
        }
        #expect(throws: NodeError.self) {
            try store.createAPIKey(library: "ab12", person: ann, name: String(repeating: "n", count: 300), now: 0)
        }
        try store.deleteAPIKey(id: key.id)
        #expect(try store.apiKey(secret: secret) == nil)
        #expect(throws: NodeError.self) { try store.deleteAPIKey(id: key.id) }
        #expect(try store.apiKey(secret: all) != nil)
    }

    /// Only hashes are stored: no token or key secret appears anywhere in the files.
    @Test func secretsAreHashedAtRest() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try AccessStore.open(home: Home(path: dir.path))
        let ann = PersonID.random()
        var secrets: [String] = []
        for i in 0..<20 {
            secrets.append(try store.createSession(library: "ab12", person: ann, now: Self.now + Int64(i)).token)
            secrets.append(try store.createAPIKey(library: "ab12", person: ann, name: "k\(i)", now: Self.now).secret)
        }
        let bytes = Self.rawBytes(store.path)
        #expect(bytes.count > 4096)
        #expect(Self.contains(bytes, "k19"), "the scan reads the stored rows")
        for s in secrets {
            #expect(!Self.contains(bytes, s), "a secret is stored in plain text")
            #expect(!Self.contains(bytes, String(s.prefix(16))))
        }
        let mode = try FileManager.default.attributesOfItem(atPath: store.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try secrets.enumerated().allSatisfy { i, s in
            i % 2 == 0 ? try store.session(token: s, now: Self.now) != nil : try store.apiKey(secret: s) != nil
        })
    }

    @Test func theLimiterRefusesAfterTenFailuresAndForgets() {
        let l = LoginLimiter(maxFailures: 10, window: 15 * 60 * 1000)
        for i in 0..<9 { l.recordFailure(address: "10.0.0.1", account: "a@x.org", now: Self.now + Int64(i)) }
        #expect(l.retryAfter(address: "10.0.0.1", account: "a@x.org", now: Self.now + 10) == nil)
        l.recordFailure(address: "10.0.0.1", account: "a@x.org", now: Self.now + 9)
        let wait = l.retryAfter(address: "10.0.0.1", account: "a@x.org", now: Self.now + 10)
        #expect(wait == 900)
        // Per account from any address, and per address on any account.
        #expect(l.retryAfter(address: "10.0.0.2", account: "A@X.org", now: Self.now + 10) != nil)
        #expect(l.retryAfter(address: "10.0.0.1", account: "b@x.org", now: Self.now + 10) != nil)
        #expect(l.retryAfter(address: "10.0.0.2", account: "b@x.org", now: Self.now + 10) == nil)
        #expect(l.retryAfter(address: "10.0.0.1", account: "a@x.org", now: Self.now + 15 * 60 * 1000 + 1) == nil)
        // Bounded memory.
        let small = LoginLimiter(maxFailures: 2, window: 1000, maxKeys: 100)
        for i in 0..<10_000 { small.recordFailure(address: "a\(i)", account: "u\(i)", now: Self.now) }
        small.recordFailure(address: "z", account: "z", now: Self.now)
        small.recordFailure(address: "z", account: "z", now: Self.now)
        #expect(small.retryAfter(address: "z", account: "z", now: Self.now) != nil)
    }

    @Test func loginChecksPasswordsAndIsRateLimited() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let node = try HearthNode.create(home: Home(path: dir.appendingPathComponent("home").path), deviceName: "laptop")
        let ann = try node.addPerson(email: "Ann@Example.org", name: "Ann", password: "s3cret-pass", isAdmin: true)
        #expect(try node.currentPerson() == ann.id, "the first person owns the device that added them")
        let bob = try node.addPerson(email: "bob@example.org", name: "Bob", password: nil, isAdmin: false)
        #expect(try node.currentPerson() == ann.id)
        let limiter = LoginLimiter()
        let now = HearthNode.wallClockMillis()
        #expect(try node.login(email: "ann@example.org", password: "s3cret-pass", address: "127.0.0.1", now: now,
                               limiter: limiter).id == ann.id)
        func refusal(_ email: String, _ password: String, _ address: String = "127.0.0.1") -> NodeError.Code? {
            do {
                _ = try node.login(email: email, password: password, address: address, now: now, limiter: limiter)
                return nil
            } catch let e as NodeError { return e.code } catch { return nil }
        }
        #expect(refusal("ann@example.org", "wrong") == .unauthorized)
        #expect(refusal("nobody@example.org", "s3cret-pass") == .unauthorized)
        #expect(refusal(bob.email, "anything") == .unauthorized, "a person without a password cannot log in")
        #expect(refusal("ann@example.org", "") == .unauthorized)
        for _ in 0..<8 { _ = refusal("ann@example.org", "wrong", "127.0.0.2") }
        // Ten failures on the account (from two addresses): even the right password waits now.
        do {
            _ = try node.login(email: "ann@example.org", password: "s3cret-pass", address: "127.0.0.3", now: now, limiter: limiter)
            Issue.record("the eleventh attempt was not refused")
        } catch let e as NodeError {
            #expect(e.code == .rateLimited && (e.retryAfterSeconds ?? 0) > 0)
        }
        try node.setPassword(bob.id, password: "bobs-password")
        #expect(try node.login(email: "BOB@example.org", password: "bobs-password", address: "127.0.0.9", now: now,
                               limiter: limiter).id == bob.id)
        do {
            try node.addPerson(email: "bob@EXAMPLE.org", name: "Bob 2", password: "x", isAdmin: false)
            Issue.record("a duplicate email was accepted")
        } catch let e as NodeError { #expect(e.code == .conflict) }
        let access = try AccessStore.open(home: node.home)
        let (token, _) = try access.createSession(library: node.libraryID, person: bob.id, now: now)
        try node.removePerson(bob.id, access: access)
        #expect(try access.session(token: token, now: now) == nil)
        #expect(refusal("bob@example.org", "bobs-password", "127.0.0.10") == .unauthorized)
    }
}
