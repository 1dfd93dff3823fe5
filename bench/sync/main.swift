import Catalog
import ChunkStore
import Foundation
import HearthCrypto
import Logging
import SyncEngine
import Transport

// bench-sync: catalog replication over real TCP on 127.0.0.1, two nodes in one process.
//
//   bench-sync [--assets 100000] [--edits 10000] [--rounds 20]
//
// 1. A commits N synthetic imports (1 000 per commit) into a catalog file; B joins empty and
//    catches up in one session (time, bytes on the wire).
// 2. B stays connected. One metadata edit on A: bytes on the wire both ways and the time until
//    B's catalog holds it (median of --rounds).
// 3. B disconnects; A commits --edits edits, one commit each; B reconnects and catches up
//    (time, BatchRequests sent: the catch-up is one round trip).

func arg(_ name: String, _ def: Int) -> Int {
    let a = CommandLine.arguments
    guard let i = a.firstIndex(of: "--\(name)"), i + 1 < a.count, let v = Int(a[i + 1]) else { return def }
    return v
}

let assetCount = arg("assets", 100_000)
let editCount = arg("edits", 10_000)
let rounds = arg("rounds", 20)

func millis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
func fmt(_ x: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", x) }

let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bench-sync-\(UUID().uuidString.prefix(8))")
try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: dir) }

let silent: Logger = {
    var l = Logger(label: "bench")
    l.logLevel = .critical
    return l
}()
let ida = Identity.generate(), idb = Identity.generate()
let a = try Catalog.create(path: dir.appendingPathComponent("a.sqlite").path, identity: ida, personName: "A",
                           nonce: secureRandomBytes(16), now: millis())
let b = try Catalog.join(path: dir.appendingPathComponent("b.sqlite").path, library: a.libraryID, identity: idb)
try a.commit([.addMember(publicKey: idb.publicKey, name: "B", role: .member)], now: millis())
// B learns who A is as pairing would have told it: the genesis and membership batches.
try b.applyRemote(a.batches(missingFrom: b.versionVector()), now: millis())

print("bench-sync: \(assetCount) assets, \(editCount) catch-up edits, \(rounds) single-edit rounds; catalogs on disk in \(dir.path)")
let clock = ContinuousClock()
var ids: [Hash256] = []
ids.reserveCapacity(assetCount)
let genTime = try clock.measure {
    var i = 0
    while i < assetCount {
        let n = min(1000, assetCount - i)
        var edits: [Edit] = []
        for j in i..<(i + n) {
            let id = Blake2b.hash256(Array("asset-\(j)".utf8))
            ids.append(id)
            var imp = AssetImport(id: id, fileName: "IMG_\(j).JPG", original: ObjectRef(id: id, size: 3_000_000, chunks: [id]))
            imp.fields[.width] = .int(4000)
            imp.fields[.height] = .int(3000)
            edits.append(.importAsset(imp))
        }
        try a.commit(edits, now: millis())
        i += n
    }
}
print("  generate: \(assetCount) imports committed on A in \(fmt(seconds(genTime))) s")

func context(_ c: Catalog, _ id: Identity, _ traffic: TrafficCounter) throws -> SyncContext {
    var ctx = SyncContext(catalog: c, chunks: ChunkStore.inMemory(), identity: id, epoch: try c.origin().epoch,
                          policy: .thumbnails, logger: silent)
    ctx.traffic = traffic
    return ctx
}

let trafficA = TrafficCounter(), trafficB = TrafficCounter()
let hubA = SyncHub(), hubB = SyncHub()
let server = try await SyncServer.start(host: "127.0.0.1", port: 0, context: context(a, ida, trafficA), hub: hubA)
let ctxB = try context(b, idb, trafficB)

// 1. Initial catalog replication.
var summary = SyncSummary()
let initial = try await clock.measure {
    summary = try await SyncClient.syncOnce(host: "127.0.0.1", port: server.port, context: ctxB)
}
let sameAfterInitial = try a.digest() == b.digest()
precondition(sameAfterInitial, "catalogs differ after the initial sync")
let catalogBytes = (try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("a.sqlite").path)[.size] as? Int) ?? 0
print("  initial catalog replication: \(summary.changesReceived) changes in \(summary.batchesReceived) batches, "
      + "\(fmt(seconds(initial))) s, \(trafficB.received / 1024) KiB received (A's database file: \(catalogBytes / 1024) KiB)")

// 2. One edit while connected.
let link = Task { try await SyncClient.stayConnected(host: "127.0.0.1", port: server.port, context: ctxB, hub: hubB) }
while hubA.count == 0 || hubB.count == 0 { try await Task.sleep(for: .milliseconds(5)) }
try await Task.sleep(for: .milliseconds(300)) // let the opening Summaries and Done settle
var latencies: [Double] = []
var wireBytes: [Int] = []
for r in 0..<rounds {
    let before = trafficA.sent + trafficA.received
    let start = clock.now
    let batch = try a.commit([.setDescription(ids[r * 7919 % ids.count], "edit \(r)")], now: millis())
    server.announceLocalChange()
    let want = Dot(origin: batch.origin, seq: batch.lastSeq)
    while try !b.versionVector().covers(want) { try await Task.sleep(for: .microseconds(200)) }
    latencies.append(seconds(clock.now - start) * 1000)
    try await Task.sleep(for: .milliseconds(100)) // the Done exchange that follows
    wireBytes.append(trafficA.sent + trafficA.received - before)
}
latencies.sort()
wireBytes.sort()
print("  one metadata edit on \(assetCount) assets: median \(fmt(latencies[latencies.count / 2])) ms until B holds it "
      + "(min \(fmt(latencies[0])), max \(fmt(latencies.last!))), median \(wireBytes[wireBytes.count / 2]) bytes on the wire both ways "
      + "(goal ≤ 100 ms, ≤ 1024 bytes; `hearth serve` adds up to 200 ms of polling for edits made by another process)")

// 3. Catch-up of many edits after a disconnection.
link.cancel()
_ = try? await link.value
while hubA.count > 0 { try await Task.sleep(for: .milliseconds(5)) }
let commitTime = try clock.measure {
    for e in 0..<editCount { try a.commit([.setRating(ids[e % ids.count], e % 5 + 1)], now: millis()) }
}
let beforeB = trafficB.received + trafficB.sent
let catchUp = try await clock.measure {
    summary = try await SyncClient.syncOnce(host: "127.0.0.1", port: server.port, context: ctxB)
}
let sameAfterCatchUp = try a.digest() == b.digest()
precondition(sameAfterCatchUp, "catalogs differ after catch-up")
print("  catch-up of \(editCount) edits (\(editCount) commits made in \(fmt(seconds(commitTime))) s): "
      + "\(summary.changesReceived) changes in \(summary.batchesReceived) batches, \(fmt(seconds(catchUp) * 1000, 0)) ms "
      + "including connect and handshake; B sent \(summary.messageBytesSent) bytes of messages (its Summary, one BatchRequest, "
      + "Credit, Done), \((trafficB.received + trafficB.sent - beforeB) / 1024) KiB on the wire in all (goal < 1 s)")
await server.stop()
