// bench-media: derived-image throughput (WebP thumbnail + JPEG preview per photo).
//
//   swift run -c release bench-media [--count N] [--workers W] [--skip-heic]
//
// Compares, on the same files and in the same run:
//   ours   DerivedImages via IngestPool (decode once, W workers)
//   (a)    what Immich runs per photo: `exiftool -json -n` + two `vips thumbnail` CLI runs,
//          W photos in parallel
//   (b)    libvips alone: a small C program doing both sizes from one decode, W threads
// Each contender runs in its own child process so its CPU time and peak RSS are its own
// (wait4 rusage, which includes the helper processes it waited for).
import Foundation
import Media
#if canImport(Glibc)
import Glibc
#endif

// MARK: - Arguments

struct Options {
    var count = 60
    var workers = 2
    var skipHEIC = false
    var run: String?
    var list: String?
}

func parseOptions() -> Options {
    var options = Options()
    var arguments = CommandLine.arguments.dropFirst().makeIterator()
    while let argument = arguments.next() {
        switch argument {
        case "--count": options.count = Int(arguments.next() ?? "") ?? options.count
        case "--workers": options.workers = Int(arguments.next() ?? "") ?? options.workers
        case "--skip-heic": options.skipHEIC = true
        case "--run": options.run = arguments.next()
        case "--list": options.list = arguments.next()
        default:
            print("usage: bench-media [--count N] [--workers W] [--skip-heic]")
            exit(2)
        }
    }
    precondition(options.count >= 1 && options.workers >= 1, "count and workers must be positive")
    return options
}

// MARK: - Child modes

/// Pulls indices 0..<count from `workers` threads until none are left.
func parallel(count: Int, workers: Int, _ body: @escaping @Sendable (Int, Int) -> Void) {
    let lock = NSLock()
    nonisolated(unsafe) var cursor = 0
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
        while true {
            lock.lock()
            let index = cursor
            cursor += 1
            lock.unlock()
            guard index < count else { return }
            body(worker, index)
        }
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var ok = 0
    private(set) var failed: [String] = []

    func record(_ success: Bool, _ what: String) {
        lock.lock()
        if success { ok += 1 } else { failed.append(what) }
        lock.unlock()
    }

    func summary(_ mode: String) -> String {
        lock.lock()
        defer { lock.unlock() }
        var line = "    [\(mode)] ok \(ok), failed \(failed.count)"
        if let first = failed.sorted().first { line += " (first: \(first))" }
        return line
    }
}

func readList(_ path: String) -> [String] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
        print("cannot read file list \(path)")
        exit(1)
    }
    return text.split(separator: "\n").map(String.init)
}

func runOurs(files: [String], workers: Int) {
    let counter = Counter()
    let items = files.map { IngestPool.Item(path: $0, kind: .image) }
    IngestPool.run(items, workers: workers) { index, result in
        switch result {
        case .success: counter.record(true, "")
        case .failure(let error): counter.record(false, "\(error)")
        }
    }
    print(counter.summary("ours"))
}

/// Runs a program to completion; returns (status, stdout).
func runProcess(_ executable: String, _ arguments: [String]) -> (Int32, Data) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return (-1, Data()) }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, data)
}

/// The box that makes the shorter side `short` (vips fits inside width × height).
func box(width: Int, height: Int, short: Int) -> (String, String) {
    width <= height ? ("\(short)", "10000000") : ("10000000", "\(short)")
}

func runImmichLike(files: [String], workers: Int) {
    let counter = Counter()
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-bench-immich-\(getpid())").path
    try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    parallel(count: files.count, workers: workers) { worker, index in
        let file = files[index]
        let (status, json) = runProcess("/usr/bin/exiftool", ["-json", "-n", file])
        guard status == 0,
              let array = try? JSONSerialization.jsonObject(with: json) as? [[String: Any]],
              let tags = array.first,
              var width = (tags["ImageWidth"] as? NSNumber)?.intValue,
              var height = (tags["ImageHeight"] as? NSNumber)?.intValue else {
            counter.record(false, "\(file): exiftool gave no size")
            return
        }
        if let orientation = (tags["Orientation"] as? NSNumber)?.intValue, (5...8).contains(orientation) {
            swap(&width, &height)
        }
        let (pw, ph) = box(width: width, height: height, short: 1440)
        let (tw, th) = box(width: width, height: height, short: 250)
        let preview = runProcess("/usr/bin/vips", ["thumbnail", file, "\(scratch)/p\(worker).jpg[Q=80,strip,optimize_coding]",
                                                   pw, "--height", ph, "--size", "down"]).0
        let thumb = runProcess("/usr/bin/vips", ["thumbnail", file, "\(scratch)/t\(worker).webp[Q=80,strip]",
                                                 tw, "--height", th, "--size", "down"]).0
        counter.record(preview == 0 && thumb == 0, "\(file): vips thumbnail failed")
    }
    print(counter.summary("immich-like"))
}

