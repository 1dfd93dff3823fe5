import Foundation

/// Runs a helper program with a time limit and a cap on what it may print.
///
/// A program that overruns is killed with SIGKILL; reading its output then ends at EOF.
enum Subprocess {
    struct Output {
        var status: Int32
        var output: [UInt8]
        var timedOut: Bool
        var overflowed: Bool
    }

    /// Looks `name` up in `PATH` (nil when not installed).
    static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs `executable` with `arguments`; captures stdout (or stderr when `captureStderr`),
    /// discards the other stream, and kills the process after `timeout` seconds.
    static func run(_ executable: String, _ arguments: [String], timeout: Double,
                    maxOutput: Int, captureStderr: Bool = false) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = captureStderr ? FileHandle.nullDevice : pipe
        process.standardError = captureStderr ? pipe : FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        let killer = Killer(pid: pid)
        DispatchQueue.global().asyncAfter(deadline: .now() + max(0.001, timeout)) { killer.fire() }

        var output: [UInt8] = []
        var overflowed = false
        let reader = pipe.fileHandleForReading
        while let chunk = try? reader.read(upToCount: 1 << 20), !chunk.isEmpty {
            if output.count + chunk.count > maxOutput {
                overflowed = true
                killer.fire()
                break
            }
            output.append(contentsOf: chunk)
        }
        try? reader.close()
        process.waitUntilExit()
        let timedOut = killer.disarm()
        return Output(status: process.terminationStatus, output: output, timedOut: timedOut && !overflowed,
                      overflowed: overflowed)
    }

    /// Kills the child once, unless it has already been reaped.
    private final class Killer: @unchecked Sendable {
        private let lock = NSLock()
        private let pid: Int32
        private var armed = true
        private var fired = false

        init(pid: Int32) { self.pid = pid }

        func fire() {
            lock.lock()
            defer { lock.unlock() }
            guard armed, !fired else { return }
            fired = true
            kill(pid, SIGKILL)
        }

        /// Stops future kills; returns whether the kill already happened.
        func disarm() -> Bool {
            lock.lock()
            defer { lock.unlock() }
            armed = false
            return fired
        }
    }
}
