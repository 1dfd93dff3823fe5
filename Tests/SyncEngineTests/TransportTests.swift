import Catalog
import HearthCrypto
import Logging
import NIOCore
import NIOPosix
import Testing
import Wire
@testable import SyncEngine
@testable import Transport

/// Real sockets on 127.0.0.1: two in-process nodes, and peers that misbehave.
struct TransportTests {
    func context(_ node: TestNode, isMember: (@Sendable (DeviceID) -> Bool)? = nil) -> SyncContext {
        var limits = ConnectionLimits()
        limits.handshakeTimeout = 8_000 // short enough for the stalled-handshake case, long enough for a loaded machine
        limits.tickInterval = 100
        return SyncContext(catalog: node.catalog, chunks: node.chunks, identity: node.identity, epoch: 1,
                           policy: node.policy, isMember: isMember, limits: limits)
    }

    /// Sends raw bytes, then waits (at most 5 s) for the server to close the connection.
    func sendRaw(_ bytes: [UInt8], port: Int, thenClose: Bool = false) async throws -> Bool {
        let conn = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { ch in
                ch.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: ch) }
            }
        return try await conn.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: bytes))
            if thenClose { outbound.finish() }
            return try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    for try await _ in inbound {}
                    return true
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(30))
                    return false
                }
                let first = try await group.next()!
                group.cancelAll()
                return first
            }
        }
    }

    @Test func twoNodesSyncOverTCPAndBadPeersAreDropped() async throws {
        let n = family([("A", .everything), ("B", .everything)])
        let (a, b) = (n[0], n[1])
        let fromA = a.importPhoto(1, originalChunks: 3, chunkSize: 300_000)
        let fromB = b.importPhoto(2)
        let digestA = a.digest(), digestB = b.digest()
        let server = try await SyncServer.start(host: "127.0.0.1", port: 0, context: context(b))
        defer { Task { await server.stop() } }

        // Garbage ("GET …") is dropped at its first byte: it is not the preamble's magic.
        #expect(try await sendRaw(Array("GET / HTTP/1.1\r\n\r\n".utf8), port: server.port))
        // After a valid member preamble (SPEC 3.1), the handshake stage:
        let member = ConnectionPreamble.member.encoded()
        // An oversized frame length.
        #expect(try await sendRaw(member + [0xff, 0xff, 0xff, 0xff, 1, 2, 3], port: server.port))
        // Random handshake messages: message 1 is any 32 bytes, message 3 fails to decrypt.
        #expect(try await sendRaw(member + [0, 0, 0, 32] + [UInt8](repeating: 7, count: 32) + [0, 0, 0, 80]
                                  + [UInt8](repeating: 9, count: 80), port: server.port))
        // A truncated handshake: half of message 1, then the client hangs up.
        #expect(try await sendRaw(member + [0, 0, 0, 32, 1, 2, 3, 4, 5], port: server.port, thenClose: true))
        // A handshake that stalls is cut at the handshake timeout; so is a stalled preamble.
        #expect(try await sendRaw(Array(member.prefix(3)), port: server.port))
        #expect(try await sendRaw(member + [0, 0, 0, 32, 1, 2, 3], port: server.port))
        #expect(a.digest() == digestA && b.digest() == digestB, "nothing a bad peer sent was applied")

        // A non-member: a real Noise peer with a replica of the library whose key B does not know
        // (it trusts B, so the refusal is B's).
        let stranger = TestNode("S", seed: 3, joining: a, policy: .everything)
        await #expect(throws: SyncError.self) {
            _ = try await SyncClient.syncOnce(host: "127.0.0.1", port: server.port, context: context(stranger, isMember: { _ in true }))
        }
        #expect(b.digest() == digestB)
        #expect(try stranger.catalog.versionVector().sorted.isEmpty && stranger.chunkCount == 0, "the stranger got nothing")

        // The server still serves a good peer.
        let summary = try await SyncClient.syncOnce(host: "127.0.0.1", port: server.port, context: context(a))
        #expect(summary.changesSent == 1 && summary.changesReceived == 1)
        #expect(a.digest() == b.digest())
        for id in fromA { #expect(b.has(id)) }
        for id in fromB { #expect(a.has(id)) }
    }

    @Test func clientRefusesAServerThatIsNotAMember() async throws {
        let n = family([("A", .everything), ("B", .everything)])
        let (a, b) = (n[0], n[1])
        a.importPhoto(1)
        let before = b.digest()
        let server = try await SyncServer.start(host: "127.0.0.1", port: 0, context: context(b))
        defer { Task { await server.stop() } }
        await #expect(throws: SyncError.self) {
            _ = try await SyncClient.syncOnce(host: "127.0.0.1", port: server.port,
                                              context: context(a, isMember: { _ in false }))
        }
        #expect(b.digest() == before)
    }
}
