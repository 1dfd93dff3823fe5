import Catalog
import ChunkStore
import HearthCrypto
import SyncEngine
import Wire

extension Simulation {
    /// Checks, after quiescence, everything that must hold whatever the faults were.
    func checkInvariants() {
        let live = active()
        guard let first = live.first, let reference = first.catalog else {
            result.fail("no live member node at the end")
            return
        }
        do {
            let digest = try reference.digest()
            let finalVV = try reference.versionVector()
            for n in live.dropFirst() {
                if try n.catalog!.digest() != digest {
                    result.fail("convergence: \(n.name)'s catalog digest differs from \(first.name)'s")
                }
                if try n.catalog!.versionVector() != finalVV {
                    result.fail("convergence: \(n.name)'s version vector differs from \(first.name)'s")
                }
            }
            checkDots()
            checkCausalRegisterOrder()
            try checkAcknowledged(finalVV, digest: digest)
            try checkSets(reference, finalVV)
            try checkRegisters(reference, finalVV)
            for n in live { try checkChunks(n, live) }
            try checkMembership(live)
            try checkBounded(live)
        } catch {
            result.fail("invariant check could not read a catalog: \(error)")
        }
    }

    /// A dot is given out once: no two committed batches of one origin overlap.
    func checkDots() {
        var last: [Origin: UInt64] = [:]
        for c in history.commits {
            let b = c.batch
            if let l = last[b.origin], b.firstSeq <= l {
                result.fail("dot reuse: \(nodes[c.node].name) wrote \(b.origin) \(b.firstSeq)...\(b.lastSeq) after "
                            + "already giving out up to \(l) (a restored node reused an epoch)")
            }
            last[b.origin] = max(last[b.origin] ?? 0, b.lastSeq)
        }
    }

    /// Last-writer-wins follows causality whatever the clocks: a write made by a node that had
    /// already applied an earlier write of the same register carries the greater stamp, so it
    /// never loses to it on any node.
    func checkCausalRegisterOrder() {
        for (register, writes) in history.registerWrites.sorted(by: { $0.key < $1.key }) {
            for w in writes {
                for e in writes where e.stamp.dot != w.stamp.dot && w.vvBefore.covers(e.stamp.dot) {
                    result.count(stat: "causalRegisterPairs")
                    // The earlier write's clock read decades ahead (`SimOptions.wildClocks`).
                    if e.stamp.hlc >> 16 > UInt64(Self.farAhead / 2) { result.count(stat: "causalPairsOverFarClock") }
                    guard !(e.stamp < w.stamp) else { continue }
                    result.fail("causal LWW: \(register) write \(w.stamp.dot) was made after applying \(e.stamp.dot) "
                                + "but its clock \(w.stamp.hlc) does not beat \(e.stamp.hlc)")
                }
            }
        }
    }

    /// Every committed batch outside a restore's loss window is held, and a fresh replica that
    /// applies every held batch in commit order shows the same catalog.
    func checkAcknowledged(_ finalVV: VersionVector, digest: Hash256) throws {
        var r = SimRandom(seed: seed ^ 0x6f72_6163_6c65)
        let oracle = try Catalog.join(path: nil, library: library, identity: Identity.fromSeed(r.bytes(32)))
        for c in history.commits {
            let lastDot = Dot(origin: c.batch.origin, seq: c.batch.lastSeq)
            guard finalVV.covers(lastDot) else {
                if !history.mayBeLost(Dot(origin: c.batch.origin, seq: c.batch.firstSeq)) {
                    result.fail("acknowledged write lost: \(nodes[c.node].name)'s batch \(c.batch.origin) "
                                + "\(c.batch.firstSeq)...\(c.batch.lastSeq) is held by no live node")
                }
                continue
            }
            let report = try oracle.applyRemote([c.batch], now: now)
            if let bad = report.rejected.first {
                result.fail("oracle rejected \(nodes[c.node].name)'s batch \(c.batch.origin) \(c.batch.firstSeq): \(bad.reason)")
            }
        }
        if try oracle.digest() != digest {
            result.fail("oracle: replaying every surviving committed batch in commit order gives another digest")
        }
    }

    /// Observed-remove sets: an element is present exactly when some surviving add was not observed
    /// by any surviving remove (so a removal with no concurrent add stays removed).
    func checkSets(_ cat: Catalog, _ finalVV: VersionVector) throws {
        let keys = Set(history.adds.keys).union(history.removes.keys).sorted()
        for key in keys {
            let adds = (history.adds[key] ?? []).filter { finalVV.covers($0) }
            let removes = (history.removes[key] ?? []).filter { finalVV.covers($0.dot) }
            let expected = adds.contains { a in !removes.contains { $0.observed.covers(a) } }
            let present: Bool
            switch key {
            case .tag(let id, let tag):
                guard let a = try cat.asset(id), !a.purged else { continue }
                present = try cat.tags(of: id).contains(tag)
            case .album(let album, let id):
                guard let a = try cat.asset(id), !a.purged else { continue }
                present = try cat.assets(AssetFilter(scope: .all, album: album, limit: 100_000)).contains { $0.id == id }
            }
            if present != expected {
                result.fail("OR-set: \(key) is \(present ? "present" : "absent") but \(adds.count) adds and "
                            + "\(removes.count) removes say \(expected ? "present" : "absent")")
            }
        }
    }

