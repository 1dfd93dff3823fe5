/// Every failure to frame, parse or bound bytes from a peer.
public struct WireError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        /// A frame header announced a body longer than the receiver's maximum.
        case frameTooLarge
        /// The stream ended inside a frame.
        case truncatedFrame
        /// A read ran past the end of a message.
        case truncated
        /// A length-prefixed field or a count is over its limit.
        case fieldTooLong
        /// A varint is longer than 10 bytes, overflows 64 bits or is not minimally encoded.
        case badVarint
        /// A string field is not valid UTF-8.
        case badUTF8
        /// A field holds a value the format does not allow (a bool other than 0 or 1, an unknown version).
        case invalidValue
        /// A message has bytes after its last field.
        case trailingBytes
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
