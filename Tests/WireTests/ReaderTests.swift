import Foundation
import HearthCrypto
import Testing
@testable import Wire

@Suite struct ReaderTests {
    @Test func everyFieldRoundTrips() throws {
        let hash = Blake2b.hash256(Array("x".utf8))
        var w = Writer()
        w.writeUInt8(0xab)
        w.writeUInt16(0xbeef)
        w.writeUInt32(0xdead_beef)
        w.writeUInt64(.max)
        w.writeBool(true)
        for v: UInt64 in [0, 1, 127, 128, 16383, 16384, 1 << 35, .max] { w.writeVarint(v) }
        w.writeBytes([1, 2, 3])
        w.writeString("Été à Brest 📷")
        w.writeHash(hash)
        w.writeRaw([9, 9])

        var r = Reader(w.bytes, context: "test message")
        #expect(try r.readUInt8() == 0xab)
        #expect(try r.readUInt16() == 0xbeef)
        #expect(try r.readUInt32() == 0xdead_beef)
        #expect(try r.readUInt64() == .max)
        #expect(try r.readBool() == true)
        for v: UInt64 in [0, 1, 127, 128, 16383, 16384, 1 << 35, .max] { #expect(try r.readVarint() == v) }
        #expect(try r.readBytes(maxLength: 3) == [1, 2, 3])
        #expect(try r.readString(maxLength: 100, "caption") == "Été à Brest 📷")
        #expect(try r.readHash() == hash)
        #expect(try r.readRaw(count: 2) == [9, 9])
        try r.finish()
    }

    @Test func limitsAndBoundsAreChecked() throws {
        var w = Writer()
        w.writeBytes([UInt8](repeating: 1, count: 10))
        var r = Reader(w.bytes, context: "album from peer ABCDEFG")
        let error = #expect(throws: WireError.self) { try r.readBytes(maxLength: 9, "album name") }
        #expect(error?.code == .fieldTooLong)
        #expect(error?.message.contains("album from peer ABCDEFG") == true)
        #expect(error?.message.contains("album name") == true)

        var huge = Reader([0xff, 0xff, 0xff, 0xff, 0x0f])   // declares 4 GiB
        #expect(throws: WireError.self) { try huge.readBytes(maxLength: 1 << 20) }
        var short = Reader([5, 1, 2])
        let truncated = #expect(throws: WireError.self) { try short.readBytes(maxLength: 10) }
        #expect(truncated?.code == .truncated)
        var trailing = Reader([1, 2])
        _ = try trailing.readUInt8()
        #expect(throws: WireError.self) { try trailing.finish() }
        var count = Reader([200, 1])
        #expect(throws: WireError.self) { try count.readCount(max: 100, "tags") }
    }

    /// Random bytes read as random field sequences: only `WireError`s, never a crash.
    @Test(arguments: [11, 12, 13] as [UInt64])
    func fuzzedInputNeverCrashes(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        var outcomes = [0, 0]
        for _ in 0..<3000 {
            let bytes = [UInt8].random(count: Int.random(in: 0...64, using: &rng), using: &rng)
            var r = Reader(bytes)
            do {
                for _ in 0..<8 {
                    switch Int.random(in: 0..<11, using: &rng) {
                    case 0: _ = try r.readUInt8()
                    case 1: _ = try r.readUInt16()
                    case 2: _ = try r.readUInt32()
                    case 3: _ = try r.readUInt64()
                    case 4: _ = try r.readBool()
                    case 5: _ = try r.readVarint()
                    case 6: _ = try r.readBytes(maxLength: Int.random(in: 0...40, using: &rng))
                    case 7: _ = try r.readString(maxLength: Int.random(in: 0...40, using: &rng))
                    case 8: _ = try r.readHash()
                    case 9: _ = try r.readCount(max: 1000)
                    default: _ = try r.readRaw(count: Int.random(in: 0...16, using: &rng))
                    }
                }
                try r.finish()
                outcomes[0] += 1
            } catch is WireError {
                outcomes[1] += 1
            } catch {
                Issue.record("unexpected error type \(error) for seed \(seed)")
            }
            #expect(r.offset <= bytes.count)
        }
        #expect(outcomes[1] > 0, "seed \(seed): fuzzing should hit errors")
    }

    struct EncodingVectors: Decodable {
        struct Case: Decodable {
            let name: String
            let type: String
            let input: String
            let max_length: Int?
            let value: String?
            let error: String?
        }
        let cases: [Case]
    }

    @Test func encodingVectors() throws {
        let file = try JSONDecoder().decode(EncodingVectors.self, from: protocolVector("encoding.json"))
        #expect(file.cases.count >= 20)
        for c in file.cases {
            let input = hexBytes(c.input)
            var r = Reader(input, context: c.name)
            var w = Writer()
            var got: String?
            do {
                switch c.type {
                case "varint": let v = try r.readVarint(); got = String(v); w.writeVarint(v)
                case "uint16": let v = try r.readUInt16(); got = String(v); w.writeUInt16(v)
                case "uint32": let v = try r.readUInt32(); got = String(v); w.writeUInt32(v)
                case "uint64": let v = try r.readUInt64(); got = String(v); w.writeUInt64(v)
                case "bool": let v = try r.readBool(); got = String(v); w.writeBool(v)
                case "string": let v = try r.readString(maxLength: c.max_length!); got = v; w.writeString(v)
                default: Issue.record("\(c.name): unknown type \(c.type)")
                }
                try r.finish()
                #expect(c.error == nil, "\(c.name): expected \(c.error ?? "")")
                #expect(got == c.value, "\(c.name)")
                #expect(w.bytes == input, "\(c.name): re-encoding differs")
            } catch let error as WireError {
                #expect(error.code.rawValue == c.error, "\(c.name): \(error)")
            }
        }
    }
}
