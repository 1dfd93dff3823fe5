import Foundation
import HearthCrypto
import Wire

/// Upgrades a home's layout in place.
///
/// Layout 1 (release 6847644): one library per home.
///
///     HOME/config.json            {libraryID, deviceName, epoch, storagePolicy, listen, peers}, no version
///     HOME/libraries/<id>.sqlite  (+ -wal, -shm)
///     HOME/chunks/                HOME/chunks.lock
///
/// Layout 2: see `Home`. The upgrade runs under the config lock and the old chunk lock, and
/// moves each file with one `rename` (atomic on one file system): the catalog, then its WAL and
/// shared-memory files, then the chunk folder. Only then is the version-2 `config.json` written
/// (atomically), and that write is the commit point: until it, `config.json` still says layout 1
/// and the next start runs the upgrade again, and every step skips what an interrupted run
/// already moved. A crash at any point leaves either a layout-1 home half moved (which the next
/// start finishes) or a complete layout-2 one.
enum HomeLayout {
    static func tooNew(_ home: Home, _ version: Int) -> NodeError {
        NodeError(.tooNew, "\(home.configFile.path) is version \(version), newer than this hearth understands "
                  + "(version \(NodeConfig.currentVersion)): a newer release of hearth made this home; upgrade hearth to open it")
    }

    /// The node's config at the current layout, upgrading an older home first.
    static func loadUpgrading(_ home: Home) throws -> NodeConfig {
        let v = try NodeConfig.version(of: try NodeConfig.read(home), home)
        if v == NodeConfig.currentVersion { return try NodeConfig.load(home) }
        if v > NodeConfig.currentVersion { throw tooNew(home, v) }
        guard v == 1 else { throw NodeError(.corrupt, "\(home.configFile.path) has version \(v), which no release of hearth wrote") }
        return try HomeLock.withLock(home, .config) {
            // Another process may have finished the upgrade while this one waited for the lock.
            let again = try NodeConfig.read(home)
            if try NodeConfig.version(of: again, home) == NodeConfig.currentVersion { return try NodeConfig.load(home) }
            let held = try HomeLock.acquire(home, .layout1Chunks) {
                FileHandle.standardError.write(Data(
                    "hearth: waiting for another hearth process on \(home.root.path) to finish with the chunk store before upgrading the home…\n".utf8))
            }
            defer { held.release() }
            let config = try upgradeLayout1(home, again)
            try? FileManager.default.removeItem(atPath: HomeLock.Name.layout1Chunks.path(in: home))
            return config
        }
    }

    /// `config.json` as release 6847644 wrote it.
    struct Layout1Config: Decodable {
        var libraryID: String
        var deviceName: String
        var epoch: UInt32
        var storagePolicy: String
        var listen: String?
        var peers: [LibrarySettings.PeerAddress]
    }

    /// A file to move from `old` to `new`; `disposable` ones (SQLite's shared-memory index,
    /// rebuilt on open) are dropped when both exist, the others are a conflict to report.
    static func move(_ old: URL, _ new: URL, disposable: Bool = false) throws {
        let fm = FileManager.default
        guard fm.fileExists(atPath: old.path) else { return }
        if fm.fileExists(atPath: new.path) {
            if disposable { try fm.removeItem(at: old); return }
            throw NodeError(.corrupt, "cannot upgrade the home: both \(old.path) and \(new.path) exist; "
                            + "move one of them away (keep the larger) and run hearth again")
        }
        guard rename(old.path, new.path) == 0 else {
            throw NodeError(.io, "cannot move \(old.path) to \(new.path): \(String(cString: strerror(errno)))")
        }
    }

    static func upgradeLayout1(_ home: Home, _ data: Data) throws -> NodeConfig {
        let old: Layout1Config
        do { old = try JSONDecoder().decode(Layout1Config.self, from: data) } catch {
            throw NodeError(.corrupt, "\(home.configFile.path) is not a valid version-1 config: \(error)")
        }
        let id = old.libraryID.lowercased()
        guard id.count == 32, Hex.decode(id) != nil else {
            throw NodeError(.corrupt, "\(home.configFile.path) names library \"\(old.libraryID)\", which is not a library id")
        }
        guard let policy = StoragePolicy(name: old.storagePolicy) else {
            throw NodeError(.corrupt, "\(home.configFile.path) has storage policy \"\(old.storagePolicy)\", not one of \(StoragePolicy.names)")
        }
        let fm = FileManager.default
        let dir = home.libraryDir(id)
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        let oldCatalog = home.librariesDir.appendingPathComponent("\(id).sqlite")
        let newCatalog = home.catalogFile(id)
        guard fm.fileExists(atPath: oldCatalog.path) || fm.fileExists(atPath: newCatalog.path) else {
            throw NodeError(.corrupt, "cannot upgrade the home: the catalog \(oldCatalog.path) is missing")
        }
        // The catalog first: an old binary started meanwhile then finds no catalog (and says so)
        // rather than opening it without its write-ahead log.
        try move(oldCatalog, newCatalog)
        try move(URL(fileURLWithPath: oldCatalog.path + "-wal"), URL(fileURLWithPath: newCatalog.path + "-wal"))
        try move(URL(fileURLWithPath: oldCatalog.path + "-shm"), URL(fileURLWithPath: newCatalog.path + "-shm"), disposable: true)
        try move(home.root.appendingPathComponent("chunks"), home.chunksDir(id))
        try fm.createDirectory(at: home.chunksDir(id), withIntermediateDirectories: true)
        // Tickets issued before the upgrade admit to the one library there was.
        if let book = try? TicketBook.load(home), !book.tickets.isEmpty {
            try TicketLibraries.assign(home, book.tickets.map(\.ticketID), to: id, onlyMissing: true)
        }
        let config = NodeConfig(deviceName: old.deviceName, listen: old.listen, defaultLibrary: id, libraries: [
            LibrarySettings(id: id, name: "library", epoch: old.epoch, storagePolicy: policy, peers: old.peers),
        ])
        try config.save(home)
        return config
    }
}

/// `HOME/ticket-libraries.json`: the library each pairing ticket admits to (tickets themselves
/// live in `tickets.json`, one book for the node). Read and written under the config lock.
enum TicketLibraries {
    static func file(_ home: Home) -> URL { home.root.appendingPathComponent("ticket-libraries.json") }

    static func load(_ home: Home) -> [String: String] {
        guard let data = try? Data(contentsOf: file(home)), data.count <= NodeConfig.maxBytes,
              let map = try? JSONDecoder().decode([String: String].self, from: data) else { return [:] }
        return map
    }

    /// Records `tickets` as admitting to `library`; the caller holds the config lock.
    static func assign(_ home: Home, _ tickets: [String], to library: String, onlyMissing: Bool = false) throws {
        var map = load(home)
        for t in tickets where !onlyMissing || map[t] == nil { map[t] = library }
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(map).write(to: file(home), options: .atomic)
    }
}
