import Foundation
import Testing
@testable import Wire

/// Feeds `stream` cut at `cuts` and collects every frame, checking the buffer bound after each piece.
private func decode(_ stream: [UInt8], cuts: [Int], maxBodyLength: Int = Framing.defaultMaxBodyLength) throws -> [[UInt8]] {
    var decoder = FrameDecoder(maxBodyLength: maxBodyLength)
    var frames = [[UInt8]]()
    var start = 0
    for end in cuts + [stream.count] where end >= start {
        frames += try decoder.feed(stream[start..<end])
        #expect(decoder.bufferedByteCount <= Framing.headerLength + maxBodyLength)
        start = end
    }
    try decoder.finish()
    return frames
}

@Suite struct FrameDecoderTests {
    /// Like swift-nio's ByteToMessageDecoderVerifier: all at once, byte by byte and random
    /// splits must give the same frames.
    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func anySplitOfTheStreamGivesTheSameFrames(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let bodies = (0..<40).map { _ in
            [UInt8].random(count: Bool.random(using: &rng) ? Int.random(in: 0...8, using: &rng) : Int.random(in: 0...3000, using: &rng), using: &rng)
        }
        let stream = try bodies.flatMap { try Framing.encode($0) }
        #expect(try decode(stream, cuts: []) == bodies, "seed \(seed)")
        #expect(try decode(stream, cuts: Array(1..<stream.count)) == bodies, "seed \(seed)")
        for _ in 0..<20 {
            let cuts = (0..<Int.random(in: 0...50, using: &rng)).map { _ in Int.random(in: 0...stream.count, using: &rng) }.sorted()
            #expect(try decode(stream, cuts: cuts) == bodies, "seed \(seed) cuts \(cuts)")
        }
    }

    @Test func frameTooLargeFailsAtTheHeaderAndStaysFailed() throws {
        var decoder = FrameDecoder(maxBodyLength: 10, context: "peer 192.0.2.1:4000")
        #expect(try decoder.feed([0, 0, 0, 2, 0xaa, 0xbb]) == [[0xaa, 0xbb]])
        let error = #expect(throws: WireError.self) { try decoder.feed([0, 0, 0, 11]) }
        #expect(error?.code == .frameTooLarge)
        #expect(error?.message.contains("peer 192.0.2.1:4000") == true)
        #expect(decoder.bufferedByteCount <= 4)
        #expect(throws: WireError.self) { try decoder.feed([0, 0, 0, 1, 1]) }
        #expect(throws: WireError.self) { try decoder.finish() }
    }

    @Test func aHugeAnnouncedFrameIsNeverBuffered() throws {
        var decoder = FrameDecoder()
        // 1 GiB announced: refused on the header, nothing allocated for it.
        #expect(throws: WireError.self) { try decoder.feed([0x40, 0, 0, 0] + [UInt8](repeating: 0, count: 1000)) }
        #expect(decoder.bufferedByteCount <= 4)
    }

    @Test func endOfStreamInsideAFrameIsTruncation() throws {
        var decoder = FrameDecoder()
        #expect(try decoder.feed([0, 0, 0, 3, 1]) == [])
        #expect(decoder.bufferedByteCount == 5)
        let error = #expect(throws: WireError.self) { try decoder.finish() }
        #expect(error?.code == .truncatedFrame)
        #expect(try decoder.feed([2, 3]) == [[1, 2, 3]])
        try decoder.finish()
    }

    @Test func encodeRefusesOversizedBodies() throws {
        #expect(throws: WireError.self) { try Framing.encode([1, 2, 3], maxBodyLength: 2) }
        #expect(try Framing.encode([9], maxBodyLength: 1) == [0, 0, 0, 1, 9])
    }

    struct FramingVectors: Decodable {
        struct Case: Decodable {
            let name: String
            let max_body_length: Int?
            let input: String
            let frames: [String]
            let error: String?
        }
        let default_max_body_length: Int
        let cases: [Case]
    }

    @Test func framingVectors() throws {
        let file = try JSONDecoder().decode(FramingVectors.self, from: protocolVector("framing.json"))
        #expect(file.default_max_body_length == Framing.defaultMaxBodyLength)
        #expect(file.cases.count >= 10)
        for c in file.cases {
            let input = hexBytes(c.input)
            let expected = c.frames.map(hexBytes)
            let max = c.max_body_length ?? Framing.defaultMaxBodyLength
            // Whole input at once, then byte by byte: same frames, then the same error.
            for cuts in [[], Array(1..<Swift.max(1, input.count))] {
                var decoder = FrameDecoder(maxBodyLength: max)
                var frames = [[UInt8]]()
                var failure: WireError?
                do {
                    var start = 0
                    for end in cuts + [input.count] where end >= start {
                        try decoder.feed(input[start..<end]) { frames.append($0) }
                        start = end
                    }
                    try decoder.finish()
                } catch let error as WireError {
                    failure = error
                }
                #expect(frames == expected, "\(c.name)")
                #expect(failure?.code.rawValue == c.error, "\(c.name): \(failure?.description ?? "no error")")
            }
            if c.error == nil {
                #expect(try expected.flatMap { try Framing.encode($0, maxBodyLength: max) } == input, "\(c.name)")
            }
        }
    }
}
