import HearthCrypto

/// A one-line, canonical rendering of a message: what the test vectors in
/// `protocol/vectors/messages.json` state as each valid case's decoded form, and what logs show.
extension Message: CustomStringConvertible {
    public var description: String {
        switch self {
        case .hello(let h):
            return "hello version=\(h.protocolVersion) key=\(Hex.encode(h.publicKey)) library=\(Hex.encode(h.library))"
                + " epoch=\(h.epoch) policy=\(h.policy) software=\"\(h.software)\""
        case .summary(let s): return "summary \(Self.text(s.entries))"
        case .batchRequest(let r): return "batch-request \(Self.text(r.have))"
        case .batches(let b):
            let items = b.batches.map {
                "\($0.device.hex)/\($0.epoch) \($0.firstSeq)...\($0.lastSeq) payload=\(Hex.encode($0.payload))"
                    + " sig=\(Hex.encode($0.signature))"
            }
            return "batches complete=\(b.complete) [\(items.joined(separator: ", "))]"
        case .chunkRequest(let r): return "chunk-request [\(r.ids.map(\.hex).joined(separator: ", "))]"
        case .chunkData(let d):
            return "chunk-data \(d.id.hex) "
                + (d.bytes.map { "total=\(d.totalLength) offset=\(d.offset) bytes=\(Hex.encode($0))" } ?? "absent")
        case .credit(let c): return "credit \(c.bytes)"
        case .done(let d): return "done \(Self.text(d.entries))"
        case .error(let e): return "error \(e.code)(\(e.code.rawValue)) \"\(e.text)\""
        case .ping(let p): return "ping nonce=\(p.nonce) reply=\(p.reply)"
        case .listening(let l):
            return "listening port=\(l.port) addresses=[\(l.addresses.map { "\"\($0)\"" }.joined(separator: ", "))]"
        case .unknownOptional(let t): return "unknown-optional type=0x\(Hex.encode([t]))"
        }
    }

    private static func text(_ entries: [VectorEntry]) -> String {
        "[" + entries.map { "\($0.device.hex)/\($0.epoch):\($0.seq)" }.joined(separator: ", ") + "]"
    }
}
