import Foundation
import Testing
import Node
import Presentation

/// Runs the real `hearth` executable in a temporary home, as a user would.
///
/// The binary is the one `swift build` put beside the test bundle (`HEARTH_BIN` overrides).
struct HearthBinary {
    static let url: URL = {
        if let env = ProcessInfo.processInfo.environment["HEARTH_BIN"] { return URL(fileURLWithPath: env) }
        // The test bundle lives in .build/<triple>/debug/; the executable sits beside it.
        let bundleDir = Bundle.main.bundleURL
        for dir in [bundleDir, bundleDir.deletingLastPathComponent()] {
            let candidate = dir.appendingPathComponent("hearth")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/hearth")
    }()

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        var json: JSON? { JSONReader.parse(stdout) }
    }

    let home: URL
    /// Added to the environment of every command (a skewed clock through libfaketime, say).
    var environment: [String: String] = [:]
    /// Another `hearth` to run in this home (a previous release's); nil runs `HearthBinary.url`.
    var executable: URL? = nil
    /// A program that runs `hearth` (its path and arguments follow these), e.g. `faketime -f +120s`.
    var launcher: [String] = []

    /// The same home, every command run through `launcher` (see `launcher`).
    func with(launcher: [String], environment extra: [String: String] = [:]) -> HearthBinary {
        var copy = with(environment: extra)
        copy.launcher = launcher
        return copy
    }

    /// The same home, with `extra` in every command's environment.
    func with(environment extra: [String: String]) -> HearthBinary {
        var copy = self
        copy.environment.merge(extra) { _, new in new }
        return copy
    }

    /// A fresh temporary home; removed by `cleanup()`.
    static func temporary(_ label: String = "node") throws -> HearthBinary {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("hearth-test-\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return HearthBinary(home: dir.appendingPathComponent("home"))
    }

    var scratch: URL { home.deletingLastPathComponent() }

    func cleanup() { try? FileManager.default.removeItem(at: scratch) }

    @discardableResult
    func run(_ args: [String], input: String? = nil, timeout: Double = 120) throws -> Result {
        let p = Process()
        let program = executable ?? HearthBinary.url
        if let first = launcher.first {
            p.executableURL = URL(fileURLWithPath: first)
            p.arguments = Array(launcher.dropFirst()) + [program.path, "--home", home.path] + args
        } else {
            p.executableURL = program
            p.arguments = ["--home", home.path] + args
        }
        var env = ProcessInfo.processInfo.environment
        env["HEARTH_HOME"] = nil
        env.merge(environment) { _, new in new }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let stdin = input.map { _ in Pipe() }
        p.standardInput = stdin ?? FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in exited.signal() }
        try p.run()
        if let stdin, let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try? stdin.fileHandleForWriting.close()
        }
        // Drain both pipes concurrently so a chatty child never blocks on a full pipe.
        let outData = LockedData(), errData = LockedData()
        let group = DispatchGroup()
        for (pipe, sink) in [(out, outData), (err, errData)] {
            group.enter()
            DispatchQueue.global().async {
                sink.set(pipe.fileHandleForReading.readDataToEndOfFile())
                group.leave()
            }
        }
        if exited.wait(timeout: .now() + timeout) == .timedOut {
            p.terminate()
            Issue.record("hearth \(args.joined(separator: " ")) timed out after \(timeout)s")
        }
        p.waitUntilExit()
        group.wait()
        return Result(status: p.terminationStatus,
                      stdout: String(decoding: outData.get(), as: UTF8.self),
                      stderr: String(decoding: errData.get(), as: UTF8.self))
    }

    /// Runs and expects exit status 0, recording the output otherwise.
    @discardableResult
    func ok(_ args: [String], input: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> Result {
        let r = try run(args, input: input)
        #expect(r.status == 0, "hearth \(args.joined(separator: " ")) exited \(r.status): \(r.stderr)",
                sourceLocation: sourceLocation)
        return r
    }
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) { lock.lock(); data = d; lock.unlock() }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
}

/// Parses JSON output into `JSON` for assertions.
enum JSONReader {
    static func parse(_ text: String) -> JSON? {
        try? JSONDecoder().decode(JSON.self, from: Data(text.utf8))
    }
}

extension JSON {
    var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    var intValue: Int64? {
        switch self { case .int(let i): return i; case .double(let d): return Int64(d); default: return nil }
    }
    var doubleValue: Double? {
        switch self { case .int(let i): return Double(i); case .double(let d): return d; default: return nil }
    }
    var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    var arrayValue: [JSON]? { if case .array(let a) = self { return a }; return nil }
    var isNull: Bool { if case .null = self { return true }; return false }
}
