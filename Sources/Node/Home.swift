import Foundation
import HearthCrypto

/// The on-disk layout of one node's home folder:
///
///     HOME/identity.key          the device's Ed25519 secret key (hex, mode 0600)
///     HOME/config.json           node settings: library, epoch, policy, listen address, peers
///     HOME/libraries/<id>.sqlite one catalog database per library
///     HOME/chunks/               the chunk store shared by every library on this node (dedup)
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
    public var chunksDir: URL { root.appendingPathComponent("chunks") }
    public func catalogFile(_ library: String) -> URL { librariesDir.appendingPathComponent("\(library).sqlite") }

    public var exists: Bool { FileManager.default.fileExists(atPath: configFile.path) }

    /// Creates the folders and a fresh identity; refuses when a node already lives here.
    func createIdentity() throws -> Identity {
        let fm = FileManager.default
        if fm.fileExists(atPath: configFile.path) || fm.fileExists(atPath: identityFile.path) {
            throw NodeError(.alreadyInitialized, "\(root.path) already holds a Hearth node")
        }
        try fm.createDirectory(at: librariesDir, withIntermediateDirectories: true)
        try fm.createDirectory(at: chunksDir, withIntermediateDirectories: true)
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

/// A node's settings, kept in `config.json`.
public struct NodeConfig: Codable, Sendable, Equatable {
    public var libraryID: String
    public var deviceName: String
    public var epoch: UInt32
    /// `everything`, `previews` or `thumbnails`.
    public var storagePolicy: String
    public var listen: String?
    public var peers: [PeerAddress]

    public struct PeerAddress: Codable, Sendable, Equatable {
        public var deviceID: String
        public var addresses: [String]
        public var lastContact: Double?
        public var lastAddress: String?
    }

    static func load(_ home: Home) throws -> NodeConfig {
        guard let data = try? Data(contentsOf: home.configFile) else {
            throw NodeError(.notInitialized, "no Hearth node at \(home.root.path): run `hearth init` (or `hearth join TICKET`) first")
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
}

/// Errors of the node layer, with a message a user can act on.
public struct NodeError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case notInitialized, alreadyInitialized, corrupt, io, notFound, ambiguous, invalidArgument, verifyFailed, network
    }
    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) { self.code = code; self.message = message }
    public var description: String { message }
}
