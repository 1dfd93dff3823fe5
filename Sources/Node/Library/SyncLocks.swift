#if canImport(Glibc)
import Glibc
#endif
import ChunkStore
import Foundation
import HearthCrypto
import SyncEngine

/// Advisory file locks (`flock`) that let several `hearth` processes share one home.
///
/// The catalog is SQLite in WAL mode with a busy timeout, so processes may use it at once. The
/// chunk store is not: its pack files and in-memory pack state assume one writer, and opening it
/// repairs pack tails, which would cut another process's unindexed appends. So a process holds
/// `HOME/libraries/<id>/chunks.lock` exclusively for as long as it has that library's chunk store
/// open: CLI commands from first use to exit, `hearth serve` only while a session moves chunks (it
/// lets go after a short idle). `HOME/config.lock` serializes read-modify-write of `config.json`,
/// `tickets.json` and `ticket-libraries.json`, and a layout upgrade.
enum HomeLock {
    enum Name {
        /// One library's chunk store.
        case chunks(library: String)
        /// The chunk store of a layout-1 home (`HOME/chunks.lock`), held while upgrading it.
        case layout1Chunks
        case config

        func path(in home: Home) -> String {
            switch self {
            case .chunks(let library): home.libraryDir(library).appendingPathComponent("chunks.lock").path
            case .layout1Chunks: home.root.appendingPathComponent("chunks.lock").path
            case .config: home.root.appendingPathComponent("config.lock").path
            }
        }
    }

    /// An open lock file holding an exclusive `flock`; released by `release()` or process exit.
    final class Held: @unchecked Sendable {
        private var fd: Int32

        fileprivate init(fd: Int32) { self.fd = fd }

        func release() {
            guard fd >= 0 else { return }
            flock(fd, LOCK_UN)
            close(fd)
            fd = -1
        }

        deinit { release() }
    }

    static func open(_ home: Home, _ name: Name) throws -> Int32 {
        let path = name.path(in: home)
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw NodeError(.io, "cannot open the lock file \(path): \(String(cString: strerror(errno)))")
        }
        return fd
    }

    /// Takes the lock, waiting as long as another process holds it. `onWait` runs once if it must wait.
    static func acquire(_ home: Home, _ name: Name, onWait: () -> Void = {}) throws -> Held {
        let fd = try open(home, name)
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            onWait()
            while flock(fd, LOCK_EX) != 0 {
                guard errno == EINTR else {
                    close(fd)
                    throw NodeError(.io, "cannot lock \(name.path(in: home)): \(String(cString: strerror(errno)))")
                }
            }
        }
        return Held(fd: fd)
    }

    /// Takes the lock only if it is free now.
    static func tryAcquire(_ home: Home, _ name: Name) throws -> Held? {
        let fd = try open(home, name)
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        return Held(fd: fd)
    }

    static func withLock<T>(_ home: Home, _ name: Name, _ body: () throws -> T) throws -> T {
        let held = try acquire(home, name)
        defer { held.release() }
        return try body()
    }
}

/// One library's chunk store as `hearth serve` uses it: opened (under its `chunks.lock`) when a
/// session first needs it and closed again after `idleRelease` without use, so CLI commands on
/// the same home (`hearth import`, `hearth status`) get their turn between transfers.
final class DaemonChunkStore: SyncChunkSource, @unchecked Sendable {
    let home: Home
    let library: String
    let idleRelease: TimeInterval
    private let lock = NSLock()
    private var store: ChunkStore?
    private var held: HomeLock.Held?
    private var lastUse = Date.distantPast
    /// Operations in progress (a session in the middle of a call).
    private var busy = 0

    init(home: Home, library: String, idleRelease: TimeInterval = 0.3) {
        self.home = home
        self.library = library
        self.idleRelease = idleRelease
    }

    private func with<T>(_ body: (ChunkStore) throws -> T) throws -> T {
        let s: ChunkStore = try lock.withLock {
            busy += 1
            if let store { return store }
            // Waits while a CLI command on this home holds the store (an import, a verify).
            do {
                let h = try HomeLock.acquire(home, .chunks(library: library))
                let opened = try HearthNode.openChunkStore(home, library)
                (held, store) = (h, opened)
                return opened
            } catch {
                busy -= 1
                throw error
            }
        }
        defer { lock.withLock { busy -= 1; lastUse = Date() } }
        return try body(s)
    }

    /// Closes the store and lets go of the lock if nothing used it for `idleRelease` seconds.
    func releaseIfIdle() {
        lock.withLock {
            guard store != nil, busy == 0, Date().timeIntervalSince(lastUse) >= idleRelease else { return }
            store = nil
            held?.release()
            held = nil
        }
    }

    func syncMissing(_ ids: [Hash256]) throws -> [Hash256] { try with { try $0.missing(of: ids) } }
    func syncRead(_ id: Hash256) throws -> [UInt8]? { try with { try $0.syncRead(id) } }
    func syncPut(_ id: Hash256, _ bytes: [UInt8]) throws { try with { _ = try $0.putChunk(id, bytes) } }
    func syncPut(batch: [(id: Hash256, bytes: [UInt8])]) throws { try with { _ = try $0.putChunks(batch) } }
    var syncChecksOnPut: Bool { true }
    func syncWillRead(_ ids: [Hash256]) { try? with { $0.willRead(ids) } }
}
