// bench-timeline: the timeline, search and statistics queries on a large catalog.
//
//   swift run bench-timeline [--assets N] [--runs R] [--dir DIR] [--home HOME]
//
// With --home, the assets go into the catalog of the node `hearth init` made in HOME (signed
// with its device key), which is left there for `scripts/bench-timeline-http.sh` to serve.
//
// Builds an N-asset catalog (default 100,000) spread over ten years of local capture times in
// every UTC offset from -12 to +14 hours, with favourites, archived and trashed assets and an
// album; checks the bucket counts against an independent count (Foundation's calendar); then
// prints the median and p99 of each query beside its goal.
import Catalog
import Foundation
import HearthCrypto

struct Options {
    var assets = 100_000
    var runs = 101
    var dir: String? = nil
    var home: String? = nil

    init(_ args: [String]) {
        var i = 1
        while i < args.count {
            let next = i + 1 < args.count ? args[i + 1] : ""
            switch args[i] {
            case "--assets": assets = Int(next) ?? assets; i += 1
            case "--runs": runs = max(3, Int(next) ?? runs); i += 1
            case "--dir": dir = next; i += 1
            case "--home": home = next; i += 1
            default:
                print("usage: bench-timeline [--assets N] [--runs R] [--dir DIR] [--home HOME]")
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

func fmt(_ v: Double) -> String { String(format: v >= 100 ? "%.0f" : "%.2f", v) }

/// CPU seconds this thread has used: on a shared machine wall-clock times also count the wait
/// for a core.
func cpuSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

struct Timing {
    var median: Double, p99: Double, cpuMedian: Double
}

/// Times `body` `runs` times: wall-clock median and p99, and the median CPU time, in ms.
func timed(_ runs: Int, _ body: () throws -> Void) rethrows -> Timing {
    var t: [Double] = [], cpu: [Double] = []
    for _ in 0..<runs {
        let c0 = cpuSeconds()
        t.append(try seconds(body) * 1000)
        cpu.append((cpuSeconds() - c0) * 1000)
    }
    t.sort()
    cpu.sort()
    return Timing(median: t[t.count / 2], p99: t[min(t.count - 1, Int((Double(t.count) * 0.99).rounded(.up)) - 1)],
                  cpuMedian: cpu[cpu.count / 2])
}

func report(_ what: String, _ r: Timing, goal: Double, _ detail: String) {
    let verdict = r.median < goal ? "meets" : "MISSES"
    print("\(what.padding(toLength: 34, withPad: " ", startingAt: 0)) median \(fmt(r.median)) ms, p99 \(fmt(r.p99)) ms, "
          + "CPU \(fmt(r.cpuMedian)) ms (goal < \(fmt(goal)) ms: \(verdict)); \(detail)")
}

/// A deterministic pseudo-random stream (SplitMix64).
struct Mix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

struct Generated {
    var imp: AssetImport
    var local: Int64?
    var utc: Int64?
    var favorite = false, archived = false, trashed = false, inAlbum = false
}

let start2016: Int64 = 1_451_606_400  // 2016-01-01T00:00:00 (local, read as UTC)
let tenYears: Int64 = 10 * 365 * 86400

func generate(_ i: Int) -> Generated {
    var r = Mix(state: UInt64(i) &* 0x2545_f491_4f6c_dd1d)
    var seed = [UInt8](repeating: 0, count: 8)
    withUnsafeBytes(of: UInt64(i).littleEndian) { seed = Array($0) }
    let id = Blake2b.hash256(seed)
    var fields: [AssetField: FieldValue] = [
        .type: .text(r.below(10) == 0 ? "video" : "image"), .mimeType: .text("image/jpeg"), .bytes: .int(3_000_000),
        .width: .int(4032), .height: .int(3024), .orientation: .int(r.below(4) == 0 ? 6 : 1),
        .make: .text(r.below(3) == 0 ? "Canon" : "Apple"), .model: .text("Model \(r.below(5))"),
    ]
    var g = Generated(imp: AssetImport(id: id, fileName: "IMG_\(i).JPG", original: ObjectRef(id: id, size: 3_000_000, chunks: [id])))
    if r.below(100) != 0 {  // 1 in 100 has no capture time
        let local = start2016 + Int64(r.below(Int(tenYears)))
        let offset: Int32? = r.below(10) == 0 ? nil : Int32(r.below(27 * 4) * 15 - 12 * 60)  // -12:00…+14:45
        fields[.takenAt] = .takenAt(TakenAt(localSeconds: local, utcOffsetMinutes: offset))
        g.local = local
        g.utc = local - Int64(offset ?? 0) * 60
    }
    if r.below(3) == 0 { fields[.latitude] = .double(35 + Double(r.below(1000)) / 1000); fields[.longitude] = .double(139.7) }
    g.imp.fields = fields
    g.favorite = r.below(10) == 0
    g.archived = r.below(20) == 0
    g.trashed = r.below(50) == 0
    g.inAlbum = r.below(25) == 0
    return g
}

let opts = Options(CommandLine.arguments)
let dir = opts.dir ?? FileManager.default.temporaryDirectory.appendingPathComponent("bench-timeline-\(getpid())").path
try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
defer { if opts.dir == nil { try? FileManager.default.removeItem(atPath: dir) } }
let n = opts.assets
// The import time of undated assets: 2026-01-01T00:00:00Z, or now in a home's catalog, whose
// clock already stands at `hearth init`'s time.
let now0: Int64 = opts.home == nil ? 1_767_225_600_000 : Int64(Date().timeIntervalSince1970 * 1000) + 60_000
print("bench-timeline: \(n) assets, \(opts.runs) runs per query, in \(dir)")

/// The catalog of the one library of a node made by `hearth init` in `home`, under its own key.
func homeCatalog(_ home: String) throws -> Catalog {
    let key = try String(contentsOfFile: home + "/identity.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    let bytes: [UInt8] = stride(from: 0, to: key.count, by: 2).compactMap { i in
        let start = key.index(key.startIndex, offsetBy: i)
        return UInt8(key[start..<key.index(start, offsetBy: 2)], radix: 16)
    }
    let libraries = try FileManager.default.contentsOfDirectory(atPath: home + "/libraries").filter { !$0.hasPrefix(".") }
    guard libraries.count == 1 else {
        print("bench-timeline: \(home) must hold one library made by `hearth init` (found \(libraries.count))")
        exit(2)
    }
    return try Catalog.open(path: home + "/libraries/\(libraries[0])/catalog.sqlite", identity: try Identity(secretKeyBytes: bytes))
}

let cat = try opts.home.map(homeCatalog) ?? Catalog.create(path: dir + "/library.db", identity: Identity.fromSeed([UInt8](repeating: 1, count: 32)),
                                                            personName: "Bench", nonce: [UInt8](repeating: 2, count: 16), now: now0)
let album = AlbumID(bytes: [UInt8](repeating: 7, count: 16))!
var generated: [Generated] = []
generated.reserveCapacity(n)
let buildSecs = try seconds {
    try cat.commit([.createAlbum(album, name: "Holidays")], now: now0)
    var i = 0
    while i < n {
        let end = min(n, i + 1000)
        var edits: [Edit] = []
        for k in i..<end {
            let g = generate(k)
            generated.append(g)
            edits.append(.importAsset(g.imp))
            if g.favorite { edits.append(.setFavorite(g.imp.id, true)) }
            if g.archived { edits.append(.setArchived(g.imp.id, true)) }
            if g.trashed { edits.append(.trash(g.imp.id)) }
            if g.inAlbum { edits.append(.addToAlbum(album, g.imp.id)) }
        }
        try cat.commit(edits, now: now0)
        i = end
    }
}
print("build   \(n) assets in \(fmt(buildSecs)) s")

// Independent expectations: Foundation's Gregorian calendar in UTC on the local wall clock.
let calendar: Calendar = {
    var c = Calendar(identifier: .gregorian)
    c.timeZone = TimeZone(identifier: "UTC")!
    return c
}()
func bucketName(_ seconds: Int64) -> String {
    let c = calendar.dateComponents([.year, .month], from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    return String(format: "%04d-%02d-01", c.year!, c.month!)
}
var expected: [String: Int] = [:]
for g in generated where !g.trashed && !g.archived {
    expected[bucketName(g.local ?? now0 / 1000), default: 0] += 1
}

var buckets: [TimeBucket] = []
let timelineFilter = TimelineFilter(visibility: .timeline)
let bucketTimes = try timed(opts.runs) { buckets = try cat.timeBuckets(timelineFilter) }
let got = Dictionary(uniqueKeysWithValues: buckets.map { ($0.timeBucket, $0.count) })
guard got == expected else {
    print("FAIL: timeBuckets disagree with the independent count: \(got.count) vs \(expected.count) months")
    exit(1)
}
print("check   \(buckets.count) buckets, \(buckets.reduce(0) { $0 + $1.count }) assets: counts match")
report("timeBuckets (timeline)", bucketTimes, goal: 20, "\(buckets.count) months")
let allTimes = try timed(opts.runs) { _ = try cat.timeBuckets() }
report("timeBuckets (timeline + archive)", allTimes, goal: 20, "two index ranges")
let favTimes = try timed(opts.runs) { _ = try cat.timeBuckets(TimelineFilter(visibility: .timeline, isFavorite: true)) }
report("timeBuckets (favourites)", favTimes, goal: 20, "")
let albumTimes = try timed(opts.runs) { _ = try cat.timeBuckets(TimelineFilter(album: album)) }
report("timeBuckets (album)", albumTimes, goal: 20, "\(generated.filter { $0.inAlbum }.count) assets in it")

let biggest = buckets.max { $0.count < $1.count }!
var rows: [TimelineAsset] = []
let monthTimes = try timed(opts.runs) { rows = try cat.timeBucket(biggest.month, timelineFilter) }
guard rows.count == biggest.count, rows.map(\.fileCreatedAt) == rows.map(\.fileCreatedAt).sorted(by: >) else {
    print("FAIL: the bucket \(biggest.timeBucket) has \(rows.count) rows, not \(biggest.count), or is out of order")
    exit(1)
}
report("timeBucket (largest month)", monthTimes, goal: 20, "\(biggest.timeBucket): \(rows.count) assets")

// Search by date: a 30-day window in the middle, Immich's default page of 250.
let from = start2016 + tenYears / 2, to = from + 30 * 86400
let inWindow = generated.filter { !$0.trashed && ($0.utc ?? now0 / 1000) >= from && ($0.utc ?? now0 / 1000) <= to }.count
var q = MetadataSearch()
q.takenAfter = from
q.takenBefore = to
var page = try cat.searchMetadata(q)
let searchTimes = try timed(opts.runs) { page = try cat.searchMetadata(q) }
guard page.assets.count == min(250, inWindow), (page.nextPage != nil) == (inWindow > 250) else {
    print("FAIL: search by date returned \(page.assets.count) (next \(String(describing: page.nextPage))), \(inWindow) match")
    exit(1)
}
report("searchMetadata (30 days, page 1)", searchTimes, goal: 50, "\(inWindow) match, \(page.assets.count) returned")
q.page = 4
let deepTimes = try timed(opts.runs) { page = try cat.searchMetadata(q) }
report("searchMetadata (30 days, page 4)", deepTimes, goal: 50, "\(page.assets.count) returned")
var byMake = MetadataSearch()
byMake.make = "canon"
byMake.takenAfter = from
byMake.takenBefore = to
let makeTimes = try timed(opts.runs) { page = try cat.searchMetadata(byMake) }
report("searchMetadata (make + 30 days)", makeTimes, goal: 50, "\(page.assets.count) returned (no place: no geocoder)")

let statsTimes = try timed(opts.runs) { _ = try cat.assetStatistics() }
report("assetStatistics", statsTimes, goal: 50, "")
var markers = 0
let mapTimes = try timed(max(3, opts.runs / 10)) { markers = try cat.mapMarkers().count }
report("mapMarkers", mapTimes, goal: 100, "\(markers) markers")
let randomTimes = try timed(opts.runs) { _ = try cat.randomAssets(50) }
report("randomAssets (50)", randomTimes, goal: 50, "")
