import Foundation
import Testing

/// The modules the simulator runs must not read the clock, sleep, start threads or draw unseeded
/// randomness: every such call would make a seed's run differ from one process to the next.
@Suite struct SourceScanTests {
    static let modules = ["Sources/SyncEngine", "Sources/Catalog", "Sources/ChunkStore", "Sources/Wire"]

    static let forbidden = [
        "Date(", "Date.now", "DispatchQueue", "DispatchTime", "DispatchGroup", "Thread", "sleep(", "usleep(",
        "Task.sleep", "Task {", "Task.detached", ".random(", "SystemRandomNumberGenerator", "ProcessInfo",
        "clock_gettime", "gettimeofday", "ContinuousClock", "SuspendingClock", "UUID(", "arc4random",
        "secureRandomBytes", "time(nil)", "CFAbsoluteTime",
    ]

    /// Lines that may stay, each with why (matched as file suffix + line substring).
    static let allowed: [(file: String, line: String, why: String)] = [
        // A convenience for callers creating a library by hand; nothing in these modules calls it, and the
        // simulator derives every library id from its seed (`Catalog.create(... nonce:)`).
        ("Catalog/SyncTypes.swift", "public static func random() -> LibraryID", "caller-facing helper"),
        // The same for people: the node calls it; the simulator makes person ids from its seed (`version4`).
        ("Catalog/People.swift", "public static func random() -> PersonID", "caller-facing helper"),
    ]

    @Test func noClockSleepThreadsOrUnseededRandomness() throws {
        var hits: [String] = []
        var scanned = 0
        for module in Self.modules {
            let dir = packageRoot.appendingPathComponent(module)
            let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".swift") }.sorted()
            #expect(!files.isEmpty, "no sources in \(module)")
            for file in files {
                scanned += 1
                let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
                for (no, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    let code = line.trimmingCharacters(in: .whitespaces)
                    if code.hasPrefix("//") { continue }
                    for token in Self.forbidden where code.contains(token) {
                        let path = "\(module.dropFirst("Sources/".count))/\(file)"
                        if Self.allowed.contains(where: { path.hasSuffix($0.file) && code.contains($0.line) }) { continue }
                        hits.append("\(module)/\(file):\(no + 1): \(token) in `\(code)`")
                    }
                }
            }
        }
        #expect(scanned >= 20)
        #expect(hits.isEmpty, "\(hits.joined(separator: "\n"))")
    }

    /// The scan itself finds what it looks for.
    @Test func scanDetectsTokens() {
        let sample = "let t = Date()\nlet r = Int.random(in: 0...3)"
        #expect(Self.forbidden.filter { sample.contains($0) }.sorted() == [".random(", "Date("])
    }
}
