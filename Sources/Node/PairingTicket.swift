import Catalog
import Foundation
import HearthCrypto
import Wire

/// A single-use invitation to join a library: everything a new device needs to find the inviter,
/// prove it was invited (the secret is the Noise XXpsk3 pre-shared key) and check it reached the
/// right node (the inviter's device id), in one copy-pasteable string.
///
///     hearth1-<base32 of: version u8 = 1 | library (16) | inviter device (32) | ticket id (16)
///              | secret (32) | expires ms u64 | role u8 | count u8 | (len u8, address)×count
///              | check (4) = first 4 bytes of BLAKE2b-256 of everything before>
public struct PairingTicket: Equatable, Sendable {
    public static let prefix = "hearth1-"
    static let maxAddresses = 8
    static let maxAddressBytes = 255
    static let maxEncodedLength = 4096

    public var library: LibraryID
    public var inviter: DeviceID
    public var ticketID: [UInt8]
    public var secret: [UInt8]
    /// Milliseconds since 1970 after which the inviter refuses the ticket.
    public var expiresAt: Int64
    public var role: Role
    /// `HOST:PORT` where the inviter listens.
    public var addresses: [String]

    public var encoded: String {
        var w = Writer()
        w.writeUInt8(1)
        w.writeRaw(library.bytes)
        w.writeRaw(inviter.hash.bytes)
        w.writeRaw(ticketID)
        w.writeRaw(secret)
        w.writeUInt64(UInt64(bitPattern: expiresAt))
        w.writeUInt8(role.rawValue)
        let addrs = addresses.prefix(Self.maxAddresses).filter { $0.utf8.count <= Self.maxAddressBytes }
        w.writeUInt8(UInt8(addrs.count))
        for a in addrs {
            w.writeUInt8(UInt8(a.utf8.count))
            w.writeRaw(Array(a.utf8))
        }
        let body = w.bytes
        return Self.prefix + Base32.encode(body + Blake2b.hash256(body).bytes.prefix(4)).lowercased()
    }

    public init(library: LibraryID, inviter: DeviceID, ticketID: [UInt8], secret: [UInt8], expiresAt: Int64,
                role: Role, addresses: [String]) {
        self.library = library
        self.inviter = inviter
        self.ticketID = ticketID
        self.secret = secret
        self.expiresAt = expiresAt
        self.role = role
        self.addresses = addresses
    }

    /// Parses a ticket as `hearth invite` printed it (surrounding white space ignored).
    public init(parsing text: String) throws {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        func bad(_ why: String) -> NodeError {
            NodeError(.invalidArgument, "not a valid Hearth ticket (\(why)); copy the whole last line `hearth invite` printed")
        }
        guard t.count <= Self.maxEncodedLength, t.lowercased().hasPrefix(Self.prefix) else { throw bad("it must start with \(Self.prefix)") }
        guard let raw = Base32.decode(String(t.dropFirst(Self.prefix.count))), raw.count > 4 else { throw bad("bad characters") }
        let body = Array(raw.dropLast(4))
        guard Array(Blake2b.hash256(body).bytes.prefix(4)) == Array(raw.suffix(4)) else {
            throw bad("its check characters do not match: a character was changed or lost")
        }
        var r = Reader(body, context: "ticket")
        do {
            guard try r.readUInt8("version") == 1 else { throw bad("made by a newer Hearth") }
            library = LibraryID(bytes: try r.readRaw(count: 16, "library"))!
            inviter = DeviceID(hash: Hash256(bytes: try r.readRaw(count: 32, "inviter"))!)
            ticketID = try r.readRaw(count: 16, "ticket id")
            secret = try r.readRaw(count: 32, "secret")
            expiresAt = Int64(bitPattern: try r.readUInt64("expiry"))
            guard let role = Role(rawValue: try r.readUInt8("role")) else { throw bad("unknown role") }
            self.role = role
            let n = Int(try r.readUInt8("address count"))
            guard n <= Self.maxAddresses else { throw bad("too many addresses") }
            addresses = []
            for _ in 0..<n {
                let len = Int(try r.readUInt8("address length"))
                addresses.append(String(decoding: try r.readRaw(count: len, "address"), as: UTF8.self))
            }
            try r.finish()
        } catch let e as NodeError {
            throw e
        } catch {
            throw bad("\(error)")
        }
    }
}

/// The tickets a node issued, kept in `HOME/tickets.json` (mode 0600: it holds secrets) and
/// rewritten atomically under the home's config lock, so `hearth invite` and a running
/// `hearth serve` never lose each other's updates.
struct TicketBook: Codable {
    struct Entry: Codable {
        var ticketID: String
        var secret: String
        var expiresAt: Int64
        var role: String
        var usedBy: String?
        var usedAt: Int64?
    }

