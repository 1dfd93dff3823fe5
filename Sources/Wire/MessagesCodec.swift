import HearthCrypto

/// Encoding and decoding of `Message` (SPEC "Messages"). All integers are big-endian.
extension Message {
    /// The message's bytes: type byte, then body.
    ///
    /// Encoding a message that breaks a limit is a programmer mistake (the engine builds
    /// messages within limits), so it traps rather than producing bytes a peer would reject.
    public func encoded() -> [UInt8] {
        var w = MessageWriter()
        switch self {
        case .hello(let h):
            precondition(h.software.utf8.count <= MessageLimits.maxSoftwareBytes)
            w.u8(MessageType.hello.rawValue)
            w.u16(h.protocolVersion)
            w.bytes(h.publicKey)
            w.bytes(h.library)
            w.u32(h.epoch)
            w.u8(h.policy.rawValue)
            w.u8(UInt8(h.software.utf8.count))
            w.bytes(Array(h.software.utf8))
        case .summary(let s):
            w.u8(MessageType.summary.rawValue)
            w.vector(s.entries)
        case .batchRequest(let r):
            w.u8(MessageType.batchRequest.rawValue)
            w.vector(r.have)
        case .batches(let b):
            precondition(b.batches.count <= MessageLimits.maxBatchesPerMessage)
            w.u8(MessageType.batches.rawValue)
            w.u8(b.complete ? 1 : 0)
            w.u32(UInt32(b.batches.count))
            for batch in b.batches { w.batch(batch) }
        case .chunkRequest(let r):
            precondition(!r.ids.isEmpty && r.ids.count <= MessageLimits.maxChunkIDsPerRequest)
            w.u8(MessageType.chunkRequest.rawValue)
            w.u16(UInt16(r.ids.count))
            for id in r.ids { w.bytes(id.bytes) }
        case .chunkData(let d):
            w.u8(MessageType.chunkData.rawValue)
            w.bytes(d.id.bytes)
            if let bytes = d.bytes {
                precondition(bytes.count <= MessageLimits.maxChunkPieceBytes && d.totalLength <= MessageLimits.maxChunkBytes)
                precondition(UInt64(d.offset) + UInt64(bytes.count) <= UInt64(d.totalLength))
                w.u8(1)
                w.u32(d.totalLength)
                w.u32(d.offset)
                w.u32(UInt32(bytes.count))
                w.bytes(bytes)
            } else {
                w.u8(0)
            }
        case .credit(let c):
            w.u8(MessageType.credit.rawValue)
            w.u32(c.bytes)
        case .done(let d):
            w.u8(MessageType.done.rawValue)
            w.vector(d.entries)
        case .error(let e):
            // Cut over-long text at a character boundary so the receiver still sees valid UTF-8.
            var valid = Array(e.text.utf8.prefix(MessageLimits.maxErrorTextBytes))
            while String(validating: valid, as: UTF8.self) == nil { valid.removeLast() }
            w.u8(MessageType.error.rawValue)
            w.u16(e.code.rawValue)
            w.u16(UInt16(valid.count))
            w.bytes(valid)
        case .ping(let p):
            w.u8(MessageType.ping.rawValue)
            w.u64(p.nonce)
            w.u8(p.reply ? 1 : 0)
        case .listening(let l):
            precondition(l.port > 0 && l.addresses.count <= MessageLimits.maxListeningAddresses)
            w.u8(MessageType.listening.rawValue)
            w.u16(l.port)
            w.u8(UInt8(l.addresses.count))
            for a in l.addresses {
                precondition(Listening.isValidAddress(a))
                w.u8(UInt8(a.utf8.count))
                w.bytes(Array(a.utf8))
            }
        case .unknownOptional(let type):
            precondition(type >= MessageType.firstOptional)
            w.u8(type)
        }
        precondition(w.out.count <= MessageLimits.maxMessageBytes, "message over the size limit")
        return w.out
    }

