import Catalog
import ChunkStore
import HearthCrypto
import Wire

extension SyncSession {
    /// Acts on one message from the peer; throws the error to close with.
    mutating func receive(_ m: Message, _ out: inout [SyncEffect]) throws {
        summary.messageBytesReceived += m.encodedCount
        switch m {
        case .hello:
            throw SyncError(.unexpectedMessage, "\(peerName) sent a second Hello")
        case .summary(let s):
            peerSummary = VersionVector(wire: s.entries)
        case .batchRequest(let r):
            guard serving == nil else {
                throw SyncError(.unexpectedMessage, "\(peerName) sent a BatchRequest before the last one was answered")
            }
            serving = VersionVector(wire: r.have)
        case .batches(let b):
            try receiveBatches(b, size: m.encodedCount, &out)
        case .chunkRequest(let r):
            let queued = peerChunkQueue.count - peerChunkHead
            guard queued + r.ids.count <= Self.maxPeerChunkRequests * MessageLimits.maxChunkIDsPerRequest else {
                throw SyncError(.limitExceeded, "\(peerName) has more than \(Self.maxPeerChunkRequests) ChunkRequests outstanding")
            }
            if peerChunkHead > 4096 {
                peerChunkQueue.removeFirst(peerChunkHead)
                peerChunkHead = 0
            }
            peerChunkQueue += r.ids
            chunks.syncWillRead(r.ids)
        case .chunkData(let d):
            try receiveChunk(d, size: m.encodedCount, &out)
        case .credit(let c):
            sendCredit += Int(c.bytes)
            guard sendCredit <= Self.maxGrant else {
                throw SyncError(.limitExceeded, "\(peerName) granted \(sendCredit) bytes of credit, over the \(Self.maxGrant)-byte limit")
            }
        case .done(let d):
            peerDone = VersionVector(wire: d.entries)
        case .error(let e) where e.code == .shuttingDown:
            // SPEC 7.2: the peer ends the session early; as orderly as closing the connection.
            throw SyncError(.connectionLost, "\(peerName) ended the session (shutting-down\(e.text.isEmpty ? "" : ": \(e.text)"))")
        case .error(let e):
            throw SyncError(.closedByPeer, "\(peerName) closed the session: \(e.code) \(e.text)")
        case .ping(let p):
            if !p.reply { send(.ping(Ping(nonce: p.nonce, reply: true)), &out) }
        case .listening, .unknownOptional:
            // Optional hints: Listening is the transport's business (the peer's address), not the session's.
            break
        }
    }

    /// Checked before acting on data, so an over-credit message changes nothing.
    func checkCredit(_ size: Int) throws {
        guard size <= granted else {
            throw SyncError(.creditExceeded, "\(peerName) sent a \(size)-byte message with \(granted) bytes of credit left")
        }
    }

    /// Counts received data against the credit we granted, and grants more once half is used.
    mutating func consume(_ size: Int, _ out: inout [SyncEffect]) throws {
        granted -= size
        guard granted >= 0 else {
            throw SyncError(.creditExceeded, "\(peerName) sent \(-granted) bytes more than its credit")
        }
        consumedSinceGrant += size
        if consumedSinceGrant >= config.creditWindow / 2 {
            let n = consumedSinceGrant
            consumedSinceGrant = 0
            grant(n, &out)
        }
    }

    mutating func receiveBatches(_ b: Batches, size: Int, _ out: inout [SyncEffect]) throws {
        guard batchRequestOutstanding else {
            throw SyncError(.unexpectedMessage, "\(peerName) sent Batches without a BatchRequest (replayed or reordered)")
        }
        try checkCredit(size)
        let batches = b.batches.map(SignedBatch.init(wire:))
        if !batches.isEmpty {
            let rejected = try catalog.syncApply(batches, now: wallMillis)
            if let r = rejected.first {
                let code: SyncError.Code = r.reason == .notAllowedToWrite ? .unauthorizedWrite : .badBatch
                throw SyncError(code, "\(peerName) sent a bad \(r)")
            }
            summary.batchesReceived += batches.count
            summary.changesReceived += batches.reduce(0) { $0 + $1.changeCount }
            out.append(.catalogChanged)
        }
        try consume(size, &out)
        if b.complete {
            batchRequestOutstanding = false
            // May have grown past what the peer sent (batches released from pending, a local
            // commit meanwhile): `pump` announces it.
            try refreshVector()
        }
    }

