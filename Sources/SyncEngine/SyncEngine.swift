import Wire

/// The Hearth sync protocol as a sans-IO state machine.
///
/// A `SyncSession` is one conversation with one peer over an already authenticated,
/// encrypted channel (the Noise handshake and Hello exchange happen in `Transport`). It is
/// pure in the sense that matters for simulation: `handle(input, now:, wallMillis:)` returns effects and
/// never touches sockets, threads or clocks; time comes in as milliseconds. It reads and
/// writes the catalog and chunk store it was given (`SyncCatalog`, `SyncChunkSource`).
///
/// Two peers wired together in memory (what the tests and `simulations/` do):
///
/// ```swift
/// var a = SyncSession(catalog: catA, chunks: storeA, config: .init(policy: .everything), peerName: "B")
/// var b = SyncSession(catalog: catB, chunks: storeB, config: .init(policy: .thumbnails), peerName: "A")
/// var toB = a.handle(.start, now: t, wallMillis: wall).messages, toA = b.handle(.start, now: t, wallMillis: wall).messages
/// while !toA.isEmpty || !toB.isEmpty {
///     let inA = toA, inB = toB
///     toA = []; toB = []
///     for m in inA { toB += a.handle(.message(m), now: t, wallMillis: wall).messages }
///     for m in inB { toA += b.handle(.message(m), now: t, wallMillis: wall).messages }
/// }
/// // Both saw `.converged(summary)`; catA.digest() == catB.digest().
/// ```
///
/// A real driver (`Transport`) decodes each frame into a `Message`, feeds it in, and for
/// each effect encodes and sends (`.send`), closes (`.close`), tells the node's other
/// sessions `.localChange` (`.catalogChanged`, which is how changes gossip onward within a
/// second), or reports the summary (`.converged`). It feeds `.tick` every few seconds for
/// keep-alives and the idle timeout, and `.localChange` after a local commit (push).
public enum SyncEngineModule {}

extension Array where Element == SyncEffect {
    /// The messages among the effects, in order.
    public var messages: [Wire.Message] {
        compactMap { if case .send(let m) = $0 { m } else { nil } }
    }
}
