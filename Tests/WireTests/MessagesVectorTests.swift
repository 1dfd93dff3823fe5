import Foundation
import HearthCrypto
import Testing
@testable import Wire

/// Runs every case of `protocol/vectors/messages.json`, valid and invalid.
struct MessagesVectorTests {
    struct Case: Decodable {
        let name: String
        let parts: [[String]]
        let decoded: String?
        let error: String?

        var bytes: [UInt8] { Hex.decode(parts.map { $0[0] }.joined())! }
    }

    struct File: Decodable {
        let protocolVersion: Int
        let valid: [Case]
        let invalid: [Case]
    }

    static func load() throws -> File {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let data = try Data(contentsOf: root.appendingPathComponent("protocol/vectors/messages.json"))
        return try JSONDecoder().decode(File.self, from: data)
    }

    @Test func versionMatches() throws {
        #expect(try Self.load().protocolVersion == Int(MessageLimits.protocolVersion))
    }

    @Test func validCasesDecodeAndReencode() throws {
        let file = try Self.load()
        #expect(file.valid.count >= 10)
        for c in file.valid {
            let message = try Message.decode(c.bytes)
            #expect(message.description == c.decoded, "\(c.name)")
            // An unknown optional message's body is skipped, so only known types re-encode.
            if message.type != nil { #expect(message.encoded() == c.bytes, "\(c.name) re-encodes differently") }
        }
    }

    @Test func invalidCasesFailWithTheStatedCode() throws {
        let file = try Self.load()
        #expect(file.invalid.count >= 10)
        for c in file.invalid {
            do {
                let m = try Message.decode(c.bytes)
                Issue.record("\(c.name): decoded as \(m), expected \(c.error ?? "?")")
            } catch {
                #expect(error.code.rawValue == c.error, "\(c.name): \(error)")
            }
        }
    }

    /// Every strict prefix of a valid message fails cleanly (never traps, never half-decodes).
    @Test func everyTruncationIsRejected() throws {
        for c in try Self.load().valid where c.name != "unknown-optional" {
            let bytes = c.bytes
            for n in 0..<bytes.count {
                #expect(throws: MessageError.self, "\(c.name) cut at \(n)") { try Message.decode(Array(bytes[..<n])) }
            }
        }
    }
}

struct MessagesCodecTests {
    @Test func errorTextIsCutAtACharacterBoundary() throws {
        let long = String(repeating: "é", count: 600) // 1200 bytes
        let bytes = Message.error(ErrorMessage(code: .timeout, text: long)).encoded()
        guard case .error(let e) = try Message.decode(bytes) else { Issue.record("not an error"); return }
        #expect(e.text.utf8.count == 1024)
        #expect(e.code == .timeout)
    }

    @Test func oversizedMessageIsRejectedBeforeParsing() {
        let big = [UInt8](repeating: 0x04, count: MessageLimits.maxMessageBytes + 1)
        #expect(throws: MessageError(.limitExceeded,
                                     "message of \(big.count) bytes is over the \(MessageLimits.maxMessageBytes)-byte limit")) {
            try Message.decode(big)
        }
    }

    @Test func everyRequiredTypeIsCovered() throws {
        let covered = Set(try MessagesVectorTests.load().valid.compactMap { try Message.decode($0.bytes).type })
        #expect(covered == Set(MessageType.allCases))
    }
}
