public import HearthCrypto

/// The byte layout and text form of a pairing ticket (SPEC 3.2): a single-use invitation that
/// carries what a new device needs to find the inviter, prove it was invited (the secret is the
/// Noise XXpsk3 pre-shared key) and check it reached the right node.
///
///     hearth1-<base32 of: version u8 = 1 | library (16) | inviter device (32) | ticket id (16)
///              | secret (32) | expires ms u64 | role u8 | count u8 | (len u8, address)×count
///              | check (4) = first 4 bytes of BLAKE2b-256 of everything before>
public struct WireTicket: Equatable, Sendable {
    public static let prefix = "hearth1-"
    public static let version: UInt8 = 1
    public static let maxAddresses = 8
    public static let maxAddressBytes = 255
    /// The longest text a decoder reads (prefix included); longer input is refused unread.
    public static let maxTextLength = 4096
    public static let checkLength = 4
    /// Role codes, as the catalog's member list numbers them: 1 admin, 2 member, 3 partner, 4 recognizer.
    public static let roles: ClosedRange<UInt8> = 1...4

    public var library: [UInt8]
    public var inviter: DeviceID
    public var ticketID: [UInt8]
    public var secret: [UInt8]
    /// Milliseconds since 1970 after which the inviter refuses the ticket.
    public var expiresAt: Int64
    public var role: UInt8
    /// `HOST:PORT` where the inviter listens, 1...255 bytes of UTF-8 each, at most 8.
    public var addresses: [String]

    public init(library: [UInt8], inviter: DeviceID, ticketID: [UInt8], secret: [UInt8], expiresAt: Int64,
                role: UInt8, addresses: [String]) {
        precondition(library.count == 16 && ticketID.count == ConnectionPreamble.ticketIDLength && secret.count == 32)
        precondition(addresses.count <= Self.maxAddresses
                     && addresses.allSatisfy { (1...Self.maxAddressBytes).contains($0.utf8.count) },
                     "a ticket holds 1...8 addresses of 1...255 bytes; the caller checks (see `invalidAddresses`)")
        self.library = library
        self.inviter = inviter
        self.ticketID = ticketID
        self.secret = secret
        self.expiresAt = expiresAt
        self.role = role
        self.addresses = addresses
    }

    /// Why `addresses` cannot go into a ticket (too many, or one empty or over 255 bytes), or nil.
    public static func invalidAddresses(_ addresses: [String]) -> String? {
        if addresses.count > maxAddresses { return "a ticket holds at most \(maxAddresses) addresses, not \(addresses.count)" }
        if let a = addresses.first(where: { !(1...maxAddressBytes).contains($0.utf8.count) }) {
            return "address '\(a.prefix(40))' is \(a.utf8.count) bytes; a ticket's addresses are 1 to \(maxAddressBytes) bytes"
        }
        return nil
    }

    /// The bytes before the check: what the check covers.
    public var body: [UInt8] {
        var w = Writer()
        w.writeUInt8(Self.version)
        w.writeRaw(library)
        w.writeRaw(inviter.hash.bytes)
        w.writeRaw(ticketID)
        w.writeRaw(secret)
        w.writeUInt64(UInt64(bitPattern: expiresAt))
        w.writeUInt8(role)
        w.writeUInt8(UInt8(addresses.count))
        for a in addresses {
            w.writeUInt8(UInt8(a.utf8.count))
            w.writeRaw(Array(a.utf8))
        }
        return w.bytes
    }

    /// The text a person copies: the prefix and the lower-case base32 of body and check.
    public var text: String {
        let b = body
        return Self.prefix + Base32.encode(b + Blake2b.hash256(b).bytes.prefix(Self.checkLength)).lowercased()
    }

    /// Why a text is not a ticket; `reason` names the rule it broke (as in `vectors/tickets.json`).
    public struct Invalid: Error, Equatable, Sendable, CustomStringConvertible {
        public enum Reason: String, Sendable {
            case tooLong, prefix, characters, length, check, version, truncated, role, addresses, address, trailingBytes
        }
        public let reason: Reason
        public let message: String
        public var description: String { "\(reason.rawValue): \(message)" }
    }

