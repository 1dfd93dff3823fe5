// bench-chunks: throughput of the chunk store beside its anchors.
//
//   swift run -c release bench-chunks [DIR]
//
// Without DIR, ~1 GiB of pseudo-random files (photo-sized and video-sized) is generated in a
// temporary folder. All files are read once first so every figure is measured from the page
// cache. Figures:
//   (a)  BLAKE2b-256, one pass over every file (the anchor)
//   (a2) BLAKE2b-256 twice over every byte: the floor for (b), which must hash the whole
//        object (the asset id) and every chunk (chunk ids)
//   (b)  FastCDC chunking + object hash + chunk hashes, nothing written
//   (c)  full store: chunk, hash, write packs, fsync, index (one file per commit)
//   verify: re-read and re-hash every chunk of the store made by (c)
//   (c") the same with `store(filesAt:)`, 100 files per fsync and commit
//   gear FastCDC boundary search alone, on a buffer in memory
//   b2sum / cp subprocesses over the same files, as an external anchor
import ChunkStore
import Foundation
import HearthCrypto

func files(under root: String) -> [(path: String, size: Int)] {
    let fm = FileManager.default
    guard let walker = fm.enumerator(atPath: root) else { return [] }
    var out: [(String, Int)] = []
    while let rel = walker.nextObject() as? String {
        let p = root + "/" + rel
        guard let a = try? fm.attributesOfItem(atPath: p), a[.type] as? FileAttributeType == .typeRegular,
              let n = (a[.size] as? NSNumber)?.intValue else { continue }
        out.append((p, n))
    }
    return out.sorted { $0.0 < $1.0 }
}

func pseudoRandom(_ count: Int, seed: UInt64) -> [UInt8] {
    var s = (seed &+ 1) &* 0x9E37_79B9_7F4A_7C15 | 1
    var out = [UInt64](repeating: 0, count: (count + 7) / 8)
    for i in out.indices {
        s ^= s >> 12; s ^= s << 25; s ^= s >> 27
        out[i] = s &* 0x2545_F491_4F6C_DD1D
    }
    return out.withUnsafeBytes { Array($0.prefix(count)) }
}

func generate(in dir: String) {
    // 240 photo-sized files (2–6 MB) and 10 video-sized ones (~50 MB): about 1 GiB.
    var sizes: [Int] = (0..<240).map { 2_000_000 + ($0 * 7919 % 4_000_000) }
    sizes += (0..<10).map { 45_000_000 + $0 * 1_000_000 }
    for (i, n) in sizes.enumerated() {
        let name = String(format: "%@/%03d.%@", dir, i, n > 10_000_000 ? "mov" : "jpg")
        _ = FileManager.default.createFile(atPath: name, contents: Data(pseudoRandom(n, seed: UInt64(i))))
    }
}

/// Wall-clock and CPU (user + system) seconds. The machine is shared, so ratios use CPU
/// time, which other processes disturb far less than wall time.
struct Timing {
    var wall: Double
    var cpu: Double
    static func + (a: Timing, b: Timing) -> Timing { Timing(wall: a.wall + b.wall, cpu: a.cpu + b.cpu) }
}

func cpuSeconds(_ who: Int32) -> Double {
    var u = rusage()
    getrusage(__rusage_who_t(who), &u)
    return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6
        + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
}

func time(children: Bool = false, _ body: () throws -> Void) rethrows -> Timing {
    let who = children ? RUSAGE_CHILDREN.rawValue : RUSAGE_SELF.rawValue
    let clock = ContinuousClock()
    let c0 = cpuSeconds(who)
    let d = try clock.measure(body)
    return Timing(wall: Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18,
                  cpu: cpuSeconds(who) - c0)
}

func run(_ tool: String, _ args: [String]) -> Timing {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: tool)
    p.arguments = args
    p.standardOutput = FileHandle.nullDevice
    return time(children: true) {
        do { try p.run(); p.waitUntilExit() } catch { print("could not run \(tool): \(error)") }
    }
}

let tempRoot = NSTemporaryDirectory() + "/bench-chunks-\(getpid())"
try FileManager.default.createDirectory(atPath: tempRoot, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: tempRoot) }
let source: String
if CommandLine.arguments.count > 1 {
    source = CommandLine.arguments[1]
} else {
    source = tempRoot + "/input"
    try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
    print("generating ~1 GiB of test files in \(source) …")
    generate(in: source)
}
let list = files(under: source)
let totalBytes = list.reduce(0) { $0 + $1.size }
let mb = Double(totalBytes) / 1e6
print("\(list.count) files, \(String(format: "%.1f", mb)) MB")

