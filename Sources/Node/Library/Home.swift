import Foundation
import HearthCrypto
import Wire

/// The on-disk layout of one node's home folder (layout version 2):
///
///     HOME/identity.key                  the device's Ed25519 secret key (hex, mode 0600): one per node
///     HOME/config.json                   node settings: version, device name, listen address, the libraries
///     HOME/tickets.json                  pairing tickets this node issued (every library's)
///     HOME/ticket-libraries.json         which library each ticket admits to
///     HOME/libraries/<id>/catalog.sqlite one library's catalog
///     HOME/libraries/<id>/chunks/        that library's chunk store (not shared, see DESIGN.md)
///     HOME/libraries/<id>/chunks.lock    held while a process has that chunk store open
///     HOME/access.sqlite                 this node's sessions, API keys and sync checkpoints (hashes only; never synced)
///
/// Release 6847644 wrote layout 1 (one library, `libraries/<id>.sqlite` and `HOME/chunks/`);
/// `HomeLayout.upgrade` moves such a home to this layout in place.
public struct Home: Sendable {
    public let root: URL

    public init(path: String) {
        root = URL(fileURLWithPath: (path as NSString).expandingTildeInPath).standardizedFileURL
    }

    /// `--home`, else `$HEARTH_HOME`, else `~/.local/share/hearth`.
    public static func resolve(_ explicit: String?) -> Home {
        if let e = explicit, !e.isEmpty { return Home(path: e) }
        if let env = ProcessInfo.processInfo.environment["HEARTH_HOME"], !env.isEmpty { return Home(path: env) }
        return Home(path: NSHomeDirectory() + "/.local/share/hearth")
    }

    public var identityFile: URL { root.appendingPathComponent("identity.key") }
    public var configFile: URL { root.appendingPathComponent("config.json") }
    public var librariesDir: URL { root.appendingPathComponent("libraries") }
    /// The folder of one library: its catalog, its chunk store and that store's lock.
    public func libraryDir(_ library: String) -> URL { librariesDir.appendingPathComponent(library) }
    public func catalogFile(_ library: String) -> URL { libraryDir(library).appendingPathComponent("catalog.sqlite") }
    public func chunksDir(_ library: String) -> URL { libraryDir(library).appendingPathComponent("chunks") }

    public var exists: Bool { FileManager.default.fileExists(atPath: configFile.path) }

    /// Creates the folders and a fresh identity; refuses when a node already lives here.
    func createIdentity() throws -> Identity {
        let fm = FileManager.default
        if fm.fileExists(atPath: configFile.path) || fm.fileExists(atPath: identityFile.path) {
            throw NodeError(.alreadyInitialized, "\(root.path) already holds a Hearth node")
        }
        try fm.createDirectory(at: librariesDir, withIntermediateDirectories: true)
        let id = Identity.generate()
        let hex = Hex.encode(id.secretKey.exportBytes()) + "\n"
        guard fm.createFile(atPath: identityFile.path, contents: Data(hex.utf8),
                            attributes: [.posixPermissions: 0o600]) else {
            throw NodeError(.io, "cannot write \(identityFile.path)")
        }
        return id
    }

    func loadIdentity() throws -> Identity {
        guard let text = try? String(contentsOf: identityFile, encoding: .utf8) else {
            throw NodeError(.notInitialized, "no Hearth node at \(root.path): run `hearth init` (or `hearth join TICKET`) first")
        }
        guard let bytes = Hex.decode(text.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count == 64 else {
            throw NodeError(.corrupt, "\(identityFile.path) is not a valid identity file")
        }
        return try Identity(secretKeyBytes: bytes)
    }
}

/// A node's settings, kept in `config.json`: the device's own, and one entry per library.
public struct NodeConfig: Codable, Sendable, Equatable {
    /// The layout and format this binary writes. A `config.json` with no `version` is layout 1.
    public static let currentVersion = 2

    public var version: Int
    public var deviceName: String
    public var listen: String?
    /// The library commands use when there are several and `--library` is not given.
    public var defaultLibrary: String?
    public var libraries: [LibrarySettings]

    public typealias PeerAddress = LibrarySettings.PeerAddress

    public init(deviceName: String, listen: String? = nil, defaultLibrary: String? = nil, libraries: [LibrarySettings] = []) {
        self.version = Self.currentVersion
        self.deviceName = deviceName
        self.listen = listen
        self.defaultLibrary = defaultLibrary
        self.libraries = libraries
    }

    /// Longest `config.json` read: it lists libraries and a few addresses per peer.
    static let maxBytes = 4 << 20

    static func read(_ home: Home) throws -> Data {
        guard let data = try? Data(contentsOf: home.configFile) else {
            throw NodeError(.notInitialized, "no Hearth node at \(home.root.path): run `hearth init` (or `hearth join TICKET`) first")
        }
        guard data.count <= maxBytes else {
            throw NodeError(.corrupt, "\(home.configFile.path) is \(data.count) bytes, over the \(maxBytes) a config may have")
        }
        return data
    }

    /// The version a `config.json` declares (1 when it has none: release 6847644 wrote none).
    static func version(of data: Data, _ home: Home) throws -> Int {
        struct Probe: Decodable { var version: Int? }
        do { return try JSONDecoder().decode(Probe.self, from: data).version ?? 1 } catch {
            throw NodeError(.corrupt, "\(home.configFile.path) is not valid: \(error)")
        }
    }