/// One huge photo through our pipeline: shows that shrink-on-load keeps memory bounded.
func runBig(path: String) {
    DerivedImages.configure(workers: 1)
    do {
        let derived = try DerivedImages.make(path: path, kind: .image)
        print("    [big] \(derived.sourceWidth)×\(derived.sourceHeight) → \(derived.previewSize) + \(derived.thumbnailSize)")
    } catch {
        print("    [big] failed: \(error)")
    }
}

/// A 16000×12500 (200 MP) JPEG made with the vips CLI (flat content: we measure memory, not speed).
func bigJPEG() -> String? {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-bench-media-200mp.jpg").path
    if FileManager.default.fileExists(atPath: path) { return path }
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/vips") else { return nil }
    let command = "vips gaussnoise /tmp/hearth-big-noise.v 1000 782 --sigma 40 && "
        + "vips resize /tmp/hearth-big-noise.v /tmp/hearth-big-up.v 16 && "
        + "vips cast /tmp/hearth-big-up.v '\(path).part.jpg[Q=85]' uchar && mv '\(path).part.jpg' '\(path)'; "
        + "rm -f /tmp/hearth-big-noise.v /tmp/hearth-big-up.v"
    _ = runProcess("/bin/sh", ["-c", command])
    return FileManager.default.fileExists(atPath: path) ? path : nil
}

// MARK: - libvips-alone baseline (C)

let baselineSource = #"""
/* Both derived sizes from one decode, N pthreads over a file list: libvips at its best. */
#include <vips/vips.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static char **files; static int nfiles, next_file, ok;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void box(int w, int h, int s, int *bw, int *bh) {
    if (w <= h) { *bw = s; *bh = VIPS_MAX_COORD; } else { *bw = VIPS_MAX_COORD; *bh = s; }
}

static int one(const char *path) {
    VipsImage *hdr = vips_image_new_from_file(path, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
    if (!hdr) return -1;
    int w = hdr->Xsize, h = hdr->Ysize, bw, bh;
    if (vips_image_get_orientation_swap(hdr)) { int t = w; w = h; h = t; }
    g_object_unref(hdr);
    box(w, h, 1440, &bw, &bh);
    VipsImage *t, *s;
    if (vips_thumbnail(path, &t, bw, "height", bh, "size", VIPS_SIZE_DOWN, NULL)) return -1;
    VipsImage *m = vips_image_copy_memory(t);
    g_object_unref(t);
    if (!m) return -1;
    void *buf; size_t len;
    if (vips_jpegsave_buffer(m, &buf, &len, "Q", 80, "strip", TRUE, "optimize_coding", TRUE, NULL)) { g_object_unref(m); return -1; }
    g_free(buf);
    box(m->Xsize, m->Ysize, 250, &bw, &bh);
    if (vips_thumbnail_image(m, &s, bw, "height", bh, "size", VIPS_SIZE_DOWN, NULL)) { g_object_unref(m); return -1; }
    int r = vips_webpsave_buffer(s, &buf, &len, "Q", 80, "strip", TRUE, NULL);
    if (!r) g_free(buf);
    g_object_unref(s); g_object_unref(m);
    return r;
}

static void *worker(void *arg) {
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&mu);
        int i = next_file++;
        pthread_mutex_unlock(&mu);
        if (i >= nfiles) return NULL;
        if (one(files[i]) == 0) { pthread_mutex_lock(&mu); ok++; pthread_mutex_unlock(&mu); }
        else vips_error_clear();
    }
}