    var tickets: [Entry] = []

    static func file(_ home: Home) -> URL { home.root.appendingPathComponent("tickets.json") }

    static func load(_ home: Home) throws -> TicketBook {
        guard let data = try? Data(contentsOf: file(home)) else { return TicketBook() }
        do { return try JSONDecoder().decode(TicketBook.self, from: data) } catch {
            throw NodeError(.corrupt, "\(file(home).path) is not valid: \(error)")
        }
    }

    func save(_ home: Home) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let url = Self.file(home)
        let tmp = url.appendingPathExtension("tmp")
        guard FileManager.default.createFile(atPath: tmp.path, contents: try enc.encode(self),
                                             attributes: [.posixPermissions: 0o600]) else {
            throw NodeError(.io, "cannot write \(tmp.path)")
        }
        guard rename(tmp.path, url.path) == 0 else {
            throw NodeError(.io, "cannot replace \(url.path): \(String(cString: strerror(errno)))")
        }
    }

    /// Loads, changes and saves under the home's config lock.
    static func update<T>(_ home: Home, _ change: (inout TicketBook) throws -> T) throws -> T {
        try HomeLock.withLock(home, .config) {
            var book = try load(home)
            let result = try change(&book)
            try book.save(home)
            return result
        }
    }
}

extension HearthNode {
    /// `hearth invite`: a new single-use ticket for a device to join this library.
    public func invite(role: Role, addresses: [String], validFor ms: Int64) throws -> PairingTicket {
        guard let me = try catalog.members().first(where: { $0.device == identity.deviceID }), me.role == .admin else {
            throw NodeError(.invalidArgument, "only an admin device can invite; ask an admin of this library to run `hearth invite`"
                            + " (or to invite this device with --role admin)")
        }
        guard ms > 0 else { throw NodeError(.invalidArgument, "--expires must be positive") }
        let addrs = addresses.isEmpty ? [config.listen].compactMap { $0 } : addresses
        guard !addrs.isEmpty else {
            throw NodeError(.invalidArgument, "no address to put in the ticket: pass --address HOST:PORT, or run `hearth serve` once so the node knows where it listens")
        }
        for a in addrs { _ = try PeerEndpoint(parsing: a) }
        let ticket = PairingTicket(library: catalog.libraryID, inviter: identity.deviceID, ticketID: secureRandomBytes(16),
                                   secret: secureRandomBytes(32), expiresAt: Self.wallClockMillis() + ms, role: role,
                                   addresses: addrs)
        try TicketBook.update(home) { book in
            book.tickets.append(.init(ticketID: Hex.encode(ticket.ticketID), secret: Hex.encode(ticket.secret),
                                      expiresAt: ticket.expiresAt, role: role.description))
        }
        return ticket
    }

    /// The pairing side of the server: looks tickets up and admits joiners.
    func pairingHook() -> PairingHook {
        let home = home, catalog = catalog
        return PairingHook(
            lookup: { id in
                guard let book = try? TicketBook.load(home),
                      let t = book.tickets.first(where: { $0.ticketID == Hex.encode(id) }),
                      let secret = Hex.decode(t.secret), secret.count == 32 else { return .unknown }
                if let by = t.usedBy { return .refused(secret: secret, reason: "the ticket was already used (by device \(by.prefix(7))); ask for a new one with `hearth invite`") }
                if t.expiresAt < Self.wallClockMillis() { return .refused(secret: secret, reason: "the ticket expired; ask for a new one with `hearth invite`") }
                return .open(secret: secret)
            },
            admit: { id, publicKey, name in
                // Marking the ticket used and committing the member happen under one lock, so two
                // joiners racing with the same ticket cannot both get in.
                try TicketBook.update(home) { book in
                    guard let i = book.tickets.firstIndex(where: { $0.ticketID == Hex.encode(id) }) else {
                        throw SyncError(.pairingRefused, "the ticket is no longer known to this node")
                    }
                    guard book.tickets[i].usedBy == nil else {
                        throw SyncError(.pairingRefused, "the ticket was already used; ask for a new one with `hearth invite`")
                    }
                    guard book.tickets[i].expiresAt >= Self.wallClockMillis() else {
                        throw SyncError(.pairingRefused, "the ticket expired; ask for a new one with `hearth invite`")
                    }
                    let role = Role(name: book.tickets[i].role) ?? .member
                    let device = DeviceID(publicKey: publicKey)
                    if try !catalog.members().contains(where: { $0.device == device }) {
                        try catalog.commit([.addMember(publicKey: publicKey, name: name, role: role)], now: Self.wallClockMillis())
                    }
                    book.tickets[i].usedBy = device.string
                    book.tickets[i].usedAt = Self.wallClockMillis()
                }
            })
    }
}

import SyncEngine
import Transport
