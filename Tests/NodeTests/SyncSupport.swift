import Foundation
import Testing
#if canImport(Glibc)
import Glibc
import Presentation
#endif

/// A `hearth` process left running in the background (`serve`, or a `sync` to kill), with its
/// stderr in a file the test can read.
final class BackgroundHearth: @unchecked Sendable {
    let process = Process()
    let log: URL

    init(_ node: HearthBinary, _ args: [String], label: String) throws {
        log = node.scratch.appendingPathComponent("\(label).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        process.executableURL = node.executable ?? HearthBinary.url
        process.arguments = ["--home", node.home.path] + args
        var env = ProcessInfo.processInfo.environment
        env["HEARTH_HOME"] = nil
        process.environment = env
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    func kill(_ sig: Int32 = SIGTERM) {
        if process.isRunning { Glibc.kill(process.processIdentifier, sig) }
        process.waitUntilExit()
    }

    /// A test that fails before its `kill()` still stops what it started.
    deinit { kill(SIGKILL) }

    /// `hearth serve --listen 127.0.0.1:0 --port-file …`, waiting until it has bound its port.
    /// This build's serve gets `--http off`: these tests use sync only, and parallel serves would
    /// otherwise race for the HTTP API's default port (the previous release has no HTTP API).
    static func serve(_ node: HearthBinary, label: String, _ extra: [String] = []) throws -> (BackgroundHearth, Int) {
        let portFile = node.scratch.appendingPathComponent("\(label).port")
        let http = node.executable == nil ? ["--http", "off"] : []
        let p = try BackgroundHearth(node, ["serve", "--listen", "127.0.0.1:0", "--port-file", portFile.path] + http + extra, label: label)
        let deadline = Date().addingTimeInterval(20)
        // The port file is written (by rename) once the server listens: wait for it, or for the
        // process to end without it.
        while Date() < deadline, p.process.isRunning {
            if let text = try? String(contentsOf: portFile, encoding: .utf8),
               let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return (p, port)
            }
            _ = FileWatch.waitForChange(in: node.scratch, timeout: 0.05)
        }
        p.kill()
        throw TestFailure("hearth serve did not write its port file: \(p.logText)")
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Raw TCP to misbehave against a server: sends bytes, then reports whether the server closed
/// the connection within `timeout` seconds.
enum RawPeer {
    static func sendAndAwaitClose(port: Int, _ bytes: [UInt8], halfClose: Bool = false, timeout: Double = 15) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { return false }
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if halfClose { shutdown(fd, Int32(SHUT_WR)) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n == 0 { return true } // orderly close by the server
            if n < 0 { return errno == ECONNRESET }
        }
    }
}

extension HearthBinary {
    /// `status --json`'s catalog digest.
    func digest() throws -> String {
        let r = try ok(["status", "--json"])
        guard case .object(let f)? = r.json, let d = f.first(where: { $0.0 == "catalogDigest" })?.1.stringValue else {
            throw TestFailure("status --json has no catalogDigest: \(r.stdout)")
        }
        return d
    }

    /// `status --json`'s storedBytes: chunk bytes in the store.
    func storedBytes() throws -> Int {
        let r = try ok(["status", "--json"])
        guard case .object(let f)? = r.json, let n = f.first(where: { $0.0 == "storedBytes" })?.1.intValue else {
            throw TestFailure("status --json has no storedBytes: \(r.stdout)")
        }
        return Int(n)
    }

    /// A ticket from `invite`, the last line of its output.
    func invite(port: Int, _ extra: [String] = []) throws -> String {
        let r = try ok(["invite", "--address", "127.0.0.1:\(port)"] + extra)
        return r.stdout.split(separator: "\n").last.map(String.init) ?? ""
    }

    /// Ids of every asset, from `assets --json`.
    func assetIDs() throws -> [String] {
        try ok(["assets", "--json"]).json?.arrayValue?.compactMap { item -> String? in
            guard case .object(let f) = item else { return nil }
            return f.first { $0.0 == "id" }?.1.stringValue
        } ?? []
    }

    /// The chunk store folder of the library `status --json` reports (the default one).
    func chunksDir() throws -> URL {
        let r = try ok(["status", "--json"])
        guard case .object(let f)? = r.json, let id = f.first(where: { $0.0 == "libraryId" })?.1.stringValue else {
            throw TestFailure("status --json has no libraryId: \(r.stdout)")
        }
        return home.appendingPathComponent("libraries/\(id)/chunks")
    }

    /// Bytes under the chunk store's pack folder (what a killed sync left behind), over every library.
    var packBytes: Int {
        let libraries = home.appendingPathComponent("libraries")
        let ids = (try? FileManager.default.contentsOfDirectory(atPath: libraries.path)) ?? []
        return ids.reduce(0) { $0 + Self.bytes(under: libraries.appendingPathComponent("\($1)/chunks/packs")) }
    }

    static func bytes(under dir: URL) -> Int {
        guard let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: [.fileSizeKey]) else { return 0 }
        var total = 0
        for case let url as URL in e {
            total += (try? url.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0
        }
        return total
    }
}

/// Waits for a folder's entries to change (inotify), for at most `timeout` seconds: a file
/// appearing wakes the waiter at once instead of after a fixed sleep.
enum FileWatch {
    /// True when something in `dir` was created, moved in or written before the timeout.
    static func waitForChange(in dir: URL, timeout: Double) -> Bool {
        let fd = inotify_init1(Int32(IN_CLOEXEC))
        guard fd >= 0 else { usleep(UInt32(timeout * 1_000_000)); return false }
        defer { close(fd) }
        guard inotify_add_watch(fd, dir.path, UInt32(IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE)) >= 0 else {
            usleep(UInt32(timeout * 1_000_000))
            return false
        }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, Int32(timeout * 1000)) > 0
    }
}

/// Polls `condition` every `interval` seconds for at most `seconds`.
func eventually(_ seconds: Double, interval: Double = 0.2, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(UInt32(interval * 1_000_000))
    }
    return try condition()
}