    mutating func receiveChunk(_ d: ChunkData, size: Int, _ out: inout [SyncEffect]) throws {
        guard awaitingHead < awaiting.count, awaiting[awaitingHead] == d.id else {
            throw SyncError(.unexpectedMessage, "\(peerName) sent chunk \(d.id.hex.prefix(16)) that is not the next one asked for")
        }
        if let piece = d.bytes {
            if incoming.isEmpty { incomingTotal = d.totalLength }
            guard Int(d.offset) == incoming.count, d.totalLength == incomingTotal else {
                throw SyncError(.unexpectedMessage, "\(peerName) sent chunk \(d.id.hex.prefix(16)) piece at \(d.offset), expected \(incoming.count)")
            }
            try checkCredit(size)
            let bytes: [UInt8]
            if incoming.isEmpty && d.isLast {
                bytes = piece // the whole chunk in one piece: no copy
            } else {
                incoming += piece
                if !d.isLast {
                    try consume(size, &out)
                    return
                }
                bytes = incoming
                incoming = []
            }
            // A store that checks on put (the real one) is not made to hash twice; see `storeReceived`.
            guard chunks.syncChecksOnPut || Blake2b.hash256(bytes) == d.id else {
                summary.chunksRejected += 1
                try storeReceived() // what verified before it is kept
                throw SyncError(.protocolViolation, "\(peerName) sent bytes for chunk \(d.id.hex.prefix(16)) that hash to something else")
            }
            unstored.append((d.id, bytes))
            unstoredBytes += bytes.count
            if unstoredBytes >= config.storeBatchBytes { try storeReceived() }
        } else {
            guard incoming.isEmpty else {
                throw SyncError(.unexpectedMessage, "\(peerName) said chunk \(d.id.hex.prefix(16)) is absent after sending part of it")
            }
            unavailable.insert(d.id)
            summary.chunksUnavailable += 1
        }
        try consume(size, &out)
        awaitingHead += 1
        if awaitingHead == awaiting.count {
            awaiting.removeAll(keepingCapacity: true)
            awaitingHead = 0
        }
        requestsOutstanding[0] -= 1
        if requestsOutstanding[0] == 0 {
            requestsOutstanding.removeFirst()
            try storeReceived()
        }
    }

    /// Stores the verified chunks held in memory, in one batch. The summary counts chunks
    /// received once they are stored: what a broken connection loses is asked for again.
    mutating func storeReceived() throws {
        guard !unstored.isEmpty else { return }
        do {
            try chunks.syncPut(batch: unstored)
        } catch let e as ChunkStoreError where e.code == .hashMismatch || e.code == .tooLarge {
            // The store took none of the batch: keep every chunk that verifies, then end the session.
            let good = unstored.filter { $0.bytes.count <= MessageLimits.maxChunkBytes && Blake2b.hash256($0.bytes) == $0.id }
            summary.chunksRejected += unstored.count - good.count
            if !good.isEmpty { try chunks.syncPut(batch: good) }
            summary.chunksReceived += good.count
            summary.chunkBytesReceived += good.reduce(0) { $0 + $1.bytes.count }
            unstored.removeAll(keepingCapacity: true)
            unstoredBytes = 0
            throw SyncError(.protocolViolation, "\(peerName) sent a chunk whose bytes do not match its id (\(e.message))")
        }
        summary.chunksReceived += unstored.count
        summary.chunkBytesReceived += unstoredBytes
        unstored.removeAll(keepingCapacity: true)
        unstoredBytes = 0
    }

    /// Where the transfer stands (see `SyncProgress`).
    public var progress: SyncProgress {
        var p = SyncProgress()
        p.changesReceived = summary.changesReceived
        p.chunksReceived = summary.chunksReceived + unstored.count
        p.chunkBytesReceived = summary.chunkBytesReceived + unstoredBytes
        p.chunksToCome = wanted.count + (awaiting.count - awaitingHead)
        return p
    }
}
