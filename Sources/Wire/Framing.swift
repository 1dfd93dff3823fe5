/// Frames: a 4-byte big-endian body length, then the body (`protocol/SPEC.md`, "Framing").
public enum Framing {
    public static let headerLength = 4

    /// Largest application message: 1 MiB of plaintext.
    public static let maxMessageLength = 1 << 20

    /// Default maximum body: `maxMessageLength` sealed by `TransportCipher.seal`, i.e.
    /// 1,048,576 bytes plus a 16-byte tag for each of its 17 Noise messages = 1,048,848.
    public static let defaultMaxBodyLength = 1_048_848

    /// Limit for the three handshake frames: the Noise message limit.
    public static let maxHandshakeBodyLength = 65535

    /// Header ‖ body. Throws `.frameTooLarge` for a body over `maxBodyLength`.
    public static func encode(_ body: [UInt8], maxBodyLength: Int = defaultMaxBodyLength) throws -> [UInt8] {
        precondition(maxBodyLength >= 0 && maxBodyLength <= Int(UInt32.max))
        guard body.count <= maxBodyLength else {
            throw WireError(.frameTooLarge, "frame body of \(body.count) bytes is over the limit of \(maxBodyLength)")
        }
        let n = UInt32(body.count)
        var out = [UInt8]()
        out.reserveCapacity(headerLength + body.count)
        out += [UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)]
        out += body
        return out
    }
}

/// Cuts a byte stream into frame bodies. Feed it whatever the socket delivered, in any
/// pieces; it returns each complete body once and never holds more than one header and
/// one partial body (at most `maxBodyLength` bytes). After an error it stays failed.
public struct FrameDecoder: Sendable {
    /// May be changed between frames, e.g. from `Framing.maxHandshakeBodyLength` to the
    /// default once the handshake is done; it applies to the next header read.
    public var maxBodyLength: Int {
        didSet { precondition(maxBodyLength >= 0 && maxBodyLength <= Int(UInt32.max)) }
    }
    /// Names the stream in errors, e.g. "connection from 192.0.2.7:4242".
    public let context: String
    private var header: [UInt8] = []
    private var body: [UInt8] = []
    private var expected: Int?
    private var failure: WireError?

    public init(maxBodyLength: Int = Framing.defaultMaxBodyLength, context: String = "stream") {
        precondition(maxBodyLength >= 0 && maxBodyLength <= Int(UInt32.max))
        self.maxBodyLength = maxBodyLength
        self.context = context
    }

    /// Bytes held for the frame in progress.
    public var bufferedByteCount: Int { header.count + body.count }

    /// Consumes `bytes`, handing each body it completes to `onFrame` in order. Bodies
    /// completed before an error in the same piece are still delivered, then it throws.
    /// If `onFrame` throws, the rest of the piece is left unread: drop the connection.
    public mutating func feed<C: Collection>(_ bytes: C, onFrame: ([UInt8]) throws -> Void) throws where C.Element == UInt8 {
        if let failure { throw failure }
        if try bytes.withContiguousStorageIfAvailable({ try consume($0, onFrame) }) != nil { return }
        try Array(bytes).withUnsafeBufferPointer { try consume($0, onFrame) }
    }

    /// Consumes `bytes` and returns the bodies of every frame they complete, in order.
    /// On an error, the bodies this piece completed are dropped with it; use
    /// `feed(_:onFrame:)` to receive them first.
    public mutating func feed<C: Collection>(_ bytes: C) throws -> [[UInt8]] where C.Element == UInt8 {
        var frames = [[UInt8]]()
        try feed(bytes) { frames.append($0) }
        return frames
    }

    /// Declares the end of the stream: throws `.truncatedFrame` if a frame was cut short.
    public func finish() throws {
        if let failure { throw failure }
        guard bufferedByteCount == 0 else {
            let detail = expected.map { "\(body.count) of \($0) body bytes" } ?? "\(header.count) of 4 header bytes"
            throw WireError(.truncatedFrame, "\(context) ended inside a frame (\(detail) received)")
        }
    }

    private mutating func consume(_ input: UnsafeBufferPointer<UInt8>, _ onFrame: ([UInt8]) throws -> Void) throws {
        var i = 0
        while i < input.count {
            if let length = expected {
                let take = min(length - body.count, input.count - i)
                body.append(contentsOf: UnsafeBufferPointer(rebasing: input[i..<(i + take)]))
                i += take
            } else {
                let take = min(Framing.headerLength - header.count, input.count - i)
                header.append(contentsOf: UnsafeBufferPointer(rebasing: input[i..<(i + take)]))
                i += take
                guard header.count == Framing.headerLength else { break }
                let length = header.reduce(0) { $0 << 8 | Int($1) }
                guard length <= maxBodyLength else {
                    let error = WireError(.frameTooLarge, "\(context) announced a frame of \(length) bytes, over the limit of \(maxBodyLength)")
                    failure = error
                    throw error
                }
                expected = length
            }
            if let length = expected, body.count == length {
                let frame = body
                body = []
                header.removeAll(keepingCapacity: true)
                expected = nil
                try onFrame(frame)
            }
        }
    }
}
