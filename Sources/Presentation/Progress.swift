import Foundation
import SyncEngine

/// Progress of a long operation on a terminal: a single redrawn line on stderr, only when
/// stderr is a TTY and `--json` is off, throttled to ~10 redraws a second.
public final class ProgressLine: @unchecked Sendable {
    private let enabled: Bool
    private let label: String
    private let lock = NSLock()
    private var lastDraw: UInt64 = 0
    private var drew = false

    public init(label: String, enabled: Bool) {
        self.label = label
        self.enabled = enabled && isatty(STDERR_FILENO) == 1
    }

    /// `done` of `total` units (files), with `bytes` processed so far.
    public func update(done: Int, total: Int, bytes: UInt64, detail: String = "") {
        draw(done: done, total: total, bytes: bytes, detail: detail, force: done == total)
    }

    private func draw(done: Int, total: Int, bytes: UInt64, detail: String, force: Bool) {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        lock.lock(); defer { lock.unlock() }
        guard now - lastDraw > 100_000_000 || force else { return }
        lastDraw = now
        let width = 28
        let fraction = total > 0 ? Double(done) / Double(total) : 0
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        var line = "\r\(label) [\(bar)] \(done)/\(total)  \(ByteFormat.string(bytes))"
        if !detail.isEmpty { line += "  " + String(detail.suffix(40)) }
        FileHandle.standardError.write(Data((line + "\u{1B}[K").utf8))
        drew = true
    }

    /// A sync session's transfer: chunks received of those known to be wanted, bytes, rate.
    public func update(sync p: SyncProgress, peer: String, startedAt: UInt64) {
        let seconds = Double(DispatchTime.now().uptimeNanoseconds &- startedAt) / 1e9
        let rate = seconds > 0.2 ? "  \(ByteFormat.string(UInt64(Double(p.chunkBytesReceived) / seconds)))/s" : ""
        draw(done: p.chunksReceived, total: p.chunksReceived + p.chunksToCome, bytes: UInt64(p.chunkBytesReceived),
             detail: "\(p.changesReceived) changes\(rate)  \(peer)", force: false)
    }

    /// Clears the line so the summary that follows starts clean.
    public func finish() {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        if drew { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}

/// Human byte counts: 1.2 MB, 846 MB, 3.4 GB (decimal units, as file managers show them).
public enum ByteFormat {
    public static func string(_ bytes: UInt64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var v = Double(bytes)
        var i = 0
        while v >= 1000, i < units.count - 1 { v /= 1000; i += 1 }
        return i == 0 ? "\(bytes) B" : String(format: v < 10 ? "%.1f %@" : "%.0f %@", v, units[i])
    }
}