// Warm the page cache.
let block = 8 * 1024 * 1024
let buffer = UnsafeMutableRawPointer.allocate(byteCount: block, alignment: 64)
@MainActor func forEachBlock(_ path: String, _ body: (UnsafeRawBufferPointer) -> Void) {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return }
    defer { close(fd) }
    while true {
        let n = read(fd, buffer, block)
        if n <= 0 { break }
        body(UnsafeRawBufferPointer(start: buffer, count: n))
    }
}
for f in list { forEachBlock(f.path) { _ in } }

@MainActor func report(_ label: String, _ t: Timing, anchor: Timing? = nil) {
    var line = label.padding(toLength: 44, withPad: " ", startingAt: 0)
    line += String(format: " %8.1f MB/s %7.1f files/s %6.2f s wall | %8.1f MB/s per CPU-s",
                   mb / t.wall, Double(list.count) / t.wall, t.wall, mb / max(t.cpu, 1e-9))
    if let a = anchor { line += String(format: "  x%.2f of (a)", a.cpu / max(t.cpu, 1e-9)) }
    print(line)
}

var sink = 0
let tA = time {
    for f in list {
        var h = Blake2b()
        forEachBlock(f.path) { h.update($0) }
        sink &+= Int(h.finalize256().bytes[0])
    }
}
report("(a)  BLAKE2b-256 one pass", tA)

let tA2 = time {
    for f in list {
        var h1 = Blake2b(), h2 = Blake2b()
        // In 1 MiB steps, as (b) hashes a chunk right after the object hasher saw it.
        forEachBlock(f.path) { blockBytes in
            var i = 0
            while i < blockBytes.count {
                let piece = UnsafeRawBufferPointer(rebasing: blockBytes[i..<min(i + 1 << 20, blockBytes.count)])
                h1.update(piece)
                h2.update(piece)
                i += 1 << 20
            }
        }
        sink &+= Int(h1.finalize256().bytes[0] ^ h2.finalize256().bytes[0])
    }
}
report("(a2) BLAKE2b-256 twice (floor for b)", tA2, anchor: tA)

let scanner = ChunkScanner()
var chunkCount = 0
let tB = try time {
    for f in list { chunkCount += try scanner.scan(fileAt: f.path).chunks.count }
}
report("(b)  FastCDC + object hash + chunk hashes", tB, anchor: tA)
print(String(format: "     (b) reaches %.0f%% of the (a2) floor (CPU time); %d chunks, mean %.2f MiB",
             tA2.cpu / tB.cpu * 100, chunkCount, Double(totalBytes) / Double(max(chunkCount, 1)) / 1048576))

let storeDir = tempRoot + "/store"
let store = try ChunkStore.open(directory: storeDir)
let tC = try time {
    for f in list { _ = try store.store(fileAt: f.path) }
}
report("(c)  store with fsync", tC, anchor: tA)
let tC2 = try time {
    for f in list { _ = try store.store(fileAt: f.path) }
}
report("(c') store again (all chunks deduplicated)", tC2, anchor: tA)

var verified: VerifyReport?
let tV = try time { verified = try store.verify() }
report("verify (re-hash every stored chunk)", tV, anchor: tA)
if let v = verified, !v.isClean { print("     verify found problems: \(v.problems)") }

let batchStore = try ChunkStore.open(directory: tempRoot + "/store-batched")
let tC3 = try time {
    var i = 0
    while i < list.count {
        _ = try batchStore.store(filesAt: list[i..<min(i + 100, list.count)].map(\.path))
        i += 100
    }
}
report("(c\") store in batches of 100 files", tC3, anchor: tA)

let gearBytes = pseudoRandom(256 * 1024 * 1024, seed: 99)
let tG = time { sink &+= FastCDC.chunkLengths(gearBytes).count }
print("gear FastCDC boundary search alone".padding(toLength: 44, withPad: " ", startingAt: 0)
      + String(format: " %8.1f MB/s per CPU-s", Double(gearBytes.count) / 1e6 / tG.cpu))

let paths = list.map(\.path)
let tB2 = run("/usr/bin/b2sum", ["-l", "256"] + paths)
report("b2sum -l 256 (subprocess)", tB2, anchor: tA)
let copyDir = tempRoot + "/copy"
try FileManager.default.createDirectory(atPath: copyDir, withIntermediateDirectories: true)
let tCp = run("/bin/cp", ["-r", source, copyDir])
report("cp (subprocess, page cache)", tCp, anchor: tA)
let tSync = run("/bin/sync", [])
report("cp + sync", tCp + tSync, anchor: tA)
if sink == 42 { print("") }
