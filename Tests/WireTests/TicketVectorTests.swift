import Foundation
import HearthCrypto
import Testing
@testable import Wire

/// `protocol/vectors/tickets.json` (written by `vectors/gen_tickets.py`, independent of this
/// code): every valid ticket decodes to its fields and encodes back; every invalid one is
/// refused for the stated reason.
@Suite struct TicketVectorTests {
    struct Case: Decodable {
        let name: String
        let text: String
        let body: String?
        let library: String?
        let inviter: String?
        let ticket_id: String?
        let secret: String?
        let expires_at: Int64?
        let role: UInt8?
        let addresses: [String]?
        let canonical: String?
        let error: String?
    }

    struct File: Decodable { let cases: [Case] }

    @Test func ticketVectors() throws {
        let file = try JSONDecoder().decode(File.self, from: protocolVector("tickets.json"))
        #expect(file.cases.filter { $0.error == nil }.count >= 5 && file.cases.filter { $0.error != nil }.count >= 15)
        for c in file.cases {
            if c.error != nil {
                do {
                    _ = try WireTicket(parsing: c.text)
                    Issue.record("\(c.name): accepted an invalid ticket")
                } catch {
                    #expect(error.reason.rawValue == c.error, "\(c.name): \(error)")
                }
                continue
            }
            let t = try WireTicket(parsing: c.text)
            #expect(Hex.encode(t.library) == c.library, "\(c.name)")
            #expect(t.inviter.hash.hex == c.inviter, "\(c.name)")
            #expect(Hex.encode(t.ticketID) == c.ticket_id && Hex.encode(t.secret) == c.secret, "\(c.name)")
            #expect(t.expiresAt == c.expires_at && t.role == c.role && t.addresses == c.addresses, "\(c.name)")
            #expect(Hex.encode(t.body) == c.body, "\(c.name) body")
            #expect(t.text == (c.canonical ?? c.text), "\(c.name) encodes back")
        }
    }

    /// What a ticket cannot hold is named, never left out in silence.
    @Test func addressesATicketCannotHoldAreNamed() throws {
        let eight = (1...8).map { "10.0.0.\($0):7480" }
        #expect(WireTicket.invalidAddresses(eight) == nil)
        #expect(WireTicket.invalidAddresses(eight + ["10.0.0.9:7480"])?.contains("at most 8") == true)
        #expect(WireTicket.invalidAddresses([""])?.contains("1 to 255 bytes") == true)
        #expect(WireTicket.invalidAddresses([String(repeating: "h", count: 251) + ":7480"])?.contains("255 bytes") == true)
        let t = WireTicket(library: [UInt8](repeating: 3, count: 16), inviter: DeviceID(hash: Blake2b.hash256([1])),
                           ticketID: [UInt8](repeating: 4, count: 16), secret: [UInt8](repeating: 5, count: 32),
                           expiresAt: 1_700_000_000_000, role: 2, addresses: eight)
        #expect(try WireTicket(parsing: t.text).addresses == eight, "all eight addresses travel")
    }

    /// Any one character changed anywhere in a ticket is caught (by the alphabet, the check or
    /// the canonical end), never decoded as another ticket.
    @Test func everySingleCharacterChangeIsCaught() throws {
        let t = WireTicket(library: [UInt8](repeating: 3, count: 16), inviter: DeviceID(hash: Blake2b.hash256([1])),
                           ticketID: [UInt8](repeating: 4, count: 16), secret: [UInt8](repeating: 5, count: 32),
                           expiresAt: 1_700_000_000_000, role: 2, addresses: ["10.0.0.2:7480"])
        let text = Array(t.text)
        #expect(try WireTicket(parsing: t.text) == t)
        var caught = 0
        for i in WireTicket.prefix.count..<text.count {
            for c in "abcdefghijklmnopqrstuvwxyz234567" where c != text[i] {
                var changed = text
                changed[i] = c
                if (try? WireTicket(parsing: String(changed))) == nil { caught += 1 }
            }
        }
        #expect(caught == (text.count - WireTicket.prefix.count) * 31)
    }
}
