import Catalog
import ChunkStore
import HearthCrypto
import Synchronization
import Testing
import Wire
@testable import SyncEngine
@testable import Transport

/// Pairing over real TCP with the real catalog and chunk store: a joiner with an empty replica
/// presents a ticket, is admitted as a member and receives the library in the same connection.
struct PairingOverTCPTests {
    let t: Int64 = 1_700_000_000_000

    final class Tickets: Sendable {
        let state = Mutex<[String: (secret: [UInt8], used: Bool, expired: Bool)]>([:])
        func add(_ id: [UInt8], _ secret: [UInt8], used: Bool = false, expired: Bool = false) {
            state.withLock { $0[Hex.encode(id)] = (secret, used, expired) }
        }
    }

    func serverContext(_ catalog: Catalog, _ store: ChunkStore, _ tickets: Tickets) throws -> SyncContext {
        var ctx = SyncContext(catalog: catalog, chunks: store, identity: catalog.identity, epoch: try catalog.origin().epoch,
                              policy: .everything, limits: limits)
        let t = t
        ctx.pairingHook = PairingHook(
            lookup: { id in
                guard let e = tickets.state.withLock({ $0[Hex.encode(id)] }) else { return .unknown }
                if e.used { return .refused(secret: e.secret, reason: "the ticket was already used") }
                if e.expired { return .refused(secret: e.secret, reason: "the ticket expired") }
                return .open(secret: e.secret)
            },
            admit: { id, key, name in
                try tickets.state.withLock { s in
                    guard s[Hex.encode(id)]?.used == false else { throw SyncError(.pairingRefused, "the ticket was already used") }
                    s[Hex.encode(id)]!.used = true
                }
                try catalog.commit([.addMember(publicKey: key, name: name, role: .member)], now: t)
            })
        return ctx
    }

    var limits: ConnectionLimits {
        var l = ConnectionLimits()
        l.handshakeTimeout = 20_000 // generous: a loaded 2-core CI machine must not turn a slow handshake into a refusal
        l.tickInterval = 100
        return l
    }

    func joiner(_ library: LibraryID, seed: UInt8, ticket: JoinTicket?) throws -> (Catalog, ChunkStore, SyncContext) {
        let id = Identity.fromSeed([UInt8](repeating: seed, count: 32))
        let cat = try Catalog.join(path: nil, library: library, identity: id)
        let store = ChunkStore.inMemory()
        var ctx = SyncContext(catalog: cat, chunks: store, identity: id, epoch: 1, policy: .everything, limits: limits)
        ctx.joinTicket = ticket
        return (cat, store, ctx)
    }

    @Test func joinerIsAdmittedAndReceivesTheLibrary() async throws {
        let ida = Identity.fromSeed([UInt8](repeating: 1, count: 32))
        let a = try Catalog.create(path: nil, identity: ida, personName: "Ann", nonce: Array(0..<16), now: t)
        let storeA = ChunkStore.inMemory()
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 7) }
        let obj = try storeA.store(bytes: bytes)
        try a.commit([.importAsset(AssetImport(id: obj.id, fileName: "IMG_0001.JPG",
                                               original: ObjectRef(id: obj.id, size: obj.size, chunks: obj.chunks)))], now: t)
        let tickets = Tickets()
        let open = [UInt8](repeating: 0xA1, count: 16), used = [UInt8](repeating: 0xA2, count: 16)
        let expired = [UInt8](repeating: 0xA3, count: 16), unknown = [UInt8](repeating: 0xA4, count: 16)
        let secret = [UInt8](repeating: 0x5E, count: 32)
        tickets.add(open, secret)
        tickets.add(used, secret, used: true)
        tickets.add(expired, secret, expired: true)
        try await withServer(serverContext(a, storeA, tickets)) { (server: SyncServer) async throws in
            try await pairing(a, storeA, obj: obj, bytes: bytes, server: server, ida: ida, secret: secret,
                              ids: (open, used, expired, unknown))
        }
    }

    func pairing(_ a: Catalog, _ storeA: ChunkStore, obj: StoredObject, bytes: [UInt8], server: SyncServer, ida: Identity,
                 secret: [UInt8], ids: (open: [UInt8], used: [UInt8], expired: [UInt8], unknown: [UInt8])) async throws {
        let (open, used, expired, unknown) = ids
        func ticket(_ id: [UInt8], secret: [UInt8] = secret) -> JoinTicket {
            JoinTicket(ticketID: id, secret: secret, inviter: ida.deviceID, name: "Bob")
        }
        let before = try a.digest()

        // Refusals: each a clear error, nothing committed on the server.
        for (id, why) in [(used, "already used"), (expired, "expired")] {
            let (_, _, ctx) = try joiner(a.libraryID, seed: 2, ticket: ticket(id))
            do {
                _ = try await SyncClient.syncOnce(host: "127.0.0.1", port: server.port, context: ctx)
                Issue.record("a \(why) ticket was accepted")
            } catch let e as SyncError {
                #expect(e.code == .pairingRefused && e.message.contains(why), "\(e)")
            }
        }
        let (_, _, unknownCtx) = try joiner(a.libraryID, seed: 2, ticket: ticket(unknown))
        await #expect(throws: SyncError.self) {
            _ = try await SyncClient.syncOnce(host: "127.0.0.1", port: server.port, context: unknownCtx)
        }
        let (_, _, wrongSecret) = try joiner(a.libraryID, seed: 2, ticket: ticket(open, secret: [UInt8](repeating: 1, count: 32)))
        await #expect(throws: SyncError.self) {
            _ = try await SyncClient.syncOnce(host: "127.0.0.1", port: server.port, context: wrongSecret)
        }
        #expect(try a.digest() == before, "no refused joiner changed the library")

        // The right secret: admitted, then the ordinary session fills the empty replica.
        let (b, storeB, ctx) = try joiner(a.libraryID, seed: 2, ticket: ticket(open))
        let summary = try await SyncClient.syncOnce(host: "127.0.0.1", port: server.port, context: ctx)
        #expect(summary.chunksReceived == obj.chunks.count)
        #expect(try b.digest() == a.digest())
        #expect(try b.members().map(\.name).sorted() == ["Ann", "Bob"])
        #expect(try storeB.readObject(chunks: obj.chunks, expectedID: obj.id) == bytes)

        // The ticket is spent; B is now an ordinary member and syncs without it.
        let (_, _, again) = try joiner(a.libraryID, seed: 3, ticket: ticket(open))
        await #expect(throws: SyncError.self) {
            _ = try await SyncClient.syncOnce(host: "127.0.0.1", port: server.port, context: again)
        }
        var member = ctx
        member.joinTicket = nil
        try b.commit([.setFavorite(obj.id, true)], now: t + 1)
        let s2 = try await SyncClient.syncOnce(host: "127.0.0.1", port: server.port, context: member)
        #expect(s2.changesSent == 1 && s2.chunksReceived == 0)
        #expect(try a.digest() == b.digest())
    }
}
