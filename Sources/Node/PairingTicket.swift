import Catalog
import Foundation
import HearthCrypto
import Wire

/// A single-use invitation to join a library: everything a new device needs to find the inviter,
/// prove it was invited (the secret is the Noise XXpsk3 pre-shared key) and check it reached the
/// right node (the inviter's device id), in one copy-pasteable string. The bytes and the text
/// form are `WireTicket`'s (SPEC 3.2).
public struct PairingTicket: Equatable, Sendable {
    public static let prefix = WireTicket.prefix

    /// The ticket as it travels; the properties below read it in the catalog's types.
    public let wire: WireTicket
    public let library: LibraryID
    public let role: Role

    public var inviter: DeviceID { wire.inviter }
    public var ticketID: [UInt8] { wire.ticketID }
    public var secret: [UInt8] { wire.secret }
    /// Milliseconds since 1970 after which the inviter refuses the ticket.
    public var expiresAt: Int64 { wire.expiresAt }
    /// `HOST:PORT` where the inviter listens.
    public var addresses: [String] { wire.addresses }
    public var encoded: String { wire.text }

    public init(library: LibraryID, inviter: DeviceID, ticketID: [UInt8], secret: [UInt8], expiresAt: Int64,
                role: Role, addresses: [String]) {
        wire = WireTicket(library: library.bytes, inviter: inviter, ticketID: ticketID, secret: secret,
                          expiresAt: expiresAt, role: role.rawValue, addresses: addresses)
        self.library = library
        self.role = role
    }

    /// Parses a ticket as `hearth invite` printed it (surrounding white space ignored).
    public init(parsing text: String) throws {
        func bad(_ why: String) -> NodeError {
            NodeError(.invalidArgument, "not a valid Hearth ticket (\(why)); copy the whole last line `hearth invite` printed")
        }
        let t: WireTicket
        do { t = try WireTicket(parsing: text.trimmingCharacters(in: .whitespacesAndNewlines)) } catch { throw bad(error.message) }
        guard let library = LibraryID(bytes: t.library), let role = Role(rawValue: t.role) else { throw bad("unknown role") }
        (wire, self.library, self.role) = (t, library, role)
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
        if let why = WireTicket.invalidAddresses(addrs) { throw NodeError(.invalidArgument, "--address: \(why)") }
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
