import Catalog
import ChunkStore
import HearthCrypto
import Wire
import SyncEngine
import Transport
@_exported import SyncTestSupport

/// Runs `body` with a server for `context` on a free port of 127.0.0.1, and stops the server
/// before returning, whether `body` returned or threw.
func withServer<T>(_ context: SyncContext, _ body: (SyncServer) async throws -> T) async throws -> T {
    let server = try await SyncServer.start(host: "127.0.0.1", port: 0, context: context)
    do {
        let result = try await body(server)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}
