import Testing
@testable import Wire

/// The optional Listening message (0x80): round trips, and every limit at and just past its edge.
struct ListeningTests {
    /// `host:port` of exactly `bytes` UTF-8 bytes.
    static func address(bytes: Int) -> String {
        let port = ":7480"
        return String(repeating: "h", count: bytes - port.utf8.count) + port
    }

    /// Hand-built body: port, count, then each string with a one-byte length.
    static func body(port: UInt16, _ addresses: [[UInt8]], count: Int? = nil) -> [UInt8] {
        var b: [UInt8] = [0x80, UInt8(port >> 8), UInt8(port & 0xff), UInt8(count ?? addresses.count)]
        for a in addresses { b += [UInt8(a.count)] + a }
        return b
    }

    @Test(arguments: [
        Listening(port: 1),
        Listening(port: 65535, addresses: ["nas.local:7480"]),
        Listening(port: 7480, addresses: ["192.168.1.20:7480", "[fd00::7]:17480", "hearth.example.org:443"]),
        Listening(port: 7480, addresses: (1...8).map { "10.0.0.\($0):7480" }),
        Listening(port: 7480, addresses: [ListeningTests.address(bytes: 255), "[::1]:1", "bücher.example:65535"]),
    ])
    func roundTrips(_ l: Listening) throws {
        let bytes = Message.listening(l).encoded()
        #expect(bytes[0] == 0x80, "an optional type, so older nodes ignore it")
        #expect(try Message.decode(bytes) == .listening(l))
        #expect(Message.listening(l).encodedCount == bytes.count)
        for n in 0..<bytes.count {
            #expect(throws: MessageError.self, "cut at \(n)") { try Message.decode(Array(bytes[..<n])) }
        }
    }

    @Test func eightAddressesPassNineAreRejected() throws {
        let eight = (1...8).map { Array("10.0.0.\($0):7480".utf8) }
        #expect(try Message.decode(Self.body(port: 7480, eight)) == .listening(Listening(port: 7480, addresses: eight.map { String(decoding: $0, as: UTF8.self) })))
        let nine = eight + [Array("10.0.0.9:7480".utf8)]
        do {
            _ = try Message.decode(Self.body(port: 7480, nine))
            Issue.record("nine addresses decoded")
        } catch {
            #expect(error.code == .limitExceeded)
        }
    }

    @Test func portZeroIsRejected() {
        do {
            _ = try Message.decode(Self.body(port: 0, []))
            Issue.record("port 0 decoded")
        } catch {
            #expect(error.code == .invalidField)
        }
    }

    @Test func longestAddressIs255Bytes() throws {
        let longest = Self.address(bytes: 255)
        #expect(try Message.decode(Self.body(port: 9, [Array(longest.utf8)])) == .listening(Listening(port: 9, addresses: [longest])))
        // 256 bytes cannot be expressed with a one-byte length: the length byte wraps to 0 and the
        // remaining bytes are left over.
        #expect(!Listening.isValidAddress(Self.address(bytes: 256)))
    }

    @Test(arguments: ["", ":7480", "nas", "nas:", "nas:0", "nas:07480", "nas:65536", "nas:99999999", "nas:-1", "nas:+80",
                      "fd00::7:7480", "[fd00::7]", "[]:7480", "[a]b]:1", "nas local:1", "nas\t:1", "nas\u{7f}:1", "[[::1]]:1"])
    func malformedAddressesAreRejected(_ text: String) throws {
        #expect(!Listening.isValidAddress(text))
        let bytes = Self.body(port: 7480, [Array(text.utf8)])
        do {
            _ = try Message.decode(bytes)
            Issue.record("\"\(text)\" decoded")
        } catch {
            #expect(error.code == .invalidField, "\"\(text)\": \(error)")
        }
    }

    @Test(arguments: ["a:1", "127.0.0.1:7480", "[::1]:7480", "[fe80::1%eth0]:7480", "nas.local:65535", "bücher.example:80"])
    func wellFormedAddressesAreAccepted(_ text: String) {
        #expect(Listening.isValidAddress(text))
    }

    @Test func textFormListsAddresses() {
        let m = Message.listening(Listening(port: 7480, addresses: ["nas.local:7480"]))
        #expect(m.description == "listening port=7480 addresses=[\"nas.local:7480\"]")
    }
}