    /// Decodes one message, checking every limit and canonical-form rule of the SPEC.
    public static func decode(_ bytes: [UInt8]) throws(MessageError) -> Message {
        guard bytes.count <= MessageLimits.maxMessageBytes else {
            throw MessageError(.limitExceeded, "message of \(bytes.count) bytes is over the \(MessageLimits.maxMessageBytes)-byte limit")
        }
        var r = MessageReader(bytes)
        let typeByte = try r.u8("type")
        guard let type = MessageType(rawValue: typeByte) else {
            if typeByte >= MessageType.firstOptional { return .unknownOptional(type: typeByte) }
            throw MessageError(.unknownType, "unknown required message type 0x\(Hex.encode([typeByte]))")
        }
        let message: Message
        switch type {
        case .hello: message = .hello(try r.hello())
        case .summary: message = .summary(Summary(entries: try r.vector("Summary")))
        case .batchRequest: message = .batchRequest(BatchRequest(have: try r.vector("BatchRequest")))
        case .batches: message = .batches(try r.batches())
        case .chunkRequest: message = .chunkRequest(try r.chunkRequest())
        case .chunkData: message = .chunkData(try r.chunkData())
        case .credit:
            let n = try r.u32("Credit.bytes")
            guard n > 0 else { throw MessageError(.invalidField, "Credit of zero bytes") }
            message = .credit(Credit(bytes: n))
        case .done: message = .done(Done(entries: try r.vector("Done")))
        case .error: message = .error(try r.errorMessage())
        case .ping:
            let nonce = try r.u64("Ping.nonce")
            let flags = try r.u8("Ping.flags")
            guard flags <= 1 else { throw MessageError(.invalidField, "Ping flags 0x\(Hex.encode([flags])) has reserved bits set") }
            message = .ping(Ping(nonce: nonce, reply: flags == 1))
        case .listening: message = .listening(try r.listening())
        }
        guard r.remaining == 0 else {
            throw MessageError(.trailingBytes, "\(r.remaining) bytes after the end of a \(type) message")
        }
        return message
    }
}

/// Appends big-endian fields; only for messages (the frame codec has its own).
struct MessageWriter {
    var out: [UInt8] = []

    mutating func u8(_ v: UInt8) { out.append(v) }
    mutating func u16(_ v: UInt16) { out += [UInt8(v >> 8), UInt8(v & 0xff)] }
    mutating func u32(_ v: UInt32) { for s in stride(from: 24, through: 0, by: -8) { out.append(UInt8((v >> UInt32(s)) & 0xff)) } }
    mutating func u64(_ v: UInt64) { for s in stride(from: 56, through: 0, by: -8) { out.append(UInt8((v >> UInt64(s)) & 0xff)) } }
    mutating func bytes(_ b: [UInt8]) { out += b }

    mutating func vector(_ entries: [VectorEntry]) {
        precondition(entries.count <= MessageLimits.maxVectorEntries)
        u32(UInt32(entries.count))
        for e in entries {
            bytes(e.device.bytes)
            u32(e.epoch)
            u64(e.seq)
        }
    }

    mutating func batch(_ b: WireBatch) {
        precondition(b.signature.count == 64 && b.payload.count <= MessageLimits.maxBatchPayloadBytes)
        bytes(b.device.bytes)
        u32(b.epoch)
        u64(b.firstSeq)
        u64(b.lastSeq)
        u32(UInt32(b.payload.count))
        bytes(b.payload)
        bytes(b.signature)
    }
}

/// Bounds-checked big-endian reads; every failure names the field it was reading.
struct MessageReader {
    private let data: [UInt8]
    private var pos = 0

    init(_ data: [UInt8]) { self.data = data }

    var remaining: Int { data.count - pos }

    mutating func take(_ n: Int, _ field: String) throws(MessageError) -> ArraySlice<UInt8> {
        guard n <= remaining else {
            throw MessageError(.truncated, "\(field): needs \(n) bytes, \(remaining) left")
        }
        defer { pos += n }
        return data[pos..<(pos + n)]
    }

    mutating func u8(_ field: String) throws(MessageError) -> UInt8 { try take(1, field).first! }

    mutating func u16(_ field: String) throws(MessageError) -> UInt16 {
        try take(2, field).reduce(0) { $0 << 8 | UInt16($1) }
    }