    /// Reads the config of a home already at the current layout (see `HomeLayout.openUpgrading`).
    static func load(_ home: Home) throws -> NodeConfig {
        let data = try read(home)
        let v = try version(of: data, home)
        guard v == currentVersion else {
            throw v > currentVersion ? HomeLayout.tooNew(home, v)
                : NodeError(.corrupt, "\(home.configFile.path) is version \(v); it must be upgraded to \(currentVersion) first")
        }
        do { return try JSONDecoder().decode(NodeConfig.self, from: data) } catch {
            throw NodeError(.corrupt, "\(home.configFile.path) is not valid: \(error)")
        }
    }

    /// Writes atomically (temp file + rename) so a crash never leaves half a config.
    func save(_ home: Home) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(self).write(to: home.configFile, options: .atomic)
    }

    /// The library a selector names: its exact name, else a unique prefix of its id.
    /// With no selector: the only library, else the default one, else an error listing them.
    public func library(_ selector: String?) throws -> LibrarySettings {
        let listing = libraries.map { "\($0.name) (\($0.id.prefix(12)))" }.joined(separator: ", ")
        guard let s = selector?.trimmingCharacters(in: .whitespaces), !s.isEmpty else {
            if libraries.count == 1 { return libraries[0] }
            if let d = defaultLibrary, let lib = libraries.first(where: { $0.id == d }) { return lib }
            if libraries.isEmpty {
                throw NodeError(.notFound, "this node holds no library yet: run `hearth init` or `hearth join TICKET`")
            }
            throw NodeError(.ambiguous, "this node holds \(libraries.count) libraries and none is the default: "
                            + "pass --library NAME (one of \(listing)) or set one with `hearth libraries --default NAME`")
        }
        if let lib = libraries.first(where: { $0.name == s }) { return lib }
        let matches = libraries.filter { $0.id.hasPrefix(s.lowercased()) }
        if matches.count == 1 { return matches[0] }
        if matches.isEmpty { throw NodeError(.notFound, "no library \"\(s)\" on this node (it holds \(listing.isEmpty ? "none" : listing))") }
        throw NodeError(.ambiguous, "\"\(s)\" matches \(matches.count) libraries: \(matches.map(\.name).joined(separator: ", "))")
    }
}

/// One library's entry in `config.json`.
public struct LibrarySettings: Codable, Sendable, Equatable {
    /// The library id (32 hex digits).
    public var id: String
    /// What `--library` and `hearth libraries` call it on this node (unique on the node).
    public var name: String
    /// This node's epoch in the library's catalog.
    public var epoch: UInt32
    public var storagePolicy: StoragePolicy
    public var peers: [PeerAddress]

    public struct PeerAddress: Codable, Sendable, Equatable {
        public var deviceID: String
        public var addresses: [String]
        public var lastContact: Double?
        public var lastAddress: String?
    }

    public init(id: String, name: String, epoch: UInt32, storagePolicy: StoragePolicy, peers: [PeerAddress] = []) {
        (self.id, self.name, self.epoch, self.storagePolicy, self.peers) = (id, name, epoch, storagePolicy, peers)
    }

    enum CodingKeys: String, CodingKey { case id, name, epoch, storagePolicy, peers }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        name = try c.decode(String.self, forKey: .name)
        epoch = try c.decode(UInt32.self, forKey: .epoch)
        let policy = try c.decode(String.self, forKey: .storagePolicy)
        guard let p = StoragePolicy(name: policy) else {
            throw DecodingError.dataCorruptedError(forKey: .storagePolicy, in: c,
                                                   debugDescription: "storage policy \"\(policy)\" is not one of \(StoragePolicy.names)")
        }
        storagePolicy = p
        peers = try c.decode([PeerAddress].self, forKey: .peers)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(epoch, forKey: .epoch)
        try c.encode(storagePolicy.description, forKey: .storagePolicy)
        try c.encode(peers, forKey: .peers)
    }

    /// Longest library name.
    public static let maxNameBytes = 64

    /// Checks a name a user gave: 1...64 bytes, no control characters, not a path.
    public static func validate(name: String) throws {
        guard !name.isEmpty, name.utf8.count <= maxNameBytes,
              !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }),
              name.trimmingCharacters(in: .whitespaces) == name else {
            throw NodeError(.invalidArgument, "a library name is 1...\(maxNameBytes) bytes with no control characters or leading or trailing spaces")
        }
    }
}

extension StoragePolicy {
    /// The policy a user or `config.json` names: `everything`, `previews` or `thumbnails`.
    public init?(name: String) {
        guard let p = Self.allCases.first(where: { $0.description == name }) else { return nil }
        self = p
    }

    /// `everything, previews, thumbnails`.
    public static var names: String { allCases.map(\.description).joined(separator: ", ") }
}

/// Errors of the node layer, with a message a user can act on.
public struct NodeError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case notInitialized, alreadyInitialized, corrupt, io, notFound, ambiguous, invalidArgument, verifyFailed, network
        case tooNew
        /// A wrong email or password, or a missing, unknown or revoked token.
        case unauthorized
        /// Too many failed logins; `retryAfterSeconds` says when to try again.
        case rateLimited
        /// Allowed to no one in the caller's position (a read-only device, not an admin).
        case forbidden
        /// Clashes with what exists (an email another person has).
        case conflict
    }
    public let code: Code
    public let message: String
    /// For `rateLimited`: seconds until a login may be tried again.
    public var retryAfterSeconds: Int? = nil
    public init(_ code: Code, _ message: String) { self.code = code; self.message = message }
    public init(_ code: Code, _ message: String, retryAfterSeconds: Int?) {
        self.code = code
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }
    public var description: String { message }
}
