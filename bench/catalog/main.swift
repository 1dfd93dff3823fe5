// bench-catalog: catalog insert, page, delta extraction and application rates at scale.
//
//   swift run -c release bench-catalog [--assets N] [--batch B] [--dir DIR]
//
// Prints each figure beside its anchor (a raw prepared INSERT through GRDB in one transaction).
import Catalog
import Foundation
import GRDB
import HearthCrypto

struct Options {
    var assets = 1_000_000
    var batch = 1000
    var dir: String? = nil

    init(_ args: [String]) {
        var i = 1
        while i < args.count {
            let next = i + 1 < args.count ? args[i + 1] : ""
            switch args[i] {
            case "--assets": assets = Int(next) ?? assets; i += 1
            case "--batch": batch = Int(next) ?? batch; i += 1
            case "--dir": dir = next; i += 1
            default:
                print("usage: bench-catalog [--assets N] [--batch B] [--dir DIR]")
                exit(2)
            }
            i += 1
        }
    }
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// CPU seconds this process has used: on a shared machine wall-clock rates undersell the code.
func cpuSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func peakRSSMiB() -> Double {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb / 1024
}

func fileSizeMiB(_ path: String) -> Double {
    var total = 0.0
    for suffix in ["", "-wal", "-shm"] {
        if let attrs = try? FileManager.default.attributesOfItem(atPath: path + suffix),
           let size = attrs[.size] as? NSNumber { total += size.doubleValue }
    }
    return total / 1_048_576
}

func fmt(_ v: Double) -> String { String(format: v >= 100 ? "%.0f" : "%.2f", v) }

/// A synthetic photo: deterministic id and metadata.
func synthetic(_ i: Int) -> AssetImport {
    var seed = [UInt8](repeating: 0, count: 8)
    withUnsafeBytes(of: UInt64(i).littleEndian) { seed = Array($0) }
    let id = Blake2b.hash256(seed)
    let fields: [AssetField: FieldValue] = [
        .type: .text("image"), .mimeType: .text("image/jpeg"), .bytes: .int(3_000_000 + Int64(i % 1000)),
        .takenAt: .takenAt(TakenAt(localSeconds: 1_500_000_000 + Int64(i) * 97 % 300_000_000, utcOffsetMinutes: 60)),
        .width: .int(4032), .height: .int(3024), .orientation: .int(1), .make: .text("Apple"),
        .model: .text("iPhone 13"), .fNumber: .double(1.6), .exposureTime: .double(1.0 / 120), .iso: .int(50),
        .focalLength: .double(5.1), .latitude: .double(35.6 + Double(i % 100) / 1000), .longitude: .double(139.7),
    ]
    return AssetImport(id: id, fileName: "IMG_\(i).HEIC", original: ObjectRef(id: id, size: 3_000_000, chunks: [id]),
                       fields: fields)
}

let opts = Options(CommandLine.arguments)
let dir = opts.dir ?? FileManager.default.temporaryDirectory.appendingPathComponent("bench-catalog-\(getpid())").path
try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
defer { if opts.dir == nil { try? FileManager.default.removeItem(atPath: dir) } }
let n = opts.assets
print("bench-catalog: \(n) assets, \(opts.batch) imports per commit, in \(dir)")

// Anchor: raw prepared INSERTs through GRDB, one transaction, same machine.
let rawPath = dir + "/raw.db"
let rawQueue = try DatabaseQueue(path: rawPath)
try rawQueue.write { db in
    try db.execute(sql: "PRAGMA journal_mode = WAL")
    try db.execute(sql: "CREATE TABLE t(id BLOB PRIMARY KEY, a INTEGER, b TEXT, c REAL) WITHOUT ROWID")
}
let rawCPU0 = cpuSeconds()
let rawSecs = try seconds {
    try rawQueue.write { db in
        let st = try db.makeStatement(sql: "INSERT INTO t(id, a, b, c) VALUES(?, ?, ?, ?)")
        for i in 0..<n {
            var key = [UInt8](repeating: 0, count: 8)
            withUnsafeBytes(of: UInt64(i).littleEndian) { key = Array($0) }
            try st.execute(arguments: [Data(Blake2b.hash(key)), i, "IMG_\(i).HEIC", Double(i)])
        }
    }
}
let rawRate = Double(n) / rawSecs
print("anchor  raw GRDB prepared INSERT, 1 txn:   \(fmt(rawRate)) rows/s; per CPU second "
      + "\(fmt(Double(n) / (cpuSeconds() - rawCPU0))) rows/s")

let now0: Int64 = 1_767_225_600_000
let path = dir + "/library.db"
let owner = Identity.fromSeed([UInt8](repeating: 1, count: 32))
let cat = try Catalog.create(path: path, identity: owner, personName: "Bench", nonce: [UInt8](repeating: 2, count: 16), now: now0)

var changes = 0
let insertCPU0 = cpuSeconds()
let insertSecs = try seconds {
    var i = 0
    while i < n {
        let end = min(n, i + opts.batch)
        var edits = [Edit]()
        edits.reserveCapacity(end - i + (end - i) / 5)
        for k in i..<end {
            let imp = synthetic(k)
            edits.append(.importAsset(imp))
            if k % 10 == 0 { edits.append(.setFavorite(imp.id, true)) }
            if k % 10 == 5 { edits.append(.addTag(imp.id, "Places/Japan")) }
        }
        try cat.commit(edits, now: now0 + Int64(i))
        changes += edits.count
        i = end
    }
}
let insertCPU = cpuSeconds() - insertCPU0
print("insert  \(fmt(Double(n) / insertSecs)) assets/s, \(fmt(Double(changes) / insertSecs)) changes/s "
      + "(\(fmt(Double(changes) / insertSecs / rawRate)) x anchor), \(fmt(insertSecs)) s total; "
      + "per CPU second \(fmt(Double(changes) / insertCPU)) changes/s")

var pageTimes = [Double]()
var page = [Asset]()
for _ in 0..<31 { pageTimes.append(try seconds { page = try cat.assets(AssetFilter(limit: 200)) }) }
pageTimes.sort()
print("page    newest 200 of \(n): median \(fmt(pageTimes[pageTimes.count / 2] * 1000)) ms (\(page.count) rows)")
var favTimes = [Double]()
for _ in 0..<11 { favTimes.append(try seconds { _ = try cat.assets(AssetFilter(tag: "Places", limit: 200)) }) }
favTimes.sort()
print("page    newest 200 tagged Places: median \(fmt(favTimes[favTimes.count / 2] * 1000)) ms")

let replicaPath = dir + "/replica.db"
let replica = try Catalog.join(path: replicaPath, library: cat.libraryID,
                               identity: Identity.fromSeed([UInt8](repeating: 3, count: 32)))
var extractSecs = 0.0, applySecs = 0.0, applyCPU = 0.0, moved = 0
var vv = VersionVector()
while true {
    var chunk = [SignedBatch]()
    extractSecs += try seconds { chunk = try cat.batches(missingFrom: vv, maxBytes: 16 << 20) }
    if chunk.isEmpty { break }
    for b in chunk {
        vv[b.origin] = b.lastSeq
        moved += Int(b.lastSeq - b.firstSeq + 1)
    }
    var report = ApplyReport()
    let cpu0 = cpuSeconds()
    applySecs += try seconds { report = try replica.applyRemote(chunk, now: now0 + Int64(n)) }
    applyCPU += cpuSeconds() - cpu0
    precondition(report.rejected.isEmpty && report.pending == 0, "replica refused batches: \(report.rejected)")
}
print("deltas  extract \(fmt(Double(moved) / extractSecs)) changes/s, apply \(fmt(Double(moved) / applySecs)) changes/s "
      + "(\(fmt(Double(moved) / applySecs / rawRate)) x anchor; goal >= 100000); "
      + "apply per CPU second \(fmt(Double(moved) / applyCPU)) changes/s")

var d1 = Hash256(bytes: [UInt8](repeating: 0, count: 32))!, d2 = d1
let digestSecs = try seconds { d1 = try cat.digest() }
d2 = try replica.digest()
print("digest  \(fmt(digestSecs)) s over \(n) assets; replica \(d1 == d2 ? "matches" : "DIFFERS")")
print("size    catalog \(fmt(fileSizeMiB(path))) MiB (\(fmt(fileSizeMiB(path) * 1_048_576 / Double(n))) B/asset), "
      + "replica \(fmt(fileSizeMiB(replicaPath))) MiB, raw anchor table \(fmt(fileSizeMiB(rawPath))) MiB")
print("memory  peak RSS \(fmt(peakRSSMiB())) MiB")