    /// Parses the text form (no surrounding white space; the prefix and the base32 in either case).
    public init(parsing text: String) throws(Invalid) {
        func bad(_ r: Invalid.Reason, _ why: String) -> Invalid { Invalid(reason: r, message: why) }
        guard text.utf8.count <= Self.maxTextLength else { throw bad(.tooLong, "longer than \(Self.maxTextLength) characters") }
        guard text.lowercased().hasPrefix(Self.prefix) else { throw bad(.prefix, "it must start with \(Self.prefix)") }
        let raw: [UInt8]
        switch Self.base32(text.utf8.dropFirst(Self.prefix.utf8.count)) {
        case .failure(let e): throw e
        case .success(let r): raw = r
        }
        guard raw.count > Self.checkLength else { throw bad(.length, "\(raw.count) bytes, too short for a ticket") }
        let body = Array(raw.dropLast(Self.checkLength))
        guard Array(Blake2b.hash256(body).bytes.prefix(Self.checkLength)) == Array(raw.suffix(Self.checkLength)) else {
            throw bad(.check, "its check characters do not match: a character was changed or lost")
        }
        var r = Reader(body, context: "ticket")
        do {
            guard try r.readUInt8("version") == Self.version else { throw bad(.version, "made by a newer Hearth") }
            library = try r.readRaw(count: 16, "library")
            inviter = DeviceID(hash: Hash256(bytes: try r.readRaw(count: 32, "inviter"))!)
            ticketID = try r.readRaw(count: 16, "ticket id")
            secret = try r.readRaw(count: 32, "secret")
            expiresAt = Int64(bitPattern: try r.readUInt64("expiry"))
            role = try r.readUInt8("role")
            guard Self.roles.contains(role) else { throw bad(.role, "unknown role \(role)") }
            let n = Int(try r.readUInt8("address count"))
            guard n <= Self.maxAddresses else { throw bad(.addresses, "\(n) addresses, at most \(Self.maxAddresses)") }
            addresses = []
            for _ in 0..<n {
                let len = Int(try r.readUInt8("address length"))
                guard len > 0 else { throw bad(.address, "an empty address") }
                guard let a = String(validating: try r.readRaw(count: len, "address"), as: UTF8.self) else {
                    throw bad(.address, "an address is not UTF-8")
                }
                addresses.append(a)
            }
            try r.finish()
        } catch let e as Invalid {
            throw e
        } catch let e as WireError {
            throw bad(e.code == .trailingBytes ? .trailingBytes : .truncated, e.message)
        } catch {
            throw bad(.truncated, "\(error)")
        }
    }

    /// RFC 4648 base32 without padding, either case; the bits after the last whole byte must be
    /// zero and fewer than 5 (a canonical encoding), so every character is covered by the check.
    static func base32(_ chars: Substring.UTF8View) -> Result<[UInt8], Invalid> {
        var out: [UInt8] = []
        out.reserveCapacity(chars.count * 5 / 8)
        var buffer = 0, bits = 0
        for c in chars {
            let v: Int
            switch c {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = Int(c - UInt8(ascii: "a"))
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = Int(c - UInt8(ascii: "A"))
            case UInt8(ascii: "2")...UInt8(ascii: "7"): v = Int(c - UInt8(ascii: "2")) + 26
            default: return .failure(Invalid(reason: .characters, message: "bad characters"))
            }
            buffer = ((buffer << 5) | v) & 0xffff
            bits += 5
            if bits >= 8 {
                out.append(UInt8((buffer >> (bits - 8)) & 0xff))
                bits -= 8
            }
        }
        guard bits < 5, buffer & ((1 << bits) - 1) == 0 else {
            return .failure(Invalid(reason: .length, message: "its last character is cut off or changed"))
        }
        return .success(out)
    }
}
