import Catalog
import ChunkStore
import HearthCrypto
import Wire

extension SyncSession {
    /// After every input: ask for what we lack, answer within credit, detect Done and convergence.
    mutating func pump(_ out: inout [SyncEffect]) throws {
        // Tell the peer whenever we hold something it may lack, whatever made our vector grow: a
        // local commit, another session's batches, or a pull that finished after such a commit.
        if offered != lastAnnounced, !(peerSummary?.dominates(offered) ?? false),
           !(peerDone?.dominates(offered) ?? false) {
            announce(&out)
        }
        if let peer = peerSummary, !batchRequestOutstanding, !myVector.dominates(peer) {
            batchRequestOutstanding = true
            send(.batchRequest(BatchRequest(have: myVector.wireEntries)), &out)
        }
        try serve(&out)
        let caughtUp = !batchRequestOutstanding && (peerSummary.map { myVector.dominates($0) } ?? false)
        if caughtUp { try requestChunks(&out) }
        guard caughtUp, requestsOutstanding.isEmpty, wanted.isEmpty else { return }
        if lastDoneSent != offered {
            lastDoneSent = offered
            send(.done(Done(entries: offered.wireEntries)), &out)
        }
        let idle = serving == nil && held == nil && outgoingChunk == nil && peerChunkHead == peerChunkQueue.count
        if idle, peerDone == offered, convergedAt != offered {
            convergedAt = offered
            out.append(.converged(summary))
        }
    }

    /// Sends a Summary of what the peer may be offered (`offered`).
    mutating func announce(_ out: inout [SyncEffect]) {
        lastAnnounced = offered
        send(.summary(Summary(entries: offered.wireEntries)), &out)
    }

    /// Sends answers (batches first, then chunks) while credit lasts; holds the first that does not fit.
    mutating func serve(_ out: inout [SyncEffect]) throws {
        while true {
            let next: Message
            if let h = held {
                next = h
            } else if let m = try nextBatches() {
                next = m
            } else if let piece = try nextChunkPiece() {
                next = piece
            } else {
                return
            }
            let size = next.encodedCount
            guard size <= sendCredit else {
                held = next
                return
            }
            held = nil
            sendCredit -= size
            switch next {
            case .batches(let b):
                summary.batchesSent += b.batches.count
                summary.changesSent += b.batches.reduce(0) { $0 + $1.lastSeq - $1.firstSeq + 1 }
            case .chunkData(let d):
                if let bytes = d.bytes {
                    summary.chunksSent += d.offset == 0 ? 1 : 0
                    summary.chunkBytesSent += bytes.count
                }
            default: break
            }
            send(next, &out)
        }
    }

    /// The next piece of the chunk being sent, or the first of the next chunk asked for.
    mutating func nextChunkPiece() throws -> Message? {
        if outgoingChunk == nil {
            guard peerChunkHead < peerChunkQueue.count else { return nil }
            let id = peerChunkQueue[peerChunkHead]
            peerChunkHead += 1
            let read: [UInt8]?
            do {
                read = try chunks.syncRead(id)
            } catch let e as ChunkStoreError where e.code == .corrupt {
                // Bit rot here: never sent. The peer hears "absent" and fetches it elsewhere.
                summary.chunksDamagedHere.append(e.message)
                read = nil
            }
            guard let bytes = read else { return .chunkData(.absent(id)) }
            precondition(bytes.count <= MessageLimits.maxChunkBytes, "chunk store holds a chunk over the limit")
            outgoingChunk = (id, bytes, 0)
        }
        let (id, bytes, offset) = outgoingChunk!
        let end = min(bytes.count, offset + MessageLimits.maxChunkPieceBytes)
        outgoingChunk = end == bytes.count ? nil : (id, bytes, end)
        let piece = offset == 0 && end == bytes.count ? bytes : Array(bytes[offset..<end]) // whole chunks are not copied
        return .chunkData(ChunkData(id: id, totalLength: UInt32(bytes.count), offset: UInt32(offset), bytes: piece))
    }

    /// The next part of the answer to the peer's BatchRequest, advancing the cursor past it.
    mutating func nextBatches() throws -> Message? {
        guard let cursor = serving else { return nil }
        var batches = try catalog.syncBatches(missingFrom: cursor, maxBytes: config.batchBytesPerMessage,
                                              forPeerProtocol: protocolVersion)
        if batches.isEmpty {
            serving = nil
            return .batches(Batches(batches: [], complete: true))
        }
        // Keep the message within the limits whatever the catalog returned.
        var bytes = 6
        var keep = 0
        for b in batches where keep < MessageLimits.maxBatchesPerMessage {
            let size = 120 + b.payload.count
            if keep > 0 && bytes + size > MessageLimits.maxMessageBytes { break }
            precondition(size + 6 <= MessageLimits.maxMessageBytes, "catalog batch over the message limit")
            bytes += size
            keep += 1
        }
        batches.removeLast(batches.count - keep)
        var next = cursor
        for b in batches where b.lastSeq > next[b.origin] { next[b.origin] = b.lastSeq }
        precondition(next != cursor, "catalog returned batches the requester already holds")
        serving = next
        return .batches(Batches(batches: batches.map(\.wire), complete: false))
    }

    /// Asks for chunks our policy wants and our store lacks, a few requests at a time.
    mutating func requestChunks(_ out: inout [SyncEffect]) throws {
        if wantedFor != myVector {
            try storeReceived() // so that the store, not this buffer, says what is missing
            wantedFor = myVector
            let inFlight = Set(awaiting[awaitingHead...])
            wanted = try chunks.syncMissing(try catalog.syncWantedChunks(policy: config.policy))
                .filter { !unavailable.contains($0) && !inFlight.contains($0) }
            wanted.reverse() // taken from the end, so requests go out in ascending order
        }
        while requestsOutstanding.count < config.maxOutstandingChunkRequests, !wanted.isEmpty {
            let n = min(config.chunkIDsPerRequest, wanted.count)
            let ids = Array(wanted.suffix(n).reversed())
            wanted.removeLast(n)
            awaiting += ids
            requestsOutstanding.append(ids.count)
            send(.chunkRequest(ChunkRequest(ids: ids)), &out)
        }
    }
}
