import ArgumentParser
import Catalog
import Foundation
import HTTPAPI
import Node
import Wire
import Presentation

/// Parses `24h`, `90m`, `7d`, `30s` into milliseconds.
func parseDuration(_ s: String) throws -> Int64 {
    let units: [Character: Int64] = ["s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000]
    guard let u = s.last, let mult = units[u], let n = Int64(s.dropLast()), n > 0, n <= 365 * 86_400_000 / mult else {
        throw ValidationError("--expires takes a positive number with s, m, h or d (for example 24h)")
    }
    return n * mult
}


struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the node: accept peers, stay connected to known peers, push changes within a second.",
        discussion: "Logs to stderr. Stops cleanly (exit 0) on SIGINT or SIGTERM.")

    @Option(help: "HOST:PORT to listen on (default: the configured address, else 127.0.0.1:7480; port 0 picks a free one).")
    var listen: String?
    @Option(help: "Write the port actually bound to this file once listening.")
    var portFile: String?
    @Option(help: "Another HOST:PORT peers should try for this node (a forwarded port, a DNS name); repeatable, at most 7.")
    var announce: [String] = []
    @Option(help: "HOST:PORT of the Immich-compatible HTTP API (default 127.0.0.1:2283, served unless that port is taken; port 0 picks a free one), or `off`; 0.0.0.0 serves every interface.")
    var http: String?
    @Option(help: "Write the HTTP API's port actually bound to this file once it listens.")
    var httpPortFile: String?
    @Option(help: "PEM certificate chain: serve the HTTP API over HTTPS (with --tls-key).")
    var tlsCert: String?
    @Option(help: "PEM private key of --tls-cert.")
    var tlsKey: String?
    @Flag(help: "Log every session step.") var verbose = false
    @Flag(help: "Write nothing a release-6847644 peer cannot read: no SHA-1 backfill at start (`hearth verify --repair` does it later).")
    var forOlderPeers = false

    func validate() throws {
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        if let http, http != "off" {
            do { _ = try HTTPServerOptions.parse(http) } catch { throw ValidationError("--http \(http): \(error) (or `off`)") }
        } else if http == "off", httpPortFile != nil || tlsCert != nil {
            throw ValidationError("--http-port-file and --tls-cert need the HTTP API: drop --http off")
        }
    }

    func run() async throws {
        let log = HearthLogging.logger("hearth.serve", verbose: verbose, daemon: true)
        let home = Home.resolve(nil)
        let config = try HearthNode.libraries(in: home)
        let ep = try PeerEndpoint(parsing: listen ?? config.listen ?? "127.0.0.1:7480")
        guard announce.count <= 7 else { throw ValidationError("--announce takes at most 7 addresses") }
        let extra = try announce.map { a in
            do { return try PeerEndpoint(parsing: a) } catch { throw ValidationError("--announce \(a): \(error)") }
        }
        var companion: HTTPServer?
        if http != "off" {
            let (host, port) = try HTTPServerOptions.parse(http ?? "127.0.0.1:2283")
            var options = HTTPServerOptions(host: host, port: port, tlsCertificate: tlsCert, tlsKey: tlsKey, portFile: httpPortFile)
            options.required = http != nil
            companion = try HTTPServer(options: options)
        }
        try await Daemon(home: home, logger: log, backfillsChecksums: !forOlderPeers).run(listen: ep, portFile: portFile, announce: extra, companion: companion)
    }
}

