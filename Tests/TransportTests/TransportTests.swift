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
    /// The handshake timeout is the machine's (unit-tested with virtual time in HandshakeTests);
    /// here it only has to be long enough for a loaded machine.
    func context(_ node: TestNode, isMember: (@Sendable (DeviceID) -> Bool)? = nil, handshakeTimeout: Int64 = 8_000) -> SyncContext {
        var limits = ConnectionLimits()
        limits.handshakeTimeout = handshakeTimeout
        limits.tickInterval = 100
        return SyncContext(catalog: node.catalog, chunks: node.chunks, identity: node.identity, epoch: 1,
                           policy: node.policy, isMember: isMember, limits: limits)
    }

    /// Sends raw bytes (then, with `thenClose`, half-closes: a FIN the server reads as the end of
    /// the stream), and waits (at most 30 s) for the server to close the connection.
    func sendRaw(_ bytes: [UInt8], port: Int, thenClose: Bool = false) async throws -> Bool {
        let conn = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { ch in
                ch.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: ch,
                                                                configuration: .init(isOutboundHalfClosureEnabled: true))
                }
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
        try await withServer(context(b)) { (server: SyncServer) async throws in
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
        }
        #expect(a.digest() == b.digest())
        for id in fromA { #expect(b.has(id)) }
        for id in fromB { #expect(a.has(id)) }
    }

    /// A handshake that stalls is cut at the handshake timeout over a real socket; so is a stalled
    /// preamble. (A server of its own, with a short timeout: no good peer has to finish against it.)
    @Test func stalledHandshakesAreCutAtTheTimeout() async throws {
        let b = family([("A", .everything), ("B", .everything)])[1]
        let before = b.digest()
        let member = ConnectionPreamble.member.encoded()
        try await withServer(context(b, handshakeTimeout: 1_000)) { (server: SyncServer) async throws in
            let clock = ContinuousClock()
            let start = clock.now
            #expect(try await sendRaw(Array(member.prefix(3)), port: server.port))
            #expect(try await sendRaw(member + [0, 0, 0, 32, 1, 2, 3], port: server.port))
            #expect(clock.now - start >= .seconds(2), "each stalled peer was held until its timeout")
        }
        #expect(b.digest() == before)
    }

    /// A member that completes the handshake and Hello, then sends a frame that fails
    /// authentication (the reader task opens frames), is disconnected; nothing is applied.
    /// A has a photo B lacks; B serves on a free port. Returns B's digest before anything happened.
    func servedPair() async throws -> (a: TestNode, b: TestNode, before: Hash256, server: SyncServer) {
        let n = family([("A", .everything), ("B", .everything)])
        n[0].importPhoto(1)
        let server = try await SyncServer.start(host: "127.0.0.1", port: 0, context: context(n[1]))
        return (n[0], n[1], n[1].digest(), server)  // the caller stops it
    }

    @Test func tamperedFrameAfterHandshakeDisconnects() async throws {
        let (a, b, before, server) = try await servedPair()
        let outcome: String
        do { outcome = try await tamper(a, server) } catch {
            await server.stop()
            throw error
        }
        await server.stop()
        #expect(outcome == "closed")
        #expect(b.digest() == before, "nothing from the tampering peer was applied")
    }

    func tamper(_ a: TestNode, _ server: SyncServer) async throws -> String {
        let conn = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: server.port) { ch in
                ch.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: ch) }
            }
        return try await conn.executeThenClose { inbound, outbound in
            var it = inbound.makeAsyncIterator()
            var decoder = FrameDecoder(maxBodyLength: Framing.defaultMaxBodyLength, context: "server")
            var frames: [[UInt8]] = []
            func nextFrame() async throws -> [UInt8]? {
                while frames.isEmpty {
                    guard let buffer = try await it.next() else { return nil }
                    frames += try decoder.feed(buffer.readableBytesView[...])
                }
                return frames.removeFirst()
            }
            let hs = try NoiseHandshake(role: .initiator, pattern: .XX, identity: a.identity,
                                        prologue: HandshakePayload.prologue, psk: nil)
            try await outbound.write(ByteBuffer(bytes: ConnectionPreamble.member.encoded() + Framing.encode(try hs.writeMessage())))
            guard let m2 = try await nextFrame() else { return "closed during the handshake" }
            _ = try hs.readMessage(m2)
            try await outbound.write(ByteBuffer(bytes: try Framing.encode(try hs.writeMessage(HandshakePayload(identity: a.identity).encoded()))))
            let cipher = hs.transportCipher()
            let hello = Message.hello(Hello(publicKey: a.identity.publicKey, library: a.catalog.syncLibrary.bytes,
                                            epoch: 1, policy: .everything, software: "test"))
            try await outbound.write(ByteBuffer(bytes: try Framing.encode(try cipher.seal(hello.encoded()))))
            guard let reply = try await nextFrame(), case .hello = try Message.decode(try cipher.open(reply)) else {
                return "no Hello from the server"
            }
            var forged = try cipher.seal(Message.ping(Ping(nonce: 1, reply: false)).encoded())
            forged[3] ^= 1
            try await outbound.write(ByteBuffer(bytes: try Framing.encode(forged)))
            // The server may still send what it had queued; then it must close (we give up at 30 s).
            let channel = conn.channel
            let timer = Task { () -> Bool in
                do { try await Task.sleep(for: .seconds(30)) } catch { return false }
                try? await channel.close()
                return true
            }
            do { while try await nextFrame() != nil {} } catch {}
            timer.cancel()
            return await timer.value ? "still open after 30 s" : "closed"
        }
    }

    @Test func clientRefusesAServerThatIsNotAMember() async throws {
        let (a, b, before, server) = try await servedPair()
        await #expect(throws: SyncError.self) {
            _ = try await SyncClient.syncOnce(host: "127.0.0.1", port: server.port,
                                              context: context(a, isMember: { _ in false }))
        }
        await server.stop()
        #expect(b.digest() == before)
    }
}
