/// A Noise handshake pattern (§7) with its PSK modifiers (§9), built from a table so that
/// every one-way, fundamental and deferred pattern of the spec is available by name.
public struct NoisePattern: Sendable, Hashable, CustomStringConvertible {
    public enum Token: String, Sendable, Hashable {
        case e, s, ee, es, se, ss, psk
    }

    /// The pattern's name as in a protocol name: `XX`, `XXpsk3`, `IKpsk1+psk2`.
    public let name: String
    /// Keys the initiator / responder knows of the other before the first message.
    let initiatorPreMessage: [Token]
    let responderPreMessage: [Token]
    /// Message `i` is sent by the initiator when `i` is even, except in one-way patterns
    /// where every message goes from initiator to responder.
    let messages: [[Token]]
    let isOneWay: Bool

    public var description: String { name }

    /// Number of PSKs the pattern consumes.
    var pskCount: Int { messages.reduce(0) { $0 + $1.filter { $0 == .psk }.count } }

    /// `XX`: mutual authentication with identities exchanged under encryption. Hearth's default.
    public static let XX = try! NoisePattern(name: "XX")
    /// `XXpsk3`: `XX` with a pre-shared key mixed into the last message.
    public static let XXpsk3 = try! NoisePattern(name: "XXpsk3")

    /// Parses a pattern name such as `XX`, `NKpsk0` or `KKpsk0+psk2`.
    public init(name: String) throws {
        let base = String(name.prefix { $0 != "+" && !$0.isLowercase })
        guard let entry = Self.table[base] else {
            throw CryptoError(.handshake, "unknown Noise handshake pattern \"\(name)\"")
        }
        var messages = entry.messages.map(Self.tokens)
        let modifiers = name.dropFirst(base.count)
        if !modifiers.isEmpty {
            for modifier in modifiers.split(separator: "+", omittingEmptySubsequences: false) {
                guard modifier.hasPrefix("psk"), let n = Int(modifier.dropFirst(3)), n >= 0, n <= messages.count,
                      String(n) == modifier.dropFirst(3) else {
                    throw CryptoError(.handshake, "unsupported Noise pattern modifier \"\(modifier)\" in \"\(name)\"")
                }
                if n == 0 { messages[0].insert(.psk, at: 0) } else { messages[n - 1].append(.psk) }
            }
        }
        self.name = name
        self.initiatorPreMessage = Self.tokens(entry.initiatorPre)
        self.responderPreMessage = Self.tokens(entry.responderPre)
        self.messages = messages
        self.isOneWay = entry.oneWay
    }

    private static func tokens(_ text: String) -> [Token] {
        text.split(separator: ",").map { Token(rawValue: String($0.filter { $0 != " " }))! }
    }

    private struct Entry {
        var initiatorPre = "", responderPre = "", messages: [String], oneWay = false
    }

    /// Patterns of Noise revision 34: one-way (§7.4), fundamental (§7.5) and deferred (§7.6).
    private static let table: [String: Entry] = [
        "N": Entry(responderPre: "s", messages: ["e, es"], oneWay: true),
        "K": Entry(initiatorPre: "s", responderPre: "s", messages: ["e, es, ss"], oneWay: true),
        "X": Entry(responderPre: "s", messages: ["e, es, s, ss"], oneWay: true),

        "NN": Entry(messages: ["e", "e, ee"]),
        "NK": Entry(responderPre: "s", messages: ["e, es", "e, ee"]),
        "NX": Entry(messages: ["e", "e, ee, s, es"]),
        "XN": Entry(messages: ["e", "e, ee", "s, se"]),
        "XK": Entry(responderPre: "s", messages: ["e, es", "e, ee", "s, se"]),
        "XX": Entry(messages: ["e", "e, ee, s, es", "s, se"]),
        "KN": Entry(initiatorPre: "s", messages: ["e", "e, ee, se"]),
        "KK": Entry(initiatorPre: "s", responderPre: "s", messages: ["e, es, ss", "e, ee, se"]),
        "KX": Entry(initiatorPre: "s", messages: ["e", "e, ee, se, s, es"]),
        "IN": Entry(messages: ["e, s", "e, ee, se"]),
        "IK": Entry(responderPre: "s", messages: ["e, es, s, ss", "e, ee, se"]),
        "IX": Entry(messages: ["e, s", "e, ee, se, s, es"]),

        "NK1": Entry(responderPre: "s", messages: ["e", "e, ee, es"]),
        "NX1": Entry(messages: ["e", "e, ee, s", "es"]),
        "X1N": Entry(messages: ["e", "e, ee", "s", "se"]),
        "X1K": Entry(responderPre: "s", messages: ["e, es", "e, ee", "s", "se"]),
        "XK1": Entry(responderPre: "s", messages: ["e", "e, ee, es", "s, se"]),
        "X1K1": Entry(responderPre: "s", messages: ["e", "e, ee, es", "s", "se"]),
        "X1X": Entry(messages: ["e", "e, ee, s, es", "s", "se"]),
        "XX1": Entry(messages: ["e", "e, ee, s", "es, s, se"]),
        "X1X1": Entry(messages: ["e", "e, ee, s", "es, s", "se"]),
        "K1N": Entry(initiatorPre: "s", messages: ["e", "e, ee", "se"]),
        "K1K": Entry(initiatorPre: "s", responderPre: "s", messages: ["e, es", "e, ee", "se"]),
        "KK1": Entry(initiatorPre: "s", responderPre: "s", messages: ["e", "e, ee, se, es"]),
        "K1K1": Entry(initiatorPre: "s", responderPre: "s", messages: ["e", "e, ee, es", "se"]),
        "K1X": Entry(initiatorPre: "s", messages: ["e", "e, ee, s, es", "se"]),
        "KX1": Entry(initiatorPre: "s", messages: ["e", "e, ee, se, s", "es"]),
        "K1X1": Entry(initiatorPre: "s", messages: ["e", "e, ee, s", "se, es"]),
        "I1N": Entry(messages: ["e, s", "e, ee", "se"]),
        "I1K": Entry(responderPre: "s", messages: ["e, es, s", "e, ee", "se"]),
        "IK1": Entry(responderPre: "s", messages: ["e, s", "e, ee, se, es"]),
        "I1K1": Entry(responderPre: "s", messages: ["e, s", "e, ee, es", "se"]),
        "I1X": Entry(messages: ["e, s", "e, ee, s, es", "se"]),
        "IX1": Entry(messages: ["e, s", "e, ee, se, s", "es"]),
        "I1X1": Entry(messages: ["e, s", "e, ee, s", "se, es"]),
    ]
}

extension NoisePattern {
    /// Parses a full protocol name; only the `25519_ChaChaPoly_BLAKE2b` suite is supported.
    public init(protocolName: String) throws {
        let parts = protocolName.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "Noise" else {
            throw CryptoError(.handshake, "\"\(protocolName)\" is not a Noise protocol name")
        }
        guard parts[2] == "25519", parts[3] == "ChaChaPoly", parts[4] == "BLAKE2b" else {
            throw CryptoError(.handshake, "\"\(protocolName)\" uses an unsupported suite; only 25519_ChaChaPoly_BLAKE2b is built in")
        }
        try self.init(name: String(parts[1]))
    }

    /// `Noise_<pattern>_25519_ChaChaPoly_BLAKE2b`.
    public var protocolName: String { "Noise_\(name)_25519_ChaChaPoly_BLAKE2b" }
}
