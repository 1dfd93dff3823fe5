import Catalog
import ChunkStore
import Foundation
import HearthCrypto
import Synchronization
import Testing
import Wire
@testable import SyncEngine
@testable import Transport

/// `protocol/vectors/preamble.json`: every case parses (or is refused) as stated, and re-encodes.
struct PreambleVectorTests {
    struct Case: Decodable {
        let name: String
        let input: String
        let mode: String?
        let ticket_id: String?
        let consumed: Int?
        let error: String?
    }

    struct File: Decodable { let cases: [Case] }

    @Test func allVectors() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: root.appendingPathComponent("protocol/vectors/preamble.json")))
        #expect(file.cases.count >= 10)
        for c in file.cases {
            let input = Hex.decode(c.input)!
            switch c.error {
            case nil:
                let parsed = try #require(try ConnectionPreamble.parse(input), "\(c.name)")
                #expect(parsed.1 == c.consumed, "\(c.name)")
                #expect(parsed.0.mode == (c.mode == "pairing" ? .pairing : .member), "\(c.name)")
                #expect(parsed.0.ticketID.map(Hex.encode) == c.ticket_id, "\(c.name)")
                #expect(parsed.0.encoded() == Array(input.prefix(parsed.1)), "\(c.name) re-encodes")
            case "incomplete":
                #expect(try ConnectionPreamble.parse(input) == nil, "\(c.name)")
            default:
                #expect(throws: WireError.self, "\(c.name)") { try ConnectionPreamble.parse(input) }
            }
            // Fed one byte at a time, the verdict is the same and comes no later than the whole input.
            var verdict: String = "incomplete"
            for n in 1...input.count {
                do {
                    if try ConnectionPreamble.parse(Array(input.prefix(n))) != nil { verdict = "ok"; break }
                } catch {
                    verdict = "invalid"
                    break
                }
            }
            #expect(verdict == (c.error ?? "ok"), "\(c.name) byte by byte")
        }
    }

    @Test func pairingPayloadRoundTripsAndRejectsBadNames() throws {
        let id = Identity.fromSeed([UInt8](repeating: 9, count: 32))
        let p = PairingPayload(identity: HandshakePayload(identity: id), name: "Grandma's iPad")
        #expect(try PairingPayload(decoding: p.encoded()) == p)
        let identityOnly = HandshakePayload(identity: id).encoded()
        #expect(throws: WireError.self) { try PairingPayload(decoding: identityOnly) }
        #expect(throws: WireError.self) { try PairingPayload(decoding: identityOnly + [0]) }
        #expect(throws: WireError.self) { try PairingPayload(decoding: identityOnly + [65] + [UInt8](repeating: 0x41, count: 65)) }
        #expect(throws: WireError.self) { try PairingPayload(decoding: identityOnly + [2, 0xff, 0xfe]) }
        #expect(throws: WireError.self) { try PairingPayload(decoding: p.encoded() + [0]) }
    }
}

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
        let server = try await SyncServer.start(host: "127.0.0.1", port: 0, context: serverContext(a, storeA, tickets))
        defer { Task { await server.stop() } }
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