int main(int argc, char **argv) {
    if (argc != 3 || VIPS_INIT(argv[0])) return 2;
    int threads = atoi(argv[2]);
    int cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    vips_concurrency_set(cores / threads > 1 ? cores / threads : 1);
    vips_cache_set_max(0);
    FILE *f = fopen(argv[1], "r");
    if (!f) return 2;
    static char line[4096];
    files = malloc(sizeof(char *) * 100000);
    while (nfiles < 100000 && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (line[0]) files[nfiles++] = strdup(line);
    }
    fclose(f);
    pthread_t tid[64];
    if (threads < 1 || threads > 64) return 2;
    for (int i = 0; i < threads; i++) pthread_create(&tid[i], NULL, worker, NULL);
    for (int i = 0; i < threads; i++) pthread_join(tid[i], NULL);
    printf("    [libvips-c] ok %d, failed %d\n", ok, nfiles - ok);
    return 0;
}
"""#

/// Compiles the C baseline into `directory`; nil (with a note) when no compiler or headers.
func buildBaseline(in directory: String) -> String? {
    let source = "\(directory)/vips-baseline.c"
    let binary = "\(directory)/vips-baseline"
    do { try baselineSource.write(toFile: source, atomically: true, encoding: .utf8) } catch { return nil }
    let command = "cc -O2 -o '\(binary)' '\(source)' $(pkg-config --cflags --libs vips) -lpthread"
    let (status, _) = runProcess("/bin/sh", ["-c", command])
    guard status == 0 else {
        print("note: could not compile the libvips C baseline (needs cc, pkg-config and libvips-dev): \(command)")
        return nil
    }
    return binary
}

// MARK: - Driver

struct Measurement {
    var seconds: Double
    var cpuSeconds: Double
    var maxRSSKiB: Int
    var status: Int32
}

/// posix_spawn + wait4, so the child's rusage (including helpers it reaped) is its own.
func measure(_ argv: [String]) -> Measurement {
    var cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
    cArguments.append(nil)
    defer { for pointer in cArguments { free(pointer) } }
    var pid: pid_t = 0
    let clock = ContinuousClock()
    let start = clock.now
    let spawned = posix_spawn(&pid, argv[0], nil, nil, cArguments, environ)
    guard spawned == 0 else { return Measurement(seconds: 0, cpuSeconds: 0, maxRSSKiB: 0, status: -1) }
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
    let elapsed = clock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let cpu = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    return Measurement(seconds: seconds, cpuSeconds: cpu, maxRSSKiB: usage.ru_maxrss, status: (status >> 8) & 0xff)
}

func selfExecutable() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}

func syntheticPaths(count: Int) -> [String] {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-bench-media-12mp").path
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    return (0..<count).map { String(format: "\(directory)/synthetic-%04d.jpg", $0) }
}

/// Generated 12-megapixel JPEGs, cached in the temp dir between runs. Runs in a child
/// process (`--run generate`) so the driver's own peak RSS stays small: a spawned child
/// starts from its parent's high-water mark on Linux.
func generateSynthetic(count: Int, workers: Int) {
    let paths = syntheticPaths(count: count)
    let directory = (paths[0] as NSString).deletingLastPathComponent
    let missing = paths.indices.filter { !FileManager.default.fileExists(atPath: paths[$0]) }
    if !missing.isEmpty {
        print("generating \(missing.count) synthetic 4000×3000 JPEGs in \(directory) …")
        DerivedImages.configure(workers: workers)
        parallel(count: missing.count, workers: workers) { _, slot in
            let index = missing[slot]
            let bytes = SyntheticImage.jpeg(width: 4000, height: 3000, seed: index)
            let temporary = paths[index] + ".part"
            _ = FileManager.default.createFile(atPath: temporary, contents: Data(bytes))
            _ = try? FileManager.default.moveItem(atPath: temporary, toPath: paths[index])
        }
    }
}

func corpusHEICs() -> [String] {
    let root: String
    if let fromEnvironment = ProcessInfo.processInfo.environment["HEARTH_CORPUS"] {
        root = fromEnvironment
    } else {
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        root = package.appendingPathComponent("../shared/corpus").standardized.path
    }
    guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
    var found: [String] = []
    while let relative = walker.nextObject() as? String {
        let lower = relative.lowercased()
        if (lower.hasSuffix(".heic") || lower.hasSuffix(".heif")) && !lower.hasPrefix("bad-input") {
            found.append("\(root)/\(relative)")
        }
    }
    return found.sorted()
}

func fileSizeMB(_ paths: [String]) -> Double {
    let total = paths.reduce(0) { sum, path in
        sum + ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
    }
    return Double(total) / 1_048_576
}

func report(set name: String, files: [String], workers: Int, baseline: String?, scratch: String) {
    let list = "\(scratch)/\(name.prefix(while: { $0 != " " })).list"
    _ = FileManager.default.createFile(atPath: list, contents: Data(files.joined(separator: "\n").utf8))
    print("\n== \(name): \(files.count) files, \(String(format: "%.1f", fileSizeMB(files))) MB, \(workers) workers ==")
    let me = selfExecutable()
    var rows: [(String, Measurement)] = []
    rows.append(("ours (DerivedImages)", measure([me, "--run", "ours", "--list", list, "--workers", "\(workers)"])))
    // The whole ingest as a user runs it: hash, store (fsync), metadata, thumbnail, preview, catalog.
    let hearth = (me as NSString).deletingLastPathComponent + "/hearth"
    if FileManager.default.isExecutableFile(atPath: hearth) {
        let scratch = NSTemporaryDirectory() + "hearth-bench-media-import-\(getpid())"
        try? FileManager.default.removeItem(atPath: scratch)
        try? FileManager.default.createDirectory(atPath: scratch + "/in", withIntermediateDirectories: true)
        for (i, f) in files.enumerated() {
            let target = scratch + "/in/\(i)-" + (f as NSString).lastPathComponent
            if link(f, target) != 0 { try? FileManager.default.copyItem(atPath: f, toPath: target) }
        }
        _ = runProcess(hearth, ["--home", scratch + "/home", "init"])
        rows.append(("hearth import (full ingest)", measure([hearth, "--home", scratch + "/home", "import", "--workers",
                                                              "\(workers)", scratch + "/in"])))
        try? FileManager.default.removeItem(atPath: scratch)
    } else {
        print("note: build the hearth product (swift build -c release --product hearth) to time the full import")
    }
    let haveTools = FileManager.default.isExecutableFile(atPath: "/usr/bin/exiftool")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/vips")
    if haveTools {
        rows.append(("(a) exiftool + 2× vips CLI", measure([me, "--run", "immich", "--list", list, "--workers", "\(workers)"])))
    } else {
        print("note: (a) skipped: install libvips-tools and libimage-exiftool-perl (Debian) for exiftool and vips")
    }
    if let baseline {
        rows.append(("(b) libvips C, decode once", measure([baseline, list, "\(workers)"])))
    }
    print("  contender                      photos/s   CPU ms/photo   peak RSS MB")
    for (label, m) in rows {
        let rate = m.seconds > 0 ? Double(files.count) / m.seconds : 0
        let padded = label.padding(toLength: 30, withPad: " ", startingAt: 0)
        print(String(format: "  %@ %8.2f %14.1f %13.1f%@", padded as NSString, rate,
                     m.cpuSeconds * 1000 / Double(files.count), Double(m.maxRSSKiB) / 1024,
                     (m.status == 0 ? "" : "   (exit \(m.status))") as NSString))
    }
    let ours = rows[0].1
    for (label, m) in rows.dropFirst() where ours.seconds > 0 && ours.cpuSeconds > 0 {
        print(String(format: "  ours / %@: %.2f× by wall time, %.2f× by CPU time", String(label.prefix(3)) as NSString,
                     m.seconds / ours.seconds, m.cpuSeconds / ours.cpuSeconds))
    }
}

let options = parseOptions()
if let mode = options.run {
    let files = mode == "generate" ? [] : readList(options.list ?? "")
    switch mode {
    case "ours": runOurs(files: files, workers: options.workers)
    case "immich": runImmichLike(files: files, workers: options.workers)
    case "generate": generateSynthetic(count: options.count, workers: options.workers)
    case "big": runBig(path: files[0])
    default: print("unknown mode \(mode)"); exit(2)
    }
    exit(0)
}

let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-bench-media-run-\(getpid())").path
try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: scratch) }
let baseline = buildBaseline(in: scratch)
print("bench-media: WebP thumbnail (short side 250, Q80) + JPEG preview (short side 1440, Q80) per photo")
print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores; ratios are time(other) / time(ours), > 1 means ours is faster")
// libvips warnings (e.g. "ignoring nclx profile") would drown the table; same setting for all.
setenv("VIPS_WARNING", "0", 1)
_ = measure([selfExecutable(), "--run", "generate", "--count", "\(options.count)", "--workers", "\(options.workers)"])
report(set: "12MP-synthetic-jpeg", files: syntheticPaths(count: options.count),
       workers: options.workers, baseline: baseline, scratch: scratch)
if let big = bigJPEG() {
    let list = "\(scratch)/big.list"
    _ = FileManager.default.createFile(atPath: list, contents: Data(big.utf8))
    let m = measure([selfExecutable(), "--run", "big", "--list", list])
    print(String(format: "\n== one 200-megapixel JPEG (16000×12500): %.2f s, peak RSS %.1f MB ==", m.seconds,
                 Double(m.maxRSSKiB) / 1024))
}
if !options.skipHEIC {
    let heics = corpusHEICs()
    if heics.isEmpty {
        print("\nnote: no corpus HEICs found (set HEARTH_CORPUS or place the corpus at ../shared/corpus)")
    } else {
        // The corpus has only a dozen HEICs: repeat the list so the run lasts long enough to time.
        let repeats = max(1, 60 / heics.count)
        report(set: "corpus-heic (\(heics.count) files × \(repeats))", files: Array(repeating: heics, count: repeats).flatMap { $0 },
               workers: options.workers, baseline: baseline, scratch: scratch)
    }
}