    /// LWW registers: each field shows its highest-stamped surviving write, whatever imports of
    /// the same photo came before or after it (an edit always beats what an import read from
    /// the file; SPEC 11.5).
    func checkRegisters(_ cat: Catalog, _ finalVV: VersionVector) throws {
        for id in history.writes.keys.sorted() {
            guard let asset = try cat.asset(id), !asset.purged else { continue }
            for (field, writes) in history.writes[id]!.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                let surviving = writes.filter { finalVV.covers($0.stamp.dot) }
                guard let winner = surviving.max(by: { $0.stamp < $1.stamp }) else { continue }
                result.count(stat: "registersChecked")
                if asset.value(field) != winner.value {
                    result.fail("LWW: \(field) of \(id.hex.prefix(12)) is \(asset.value(field)), the latest write "
                                + "(\(nodes.first { $0.device == winner.stamp.dot.origin.device }?.name ?? "?")) set \(winner.value)")
                }
            }
        }
    }

    /// Every chunk a node's policy wants is present and verifies, unless no live node has it.
    func checkChunks(_ n: SimNode, _ live: [SimNode]) throws {
        let wanted = try n.catalog!.syncWantedChunks(policy: n.policy)
        // What the policy wants, worked out independently of sync: every asset in every view.
        var expected = Set<Hash256>()
        for a in try n.catalog!.assets(AssetFilter(scope: .all)) {
            for (kind, ref) in a.objects where n.policy.keeps(kind) { expected.formUnion(ref.chunks) }
        }
        let missed = expected.subtracting(wanted)
        if !missed.isEmpty {
            result.fail("chunks: sync on \(n.name) does not want \(missed.count) chunks its catalog's assets reference")
        }
        for id in try n.chunks.missing(of: wanted) {
            if try live.contains(where: { try $0.chunks.hasChunk(id) }) {
                result.fail("chunks: \(n.name) (\(n.policy)) lacks chunk \(id.hex.prefix(12)) that a live node holds")
            } else if try nodes.contains(where: { n in try n.standing == .departed && n.chunks.hasChunk(id) }) {
                result.count(stat: "chunksOnlyOnDepartedNode")
            } else {
                result.fail("chunks: chunk \(id.hex.prefix(12)) wanted by \(n.name) is held by no node")
            }
        }
        let report = try n.chunks.verify()
        if !report.isClean {
            result.fail("chunks: \(n.name)'s store does not verify: \(report.problems.first!)")
        }
    }

    /// Nobody holds a change from a non-member, refuses to let one in, or applies one handed to it.
    func checkMembership(_ live: [SimNode]) throws {
        var r = SimRandom(seed: seed ^ 0x696e_7472)
        let foreign = try Catalog.create(path: nil, identity: intruder, personName: "intruder", nonce: r.bytes(16), now: now)
        // Batches of a device that was never a member must be refused by everyone. The leaver's
        // last batch (written before it learned of its removal) is *valid* under causal
        // authorization: what keeps it out is the transport, which refuses removed devices, so
        // the check below is that no node came to hold it through the network.
        let bad = try foreign.batches(missingFrom: VersionVector())
        if let l = leaver, nodes[l].standing == .departed, let lcat = nodes[l].catalog, let admin = nodes[0].catalog {
            // Once the leaver hears of its removal, it can no longer write at all.
            _ = try lcat.applyRemote(try admin.batches(missingFrom: try lcat.versionVector()), now: nodeNow(nodes[l]))
            if let a = try lcat.assets(AssetFilter(scope: .all, limit: 1)).first,
               (try? lcat.commit([.setRating(a.id, 2)], now: nodeNow(nodes[l]))) != nil {
                result.fail("membership: the removed \(nodes[l].name) could still commit after learning of its removal")
            }
        }
        for n in live {
            let cat = n.catalog!
            let before = try cat.versionVector()
            if before.sorted.contains(where: { $0.origin.device == intruder.deviceID }) {
                result.fail("membership: \(n.name) holds changes from a device that was never a member")
            }
            for b in history.forbidden where before.covers(Dot(origin: b.origin, seq: b.lastSeq)) {
                result.fail("membership: \(n.name) accepted a batch the removed \(b.origin) wrote after its removal")
            }
            let report = try cat.applyRemote(bad, now: nodeNow(n))
            if try report.rejected.count != bad.count || cat.versionVector() != before {
                result.fail("membership: \(n.name) applied \(bad.count - report.rejected.count) batches from non-members")
            }
            if let l = leaver, nodes[l].standing == .departed {
                nodes[l].alive = true
                if handshakeAlone(nodes[l], n) == nil {
                    result.fail("membership: \(n.name) let the removed \(nodes[l].name) connect")
                }
            }
        }
    }

    /// Metadata stays bounded: no batches left waiting, no more log rows or origins than were written.
    func checkBounded(_ live: [SimNode]) throws {
        let origins = Set(history.commits.map(\.batch.origin))
        for n in live {
            let cat = n.catalog!
            let pending = try cat.applyRemote([], now: nodeNow(n)).pending
            let mayWait = history.commits.filter { history.mayBeLost(Dot(origin: $0.batch.origin, seq: $0.batch.firstSeq)) }.count
            if pending > mayWait {
                result.fail("bounded: \(n.name) still holds \(pending) pending batches after quiescence")
            }
            let vv = try cat.versionVector()
            if vv.entries.count > origins.count {
                result.fail("bounded: \(n.name)'s version vector has \(vv.entries.count) origins, \(origins.count) ever wrote")
            }
            let logged = try cat.counts().batches
            if logged > history.commits.count {
                result.fail("bounded: \(n.name) logs \(logged) batches, \(history.commits.count) were ever committed")
            }
        }
    }
}