    mutating func u32(_ field: String) throws(MessageError) -> UInt32 {
        try take(4, field).reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func u64(_ field: String) throws(MessageError) -> UInt64 {
        try take(8, field).reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func hash(_ field: String) throws(MessageError) -> Hash256 {
        Hash256(bytes: Array(try take(32, field)))!
    }

    /// A count prefix checked against its limit before anything is allocated for it.
    mutating func count32(_ field: String, limit: Int) throws(MessageError) -> Int {
        let n = Int(try u32(field))
        guard n <= limit else { throw MessageError(.limitExceeded, "\(field) = \(n), limit \(limit)") }
        return n
    }

    mutating func utf8(_ length: Int, _ field: String) throws(MessageError) -> String {
        let raw = Array(try take(length, field))
        guard let s = String(validating: raw, as: UTF8.self) else {
            throw MessageError(.badUTF8, "\(field) is not valid UTF-8")
        }
        return s
    }

    mutating func hello() throws(MessageError) -> Hello {
        let version = try u16("Hello.protocolVersion")
        guard version >= 1 else { throw MessageError(.invalidField, "Hello.protocolVersion 0 is not a version") }
        let pk = Array(try take(32, "Hello.publicKey"))
        let library = Array(try take(16, "Hello.library"))
        let epoch = try u32("Hello.epoch")
        let policyByte = try u8("Hello.policy")
        guard let policy = StoragePolicy(rawValue: policyByte) else {
            throw MessageError(.invalidField, "Hello.policy \(policyByte) is not a storage policy")
        }
        let len = Int(try u8("Hello.software length"))
        guard len <= MessageLimits.maxSoftwareBytes else {
            throw MessageError(.limitExceeded, "Hello.software length \(len), limit \(MessageLimits.maxSoftwareBytes)")
        }
        let software = try utf8(len, "Hello.software")
        return Hello(protocolVersion: version, publicKey: pk, library: library, epoch: epoch, policy: policy,
                     software: software)
    }

    mutating func vector(_ name: String) throws(MessageError) -> [VectorEntry] {
        let n = try count32("\(name).count", limit: MessageLimits.maxVectorEntries)
        guard n * 44 <= remaining else {
            throw MessageError(.truncated, "\(name): \(n) entries need \(n * 44) bytes, \(remaining) left")
        }
        var entries: [VectorEntry] = []
        entries.reserveCapacity(n)
        for i in 0..<n {
            let e = VectorEntry(device: try hash("\(name)[\(i)].device"), epoch: try u32("\(name)[\(i)].epoch"),
                                seq: try u64("\(name)[\(i)].seq"))
            guard e.seq > 0 else { throw MessageError(.invalidField, "\(name)[\(i)].seq is 0 (omit the entry instead)") }
            if let last = entries.last, !VectorEntry.precedes(last, e) {
                throw MessageError(.notCanonical, "\(name)[\(i)] is not after entry \(i - 1) (device, epoch order)")
            }
            entries.append(e)
        }
        return entries
    }

    mutating func batches() throws(MessageError) -> Batches {
        let flags = try u8("Batches.flags")
        guard flags <= 1 else { throw MessageError(.invalidField, "Batches flags 0x\(Hex.encode([flags])) has reserved bits set") }
        let n = try count32("Batches.count", limit: MessageLimits.maxBatchesPerMessage)
        var out: [WireBatch] = []
        for i in 0..<n {
            let f = "Batches[\(i)]"
            let device = try hash("\(f).device")
            let epoch = try u32("\(f).epoch")
            let first = try u64("\(f).firstSeq")
            let last = try u64("\(f).lastSeq")
            guard first >= 1, first <= last else {
                throw MessageError(.invalidField, "\(f): sequence range \(first)...\(last) is empty or starts at 0")
            }
            let len = try count32("\(f).payload length", limit: MessageLimits.maxBatchPayloadBytes)
            let payload = Array(try take(len, "\(f).payload"))
            let signature = Array(try take(64, "\(f).signature"))
            out.append(WireBatch(device: device, epoch: epoch, firstSeq: first, lastSeq: last, payload: payload,
                                 signature: signature))
        }
        return Batches(batches: out, complete: flags == 1)
    }

    mutating func chunkRequest() throws(MessageError) -> ChunkRequest {
        let n = Int(try u16("ChunkRequest.count"))
        guard n >= 1, n <= MessageLimits.maxChunkIDsPerRequest else {
            throw MessageError(.limitExceeded, "ChunkRequest.count = \(n), must be 1...\(MessageLimits.maxChunkIDsPerRequest)")
        }
        // SPEC 5.3 step 3, as for a Vector: the ids are all there before the first is judged.
        guard n * 32 <= remaining else {
            throw MessageError(.truncated, "ChunkRequest: \(n) ids need \(n * 32) bytes, \(remaining) left")
        }
        var ids: [Hash256] = []
        for i in 0..<n {
            let id = try hash("ChunkRequest.ids[\(i)]")
            if let last = ids.last, !(last < id) {
                throw MessageError(.notCanonical, "ChunkRequest.ids[\(i)] is not after id \(i - 1)")
            }
            ids.append(id)
        }
        return ChunkRequest(ids: ids)
    }

    mutating func chunkData() throws(MessageError) -> ChunkData {
        let id = try hash("ChunkData.id")
        let status = try u8("ChunkData.status")
        switch status {
        case 0: return .absent(id)
        case 1:
            let total = try count32("ChunkData.totalLength", limit: MessageLimits.maxChunkBytes)
            let offset = Int(try u32("ChunkData.offset"))
            let len = try count32("ChunkData.length", limit: MessageLimits.maxChunkPieceBytes)
            guard offset + len <= total, len > 0 || total == 0 else {
                throw MessageError(.invalidField, "ChunkData piece \(offset)+\(len) does not fit a \(total)-byte chunk")
            }
            let bytes = Array(try take(len, "ChunkData.bytes"))
            return ChunkData(id: id, totalLength: UInt32(total), offset: UInt32(offset), bytes: bytes)
        default:
            throw MessageError(.invalidField, "ChunkData.status \(status) is neither 0 (absent) nor 1 (present)")
        }
    }

    mutating func listening() throws(MessageError) -> Listening {
        let port = try u16("Listening.port")
        guard port > 0 else { throw MessageError(.invalidField, "Listening.port is 0 (must be 1...65535)") }
        let n = Int(try u8("Listening.count"))
        guard n <= MessageLimits.maxListeningAddresses else {
            throw MessageError(.limitExceeded, "Listening.count = \(n), limit \(MessageLimits.maxListeningAddresses)")
        }
        var addresses: [String] = []
        for i in 0..<n {
            // A one-byte length cannot exceed maxListeningAddressBytes (255).
            let len = Int(try u8("Listening.addresses[\(i)] length"))
            let a = try utf8(len, "Listening.addresses[\(i)]")
            guard Listening.isValidAddress(a) else {
                throw MessageError(.invalidField, "Listening.addresses[\(i)] \"\(a)\" is not host:port with a port 1...65535")
            }
            addresses.append(a)
        }
        return Listening(port: port, addresses: addresses)
    }

    mutating func errorMessage() throws(MessageError) -> ErrorMessage {
        let code = try u16("Error.code")
        let len = Int(try u16("Error.text length"))
        guard len <= MessageLimits.maxErrorTextBytes else {
            throw MessageError(.limitExceeded, "Error.text length \(len), limit \(MessageLimits.maxErrorTextBytes)")
        }
        return ErrorMessage(code: ErrorCode(rawValue: code), text: try utf8(len, "Error.text"))
    }
}

extension Message {
    /// Length of `encoded()` without building it (cheap for large Batches and ChunkData),
    /// which is what flow-control credit counts.
    public var encodedCount: Int {
        switch self {
        case .batches(let b): return 6 + b.batches.reduce(0) { $0 + 120 + $1.payload.count }
        case .chunkData(let d): return 34 + (d.bytes.map { 12 + $0.count } ?? 0)
        case .summary(let s): return 5 + 44 * s.entries.count
        case .batchRequest(let r): return 5 + 44 * r.have.count
        case .done(let d): return 5 + 44 * d.entries.count
        default: return encoded().count
        }
    }
}