struct Sync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sync once with every known peer (or --peer) until both sides hold the same library.",
        discussion: "Exits 0 when every peer synced, 1 when some did, 3 when none did.")

    @Option(help: "HOST:PORT of the peer to sync with (default: every known peer).") var peer: String?
    @Flag(help: "Log every session step.") var verbose = false
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let log = HearthLogging.logger("hearth.sync", verbose: verbose)
        let node = try openNode()
        let bar = ProgressLine(label: "syncing", enabled: !output.json)
        let start = DispatchTime.now().uptimeNanoseconds
        let results = try await node.syncOnce(peer: try peer.map(PeerEndpoint.init(parsing:)), logger: log,
                                              progress: { bar.update(sync: $1, peer: $0, startedAt: start) })
        bar.finish()
        emit(output.json, .array(results.map(\.json))) {
            results.map { r in
                let who = r.device.map { "\($0.prefix(7)) at \(r.address)" } ?? r.address
                guard let s = r.summary, r.error == nil else { return "\(who): FAILED: \(r.error ?? "unknown error")" }
                return "\(who): received \(s.changesReceived) changes in \(s.batchesReceived) batches, "
                    + "\(s.chunksReceived) chunks (\(ByteFormat.string(UInt64(s.chunkBytesReceived)))); "
                    + "sent \(s.changesSent) changes in \(s.batchesSent) batches, "
                    + "\(s.chunksSent) chunks (\(ByteFormat.string(UInt64(s.chunkBytesSent))))"
                    + (s.chunksUnavailable > 0 ? "; \(s.chunksUnavailable) wanted chunks not held by the peer" : "")
            }.joined(separator: "\n")
        }
        for r in results {
            for d in r.summary?.chunksDamagedHere ?? [] { warn("not sent to \(r.address): \(d)") }
        }
        let failed = results.filter { $0.error != nil }
        for f in failed { warn("sync with \(f.address) failed: \(f.error ?? "")") }
        if !failed.isEmpty { throw ExitCode(failed.count == results.count ? 3 : 1) }
    }
}

struct Invite: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a single-use ticket for a new device to join this library.",
        discussion: "The ticket is printed alone on the last line; give it to `hearth join` on the new device.")

    @Option(help: "HOST:PORT where this node can be reached (repeatable; default: the address `hearth serve` listens on).")
    var address: [String] = []
    @Option(help: "How long the ticket stays valid: 30m, 24h, 7d.") var expires = "24h"
    @Option(help: "Role of the new device: member, partner (read-only) or admin.") var role = "member"

    func run() throws {
        guard let r = Role(name: role) else {
            throw ValidationError("--role is member, partner, admin or recognizer")
        }
        let ms = try parseDuration(expires)
        let node = try openNode()
        let ticket = try node.inviteToLibrary(role: r, addresses: address, validFor: ms)
        let expiry = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(ticket.expiresAt) / 1000))
        print("Ticket for library \(ticket.library) as \(r), valid once until \(expiry), via \(ticket.addresses.joined(separator: ", ")).")
        print("On the new device run: hearth join <ticket> --name NAME")
        print(ticket.encoded)
    }
}

struct Join: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create this node by joining a library with a ticket from `hearth invite`, and sync it.")

    @Argument(help: ArgumentHelp("The ticket (hearth1-…), or - to read it from standard input.",
                                 discussion: "A ticket given here is visible to other users in `ps` while join runs; prefer - or --ticket-file."))
    var ticket: String?
    @Option(help: "Read the ticket from this file (it holds the pairing secret: keep it private, delete it after).")
    var ticketFile: String?
    @Option(help: "HOST:PORT of the inviter (default: the addresses in the ticket).") var peer: String?
    @Option(help: "A name for this device.") var name: String = ProcessInfo.processInfo.hostName
    @Option(help: "What this node keeps: everything, previews or thumbnails.") var policy: StoragePolicy = .everything
    @Option(name: .customLong("library-name"),
            help: "What to call the library on this node (default: library, library-2, …). Given in a home that already holds a node, join adds the library beside the others.")
    var libraryName: String?
    @Flag(help: "Log every session step.") var verbose = false
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let log = HearthLogging.logger("hearth.join", verbose: verbose)
        let t = try PairingTicket(parsing: try readTicket())
        let home = Home.resolve(nil)
        let bar = ProgressLine(label: "receiving", enabled: !output.json)
        let start = DispatchTime.now().uptimeNanoseconds
        let (node, s) = try await HearthNode.join(home: home, ticket: t, peer: try peer.map(PeerEndpoint.init(parsing:)),
                                                  deviceName: name, policy: policy, libraryName: libraryName, logger: log,
                                                  progress: { bar.update(sync: $0, peer: "", startedAt: start) })
        bar.finish()
        try emit(output.json, try node.statusJSON()) {
            """
            Joined library \(t.library) as \(name) (\(node.identity.deviceID.string)) in \(home.root.path)
            received \(s.changesReceived) changes and \(s.chunksReceived) chunks (\(ByteFormat.string(UInt64(s.chunkBytesReceived))))
            Next: hearth serve   (or hearth sync)
            """
        }
    }
}

