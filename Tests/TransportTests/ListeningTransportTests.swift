import HearthCrypto
import Synchronization
import Testing
import Wire
@testable import SyncEngine
@testable import Transport

/// Listening over real sockets: each side that listens tells the other where, and the other's
/// observer hears the address the connection came from with the announced port.
struct ListeningTransportTests {
    /// Collects what a context's observer is told.
    final class Reports: Sendable {
        let all = Mutex<[ConnectionReport]>([])
        func add(_ r: ConnectionReport) { all.withLock { $0.append(r) } }
        var listening: [(DeviceID, [String])] {
            all.withLock { $0.compactMap { if case .listening(let d, let e) = $0 { (d, e) } else { nil } } }
        }
    }

    func context(_ node: TestNode, _ reports: Reports) -> SyncContext {
        var limits = ConnectionLimits()
        limits.handshakeTimeout = 8_000
        limits.tickInterval = 100
        var ctx = SyncContext(catalog: node.catalog, chunks: node.chunks, identity: node.identity, epoch: 1,
                              policy: node.policy, limits: limits)
        ctx.observer = { reports.add($0) }
        return ctx
    }

    @Test func bothRolesAnnounceWhereTheyListen() async throws {
        let n = family([("A", .everything), ("B", .everything)])
        let (a, b) = (n[0], n[1])
        a.importPhoto(1)
        let (ra, rb) = (Reports(), Reports())
        var server = context(b, rb)
        server.listenPort = 0 // the port the server binds
        server.listenAddresses = ["nas.example:7480"]
        var client = context(a, ra)
        client.listenPort = 4242
        let (summary, port) = try await withServer(server) { (s: SyncServer) async throws in
            (try await SyncClient.syncOnce(host: "127.0.0.1", port: s.port, context: client), s.port)
        }
        #expect(summary.changesSent == 1, "Listening did not disturb the session")
        #expect(a.digest() == b.digest())

        let heardByA = ra.listening
        #expect(heardByA.count == 1)
        #expect(heardByA.first?.0 == b.identity.deviceID)
        #expect(heardByA.first?.1 == ["127.0.0.1:\(port)", "nas.example:7480"])
        // B hears A's Listening before A's Summary, so before A can converge.
        let heardByB = rb.listening
        #expect(heardByB.count == 1)
        #expect(heardByB.first?.0 == a.identity.deviceID)
        #expect(heardByB.first?.1 == ["127.0.0.1:4242"])
    }

    @Test func aNodeThatDoesNotListenSaysNothing() async throws {
        let n = family([("A", .everything), ("B", .everything)])
        let (a, b) = (n[0], n[1])
        let (ra, rb) = (Reports(), Reports())
        _ = try await withServer(context(b, rb)) { (s: SyncServer) async throws in
            try await SyncClient.syncOnce(host: "127.0.0.1", port: s.port, context: context(a, ra))
        }
        #expect(ra.listening.isEmpty && rb.listening.isEmpty)
    }

    @Test func endpointsPairTheSeenHostWithTheAnnouncedPort() {
        let l = Listening(port: 7480, addresses: ["nas.local:7480", "192.168.1.20:7480"])
        #expect(Connection.endpoints(of: l, seenAt: "192.168.1.20:51234") == ["192.168.1.20:7480", "nas.local:7480"])
        #expect(Connection.endpoints(of: l, seenAt: "[fd00::7]:51234") == ["[fd00::7]:7480", "nas.local:7480", "192.168.1.20:7480"])
        #expect(Connection.endpoints(of: Listening(port: 9), seenAt: "[::ffff:10.0.0.2]:40000") == ["10.0.0.2:9"])
        #expect(Connection.endpoints(of: Listening(port: 9), seenAt: "unknown peer") == [])
    }
}
