import Catalog
import HearthCrypto
import Wire

extension VersionVector {
    /// Wire form: canonical (sorted) entries.
    var wireEntries: [VectorEntry] {
        sorted.map { VectorEntry(device: $0.origin.device.hash, epoch: $0.origin.epoch, seq: $0.seq) }
    }

    init(wire entries: [VectorEntry]) {
        var v = VersionVector()
        for e in entries { v[Origin(device: DeviceID(hash: e.device), epoch: e.epoch)] = e.seq }
        self = v
    }
}

extension SignedBatch {
    var wire: WireBatch {
        WireBatch(device: origin.device.hash, epoch: origin.epoch, firstSeq: firstSeq, lastSeq: lastSeq,
                  payload: payload, signature: signature)
    }

    init(wire b: WireBatch) {
        self.init(origin: Origin(device: DeviceID(hash: b.device), epoch: b.epoch), firstSeq: b.firstSeq,
                  lastSeq: b.lastSeq, payload: b.payload, signature: b.signature)
    }

    var changeCount: UInt64 { lastSeq - firstSeq + 1 }
}