extension Join {
    /// The ticket from the argument, standard input (`-`) or `--ticket-file`: exactly one of them.
    func readTicket() throws -> String {
        let text: String
        switch (ticket, ticketFile) {
        case (nil, nil): throw ValidationError("give the ticket: hearth join TICKET, hearth join - (standard input) or --ticket-file FILE")
        case (.some, .some): throw ValidationError("give the ticket once: as the argument or with --ticket-file, not both")
        case ("-"?, nil):
            // A ticket is one line of about 200 characters; more is not a ticket.
            let data = FileHandle.standardInput.readData(ofLength: 4096)
            text = String(decoding: data, as: UTF8.self)
        case (let arg?, nil): text = arg
        case (nil, let file?):
            guard let data = FileManager.default.contents(atPath: file) else {
                throw NodeError(.invalidArgument, "cannot read the ticket file \(file)")
            }
            guard data.count <= 4096 else { throw NodeError(.invalidArgument, "\(file) is not a ticket (\(data.count) bytes)") }
            text = String(decoding: data, as: UTF8.self)
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

struct Peers: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the library's members with their addresses and last contact.")
    @OptionGroup var output: OutputOptions

    func run() throws {
        let node = try openNode()
        let rows = try node.peersJSON()
        emit(output.json, rows) {
            guard case .array(let items) = rows else { return "" }
            return items.map { item -> String in
                guard case .object(let f) = item else { return "" }
                let v = Dictionary(f, uniquingKeysWith: { a, _ in a })
                let dev = String(v["deviceId"]!.text.prefix(7))
                let me = v["self"] == .bool(true) ? " (this device)" : ""
                var addrs = "-"
                if case .array(let a)? = v["addresses"], !a.isEmpty { addrs = a.map(\.text).joined(separator: ",") }
                var seen = "never"
                if case .double(let t)? = v["lastContact"] {
                    seen = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: t))
                }
                return "\(dev)  \(v["name"]!.text.padding(toLength: 16, withPad: " ", startingAt: 0)) "
                    + "\(v["role"]!.text.padding(toLength: 10, withPad: " ", startingAt: 0)) \(addrs)  last contact \(seen)\(me)"
            }.joined(separator: "\n")
        }
    }
}

struct MemberCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "member", abstract: "Remove a device from the library, or change its role (admins only).",
        subcommands: [MemberRemove.self, MemberRole.self])
}

/// A device named by a prefix of its id (as `hearth peers` prints it) or by its name.
func resolveMember(_ node: HearthNode, _ text: String) throws -> Member {
    let members = try node.catalog.members()
    let byID = members.filter { $0.device.string.hasPrefix(text) }
    let matches = byID.isEmpty ? members.filter { $0.name == text } : byID
    guard matches.count == 1 else {
        throw NodeError(.invalidArgument, matches.isEmpty
                        ? "no device of this library is called or starts with \(text); `hearth peers` lists them"
                        : "\(text) names \(matches.count) devices (\(matches.map { $0.device.short }.joined(separator: ", "))); give more of the id")
    }
    return matches[0]
}

struct MemberRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove a device (a lost or stolen laptop): every member that hears of it refuses the device from then on.",
        discussion: "The removal syncs like any change; run `hearth sync` or keep `hearth serve` running so the others hear of it.")
    @Argument(help: "The device: a prefix of its id or its name, as `hearth peers` shows.") var device: String
    @OptionGroup var output: OutputOptions

    func run() throws {
        let node = try openNode()
        let m = try resolveMember(node, device)
        guard m.device != node.identity.deviceID else {
            throw NodeError(.invalidArgument, "\(m.device.short) is this device; remove it from another admin's device")
        }
        _ = try node.commit([.removeMember(m.device)])
        emit(output.json, .object([("removed", .string(m.device.string)), ("name", .string(m.name))])) {
            "removed \(m.device.short) (\(m.name)); members refuse it once they hear of this (run `hearth sync`)"
        }
    }
}

struct MemberRole: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "role", abstract: "Change a device's role: member, partner (read-only), admin or recognizer.")
    @Argument(help: "The device: a prefix of its id or its name, as `hearth peers` shows.") var device: String
    @Argument(help: "member, partner, admin or recognizer.") var role: String
    @OptionGroup var output: OutputOptions

    func run() throws {
        guard let r = Role(name: role) else { throw ValidationError("the role is member, partner, admin or recognizer") }
        let node = try openNode()
        let m = try resolveMember(node, device)
        _ = try node.commit([.setRole(m.device, r)])
        emit(output.json, .object([("device", .string(m.device.string)), ("role", .string(r.description))])) {
            "\(m.device.short) (\(m.name)) is now \(r)"
        }
    }
}
