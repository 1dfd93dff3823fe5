import Catalog
import HearthCrypto
import SyncEngine
import Wire

/// Families where some devices run an older release (`SimOptions.olderNodes`).
///
/// An older node opens its catalog at format level 1: it keeps, without applying, what the
/// newer nodes write of level 2 (a `thumbhash` on some imports). Odd-numbered older nodes also
/// speak protocol 1, as release 6847644 does: they are never sent a payload version 3 batch nor
/// the same origin's later batches. Once the family is quiet the simulator checks that the older
/// nodes converged on what they understand, upgrades them in place, lets the family sync again
/// and then checks every usual invariant on everyone.
extension Simulation {
    /// Whether `n` runs the older release (the founder never does: it writes the member list,
    /// and an older peer must keep learning it).
    func isOlder(_ n: SimNode) -> Bool {
        !olderUpgraded && n.index != 0 && n.index >= nodes.count - options.olderNodes
    }

    func formatLevel(_ n: SimNode) -> UInt16 { isOlder(n) ? CatalogFormat.base : CatalogFormat.current }

    func protocolMax(_ n: SimNode) -> UInt16 {
        isOlder(n) && n.index % 2 == 1 ? ProtocolVersion.v1 : MessageLimits.protocolVersion
    }

    /// The level 2 edits a newer node adds to an import: a quarter of its photos get a thumbhash,
    /// chosen by the photo's bytes so the seed's draws are the same with or without older nodes.
    func newerImportEdits(_ n: SimNode, _ id: Hash256, _ bytes: [UInt8]) -> [Edit] {
        guard options.olderNodes > 0, n.index != 0, !isOlder(n) else { return [] }
        let h = Blake2b.hash(bytes + Array("thumbhash".utf8))
        guard h[0] & 3 == 0 else { return [] }
        return [.setField(id, .thumbhash, .text(Hex.encode(Array(h.prefix(12)))))]
    }

    /// A node speaking protocol 1 refuses a payload version 3 batch (release 6847644 does): the
    /// session must never send one on such a connection.
    func checkOlderPeerCanRead(_ c: Conn, to: Int, _ m: Message) {
        guard case .batches(let b) = m, c.sessions[to].protocolVersion < ProtocolVersion.v2,
              let bad = b.batches.first(where: { $0.payload.first != 2 }) else { return }
        result.fail("mixed versions: \(nodes[c.ends[1 - to]].name) sent \(nodes[c.ends[to]].name), which speaks protocol 1, "
                    + "batch \(bad.device.hex.prefix(8))/\(bad.epoch) \(bad.firstSeq) with payload version \(bad.payload.first ?? 0)")
    }

    /// At the first quiescence: older nodes hold what they may be given and show what they
    /// understand of it; then they are upgraded (opened at the current level, protocol 2).
    func checkOlderNodesAndUpgrade() {
        let live = active()
        guard let reference = live.first(where: { !isOlder($0) })?.catalog else { return }
        do {
            let full = try reference.versionVector()
            let capped = try reference.versionVector(maxPayloadVersion: 2)
            let understood = try reference.digest(format: CatalogFormat.base)
            var r = SimRandom(seed: seed ^ 0x6f6c_6465_72)
            for n in live where isOlder(n) {
                let cat = n.catalog!
                let vv = try cat.versionVector()
                result.count(stat: "olderNodesChecked")
                if protocolMax(n) >= ProtocolVersion.v2 {
                    if vv != full {
                        result.fail("mixed versions: \(n.name) (format 1, protocol 2) holds another version vector than the newer nodes")
                    }
                    if try cat.digest(format: CatalogFormat.base) != understood {
                        result.fail("mixed versions: \(n.name) (format 1, protocol 2) shows another catalog than what the "
                                    + "newer nodes hold of format 1")
                    }
                    let kept = try cat.deferredChangeCount()
                    if kept > 0 { result.count(stat: "olderKeptChanges") }
                } else {
                    if vv != capped {
                        result.fail("mixed versions: \(n.name) (protocol 1) does not hold exactly each origin's batches "
                                    + "before its first payload version 3 batch")
                    }
                    // What those batches make for a format 1 node.
                    let oracle = try Catalog.join(path: nil, library: library, identity: Identity.fromSeed(r.bytes(32)),
                                                  formatLevel: CatalogFormat.base)
                    try oracle.applyRemote(reference.batches(missingFrom: VersionVector(), maxPayloadVersion: 2), now: now)
                    if try oracle.digest() != cat.digest() || oracle.versionVector() != vv {
                        result.fail("mixed versions: \(n.name) (protocol 1) shows another catalog than its batches make")
                    }
                }
            }
            let older = nodes.filter { isOlder($0) && $0.catalog != nil }
            olderUpgraded = true
            for n in older {
                closeAll(of: n)
                n.catalog = try n.catalog!.upgraded(to: CatalogFormat.current)
                result.count(stat: "olderNodesUpgraded")
                trace.add("upgrade \(now) \(n.name)")
            }
        } catch {
            result.fail("mixed versions: could not check or upgrade an older node: \(error)")
        }
    }
}
