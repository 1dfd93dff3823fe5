import Catalog
import HearthCrypto
import Testing
import Wire
@testable import SyncEngine
@testable import Transport

/// One server, one identity, two libraries on one port (`SyncContext.libraries`): each peer gets
/// the library its Hello names, and only as a member of that library.
struct SeveralLibrariesTransportTests {
    @Test func theHelloPicksTheLibraryAndItsMembersOnly() async throws {
        // Library 1 founded by S, with member B; library 2 founded by F, with members S (the same
        // identity as S above) and C.
        let one = family([("S", .everything), ("B", .everything)])
        let (s1, b) = (one[0], one[1])
        let f = TestNode("F", seed: 5, policy: .everything)
        let s2 = TestNode("S", seed: 1, joining: f, policy: .everything)
        let c = TestNode("C", seed: 3, joining: f, policy: .everything)
        introduce([f, s2, c])
        #expect(s1.identity.publicKey == s2.identity.publicKey && s1.library != s2.library)
        let inOne = s1.importPhoto(1)
        let inTwo = s2.importPhoto(2)

        let t = TransportTests()
        let byLibrary = [s1.library: t.context(s1), s2.library: t.context(s2)]
        var base = t.context(s1, isMember: { d in
            ((try? s1.catalog.syncIsMember(d)) ?? false) || ((try? s2.catalog.syncIsMember(d)) ?? false)
        })
        base.libraries = { byLibrary[$0] }
        let server = try await SyncServer.start(host: "127.0.0.1", port: 0, context: base)
        defer { Task { await server.stop() } }

        // Each member gets its own library, its bytes and nothing of the other.
        _ = try await SyncClient.syncOnce(host: "127.0.0.1", port: server.port, context: t.context(b))
        _ = try await SyncClient.syncOnce(host: "127.0.0.1", port: server.port, context: t.context(c))
        #expect(b.digest() == s1.digest() && c.digest() == s2.digest())
        for id in inOne { #expect(b.has(id) && !c.has(id)) }
        for id in inTwo { #expect(c.has(id) && !b.has(id)) }

        // B is a member of library 1 only: asking for library 2 is refused after its Hello.
        let before2 = s2.digest()
        let bInTwo = TestNode("B", seed: 2, joining: f, policy: .everything)
        await #expect(throws: SyncError.self) {
            _ = try await SyncClient.syncOnce(host: "127.0.0.1", port: server.port, context: t.context(bInTwo, isMember: { _ in true }))
        }
        #expect(try bInTwo.catalog.versionVector().sorted.isEmpty && bInTwo.chunkCount == 0, "B got nothing of library 2")
        #expect(s2.digest() == before2)

        // A library the server does not hold is refused too.
        let g = TestNode("G", seed: 6, policy: .everything)
        let bInThree = TestNode("B", seed: 2, joining: g, policy: .everything)
        await #expect(throws: SyncError.self) {
            _ = try await SyncClient.syncOnce(host: "127.0.0.1", port: server.port, context: t.context(bInThree, isMember: { _ in true }))
        }
        #expect(bInThree.chunkCount == 0)
    }
}
