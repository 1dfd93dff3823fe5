import Foundation
import HearthCrypto
import Testing
import Wire
@testable import SyncEngine

/// `protocol/vectors/preamble.json`: every case parses (or is refused) as stated, and re-encodes.
struct PreambleVectorTests {
    struct Case: Decodable {
        let name: String
        let input: String
        let mode: String?
        let ticket_id: String?
        let consumed: Int?
        let error: String?
    }

    struct File: Decodable { let cases: [Case] }

    @Test func allVectors() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: root.appendingPathComponent("protocol/vectors/preamble.json")))
        #expect(file.cases.count >= 10)
        for c in file.cases {
            let input = Hex.decode(c.input)!
            switch c.error {
            case nil:
                let parsed = try #require(try ConnectionPreamble.parse(input), "\(c.name)")
                #expect(parsed.1 == c.consumed, "\(c.name)")
                #expect(parsed.0.mode == (c.mode == "pairing" ? .pairing : .member), "\(c.name)")
                #expect(parsed.0.ticketID.map(Hex.encode) == c.ticket_id, "\(c.name)")
                #expect(parsed.0.encoded() == Array(input.prefix(parsed.1)), "\(c.name) re-encodes")
            case "incomplete":
                #expect(try ConnectionPreamble.parse(input) == nil, "\(c.name)")
            default:
                #expect(throws: WireError.self, "\(c.name)") { try ConnectionPreamble.parse(input) }
            }
            // Fed one byte at a time, the verdict is the same and comes no later than the whole input.
            var verdict: String = "incomplete"
            for n in 1...input.count {
                do {
                    if try ConnectionPreamble.parse(Array(input.prefix(n))) != nil { verdict = "ok"; break }
                } catch {
                    verdict = "invalid"
                    break
                }
            }
            #expect(verdict == (c.error ?? "ok"), "\(c.name) byte by byte")
        }
    }

    @Test func pairingPayloadRoundTripsAndRejectsBadNames() throws {
        let id = Identity.fromSeed([UInt8](repeating: 9, count: 32))
        let p = PairingPayload(identity: HandshakePayload(identity: id), name: "Grandma's iPad")
        #expect(try PairingPayload(decoding: p.encoded()) == p)
        let identityOnly = HandshakePayload(identity: id).encoded()
        #expect(throws: WireError.self) { try PairingPayload(decoding: identityOnly) }
        #expect(throws: WireError.self) { try PairingPayload(decoding: identityOnly + [0]) }
        #expect(throws: WireError.self) { try PairingPayload(decoding: identityOnly + [65] + [UInt8](repeating: 0x41, count: 65)) }
        #expect(throws: WireError.self) { try PairingPayload(decoding: identityOnly + [2, 0xff, 0xfe]) }
        #expect(throws: WireError.self) { try PairingPayload(decoding: p.encoded() + [0]) }
    }
}
