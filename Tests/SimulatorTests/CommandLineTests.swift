import Foundation
import Testing

/// The `hearth-sim` executable as a user runs it: seeds spread over threads give the same
/// results, in the same order, as one after another.
@Suite struct CommandLineTests {
    static let binary: URL = {
        let bundleDir = Bundle.main.bundleURL
        for dir in [bundleDir, bundleDir.deletingLastPathComponent()] {
            let candidate = dir.appendingPathComponent("hearth-sim")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/hearth-sim")
    }()

    func run(_ args: [String]) throws -> (status: Int32, out: String) {
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func jobsChangeNothingButTime() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary.path), "build hearth-sim first")
        let one = try run(["--seeds", "1..6", "--steps", "150", "--jobs", "1"])
        let two = try run(["--seeds", "1..6", "--steps", "150", "--jobs", "3"])
        #expect(one.status == 0 && two.status == 0)
        #expect(one.out.split(separator: "\n").count == 6)
        #expect(one.out == two.out, "per-seed lines, in seed order, with the same trace hashes")

        func stripTiming(_ json: String) throws -> Data {
            var d = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            for k in ["realSeconds", "speedup", "seedsPerMinute", "jobs"] { d[k] = nil }
            return try JSONSerialization.data(withJSONObject: d, options: [.sortedKeys])
        }
        let j1 = try run(["--seeds", "1..6", "--steps", "150", "--jobs", "1", "--json"])
        let j3 = try run(["--seeds", "1..6", "--steps", "150", "--jobs", "3", "--json"])
        #expect(try stripTiming(j1.out) == stripTiming(j3.out))
        #expect(j3.out.contains("\"jobs\": 3"))
    }
}
