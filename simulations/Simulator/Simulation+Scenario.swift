import Catalog
import HearthCrypto
import Wire

extension Simulation {
    // MARK: Workload

    /// One user action on a random live member: imports (sometimes the same photo on two nodes at
    /// once), field edits (sometimes conflicting on two nodes at once), albums, tags, trash, purge.
    func work() {
        let writers = active().filter(\.alive)
        guard let n = workRandom.pick(writers), let cat = n.catalog else { return }
        let roll = workRandom.int(0...99)
        // The asset an action works on: one of the newest 500, drawn here for every action so a seed
        // replays the same draws, but read only by the actions that use it (reading 500 assets for
        // each action was the simulator's largest cost).
        let count = (try? cat.counts()).map { min(500, $0.library + $0.archived + $0.trashed) } ?? 0
        let index = count > 0 ? workRandom.int(0...(count - 1)) : nil
        var asset: Asset? { index.flatMap { try? cat.assets(AssetFilter(scope: .all, limit: 1, offset: $0)).first } }
        switch roll {
        case 0..<22:
            importPhoto(on: n, newPhoto())
        case 22..<30:
            // The same photo imported on two nodes at the same instant.
            let photo = workRandom.chance(0.5) ? (workRandom.pick(photos) ?? newPhoto()) : newPhoto()
            importPhoto(on: n, photo)
            if let other = workRandom.pick(writers.filter { $0 !== n }) { importPhoto(on: other, photo) }
        case 30..<50:
            guard let a = asset else { return }
            commit(n, [randomFieldEdit(a.id)])
        case 50..<56:
            // Conflicting edits of one field on two nodes at the same instant.
            guard let a = asset else { return }
            let edit = randomFieldEdit(a.id)
            commit(n, [edit])
            for other in writers where other !== n && (try? other.catalog?.asset(a.id)) != nil {
                commit(other, [randomFieldEdit(a.id, like: edit)])
                break
            }
        case 56..<60:
            var id = [UInt8](repeating: 0, count: 16)
            id = workRandom.bytes(16)
            let album = AlbumID(bytes: id)!
            if commit(n, [.createAlbum(album, name: "Album \(albums.count)")]) != nil { albums.append(album) }
        case 60..<70:
            guard let a = asset, let album = workRandom.pick(albums) else { return }
            commit(n, [.addToAlbum(album, a.id)])
        case 70..<75:
            guard let album = workRandom.pick(albums),
                  let inAlbum = try? cat.assets(AssetFilter(scope: .all, album: album, limit: 100)),
                  let a = workRandom.pick(inAlbum) else { return }
            commit(n, [.removeFromAlbum(album, a.id)])
        case 75..<85:
            guard let a = asset else { return }
            commit(n, [.addTag(a.id, workRandom.pick(["Places", "Places/Japan", "People", "Pets", "Food"])!)])
        case 85..<90:
            guard let a = asset, let tag = workRandom.pick((try? cat.tags(of: a.id)) ?? []) else { return }
            commit(n, [.removeTag(a.id, tag)])
        case 90..<94:
            guard let a = asset else { return }
            commit(n, [a.trashedAt == nil ? .trash(a.id) : .restore(a.id)])
        case 94..<97:
            guard let trashed = try? cat.assets(AssetFilter(scope: .trashed, limit: 50)),
                  let a = workRandom.pick(trashed) else { return }
            commit(n, [.purge(a.id)])
        case 97..<99:
            guard let album = workRandom.pick(albums) else { return }
            commit(n, [workRandom.chance(0.5) ? .renameAlbum(album, "Renamed \(workRandom.int(0...99))") : .deleteAlbum(album)])
        default:
            guard let a = asset else { return }
            commit(n, [.setFavorite(a.id, true), .setRating(a.id, workRandom.int(0...5)), .addTag(a.id, "Multi")])
        }
    }

    func newPhoto() -> [UInt8] {
        let size = workRandom.chance(0.05) ? workRandom.int(20_000...150_000) : workRandom.int(32...4_096)
        let bytes = workRandom.bytes(size)
        photos.append(bytes)
        return bytes
    }

    /// A large library on `n` before any fault: `count` small photos with thumbnails, 500 to a
    /// commit (a folder import), some archived and some trashed, so that sync must carry every
    /// asset's chunks whatever its view and however many there are.
    func preload(_ n: SimNode, _ count: Int) {
        var done = 0
        while done < count {
            var edits: [Edit] = []
            for _ in 0..<min(500, count - done) {
                let bytes = workRandom.bytes(workRandom.int(32...512))
                guard let obj = try? n.chunks.store(bytes: bytes),
                      let thumb = try? n.chunks.store(bytes: Array(Blake2b.hash(bytes, outputLength: 64)) + Array("thumb".utf8))
                else { result.fail("\(n.name): chunk store refused a preload"); return }
                let imp = AssetImport(id: obj.id, fileName: "IMG_\(done).JPG",
                                      original: ObjectRef(id: obj.id, size: obj.size, chunks: obj.chunks),
                                      fields: [.bytes: .int(Int64(bytes.count)), .mimeType: .text("image/jpeg")])
                edits += [.importAsset(imp), .setThumbnail(obj.id, ObjectRef(id: thumb.id, size: thumb.size, chunks: thumb.chunks))]
                if done % 10 == 3 { edits.append(.setField(obj.id, .archived, .bool(true))) }
                if done % 10 == 7 { edits.append(.trash(obj.id)) }
                done += 1
            }
            _ = commit(n, edits)
        }
        result.count(stat: "preloaded", done)
    }

    /// Stores the bytes (and a thumbnail) in the node's chunk store, then commits the import.
    func importPhoto(on n: SimNode, _ bytes: [UInt8]) {
        do {
            let obj = try n.chunks.store(bytes: bytes)
            let thumb = try n.chunks.store(bytes: Array(Blake2b.hash(bytes, outputLength: 64)) + Array("thumb".utf8))
            let imp = AssetImport(id: obj.id, fileName: "IMG_\(workRandom.int(0...9_999)).JPG",
                                  original: ObjectRef(id: obj.id, size: obj.size, chunks: obj.chunks),
                                  fields: [.bytes: .int(Int64(bytes.count)), .mimeType: .text("image/jpeg")])
            commit(n, [.importAsset(imp), .setThumbnail(obj.id, ObjectRef(id: thumb.id, size: thumb.size, chunks: thumb.chunks))]
                   + newerImportEdits(n, obj.id, bytes))
            let people = peopleEdits(n, bytes)
            if !people.isEmpty {
                if commit(n, people) != nil { result.count(stat: "peopleEdits") }
            }
        } catch {
            result.fail("\(n.name): chunk store refused an import: \(error)")
        }
    }

    func randomFieldEdit(_ id: Hash256, like: Edit? = nil) -> Edit {
        var field = workRandom.int(0...2)
        if case .setField(_, let f, _) = like { field = f == .rating ? 0 : f == .description ? 1 : 2 }
        switch field {
        case 0: return .setRating(id, workRandom.int(0...5))
        case 1: return .setDescription(id, workRandom.chance(0.2) ? nil : "note \(workRandom.int(0...999))")
        default: return .setFavorite(id, workRandom.chance(0.5))
        }
    }

    // MARK: Faults

    func injectFault() {
        let roll = faultRandom.int(0...99)
        switch roll {
        case 0..<25: crash()
        case 25..<45: partitionNetwork()
        case 45..<60: clockJump()
        case 60..<72: takeSnapshot()
        case 72..<85: restoreFromSnapshot()
        case 85..<92: lateJoin()
        default: leave()
        }
    }

    func crash() {
        guard let n = faultRandom.pick(nodes.filter { $0.alive && $0.standing != .departed }) else { return }
        n.alive = false
        closeAll(of: n)
        result.count(fault: "crash")
        trace.add("crash \(now) \(n.name)")
        queue.push(now + faultRandom.int64(1_000...60_000), .restart(n.index))
    }

    func partitionNetwork() {
        guard partition == nil, nodes.count > 1 else { return }
        var groups = nodes.map { _ in faultRandom.int(0...1) }
        if Set(groups).count == 1 { groups[faultRandom.int(0...(nodes.count - 1))] ^= 1 }
        partition = groups
        for c in conns where partitioned(c.ends[0], c.ends[1]) { close(c, "partition") }
        result.count(fault: "partition")
        trace.add("partition \(now) \(groups)")
        queue.push(now + faultRandom.int64(5_000...120_000), .healPartition)
    }

    func clockJump() {
        guard plan.maxSkew > 0, let n = faultRandom.pick(nodes) else { return }
        n.skew = faultRandom.int64(-plan.maxSkew...plan.maxSkew)
        if options.wildClocks, faultRandom.chance(0.3) {
            n.skew = faultRandom.chance(0.5) ? Self.farAhead : -Self.farBehind
            result.count(fault: "farClockJump")
        }
        result.count(fault: "clockJump")
        trace.add("clock \(now) \(n.name) \(n.skew)")
    }

    /// Keeps an old backup: a later snapshot replaces it only now and then.
    func takeSnapshot() {
        guard let n = faultRandom.pick(active()), let cat = n.catalog,
              n.snapshot == nil || faultRandom.chance(0.3) else { return }
        do {
            n.snapshot = try cat.batches(missingFrom: VersionVector())
            trace.add("snapshot \(now) \(n.name) \(n.snapshot!.count)")
        } catch {
            result.fail("\(n.name): snapshot failed: \(error)")
        }
    }

    /// The node's database is replaced by an older snapshot: whatever it committed since and nobody
    /// else holds is gone, and it must write under a new epoch.
    func restoreFromSnapshot() {
        guard let n = faultRandom.pick(active().filter { $0.snapshot != nil }), let old = n.catalog,
              let snap = n.snapshot else { return }
        closeAll(of: n)
        do {
            let fresh = try Catalog.join(path: nil, library: library, identity: n.identity, formatLevel: formatLevel(n))
            let report = try fresh.applyRemote(snap, now: nodeNow(n))
            if !report.rejected.isEmpty || report.pending > 0 {
                result.fail("\(n.name): restoring a snapshot of its own catalog rejected \(report.rejected.count) "
                            + "and left \(report.pending) batches pending")
            }
            let oldVV = try old.versionVector()
            let snapVV = try fresh.versionVector()
            for (o, s) in oldVV.sorted where o.device == n.device && s > snapVV[o] {
                history.lossWindows[o] = min(history.lossWindows[o] ?? .max, snapVV[o])
            }
            let atLeast = options.bugs.restoreForgetsEpoch ? 0 : n.epochHigh + 1
            let origin = try fresh.startNewEpoch(atLeast: atLeast)
            n.epochHigh = max(n.epochHigh, origin.epoch)
            n.catalog = fresh
            n.lastVV = snapVV
            n.alive = false
            result.count(fault: "restore")
            trace.add("restore \(now) \(n.name) epoch \(origin.epoch)")
            queue.push(now + faultRandom.int64(1_000...30_000), .restart(n.index))
        } catch {
            result.fail("\(n.name): restore from snapshot failed: \(error)")
        }
    }

    func lateJoin() {
        guard let j = joiner, nodes[j].standing == .unpaired, nodes[j].ticket == nil, nodes[0].alive,
              !healing || partition == nil else { return }
        invite(nodes[j])
    }

    /// Removes the leaver once everyone holds all it wrote; it then writes once more, unaware.
    func leave() {
        guard let l = leaver, nodes[l].standing == .member, nodes[0].alive, let lcat = nodes[l].catalog,
              options.joinAfterLeave || joiner.map({ nodes[$0].standing != .unpaired }) ?? true else { return }
        do {
            let mine = try lcat.versionVector().sorted.filter { $0.origin.device == nodes[l].device }
            guard !mine.isEmpty else { return }
            for other in nodes where other.index != l {
                guard let cat = other.catalog else { continue }
                let vv = try cat.versionVector()
                guard mine.allSatisfy({ vv[$0.origin] >= $0.seq }) else {
                    result.count(stat: "leavePostponed")
                    return
                }
            }
            closeAll(of: nodes[l])
            nodes[l].standing = .departed
            guard commit(nodes[0], [.removeMember(nodes[l].device)]) != nil else {
                result.fail("admin could not remove \(nodes[l].name)")
                return
            }
            result.count(fault: "leave")
            trace.add("leave \(now) \(nodes[l].name)")
            if let a = try lcat.assets(AssetFilter(scope: .all, limit: 1)).first {
                history.forbidden.append(try lcat.commit([.setRating(a.id, 1)], now: nodeNow(nodes[l])))
            }
            // Unaware, it calls the admin at once; the admin turns it away at admission.
            connect(nodes[l], nodes[0])
        } catch {
            result.fail("leave of \(nodes[l].name) failed: \(error)")
        }
    }

    // MARK: Heal

    /// Faults stop: partitions heal, crashed nodes restart, a pending joiner pairs, connections start over.
    func startHeal() {
        healing = true
        partition = nil
        for n in nodes where !n.alive && n.standing != .departed { n.alive = true }
        if let j = joiner, nodes[j].standing == .unpaired, nodes[j].ticket == nil,
           !options.joinAfterLeave || leaver.map({ nodes[$0].standing != .member }) ?? true {
            invite(nodes[j])
        }
        // A restore of the admin from an older snapshot can drop a pairing that never left it; the
        // device is then locked out until someone pairs it again, which is what a person would do.
        for n in nodes.dropFirst() where n.standing == .member && !admits(nodes[0], n.device) {
            if commit(nodes[0], [.addMember(publicKey: n.identity.publicKey, name: "person\(n.index)", role: .member)]) != nil {
                result.count(stat: "pairedAgain")
            }
        }
        for c in conns { close(c, "heal") }
        trace.add("heal \(now)")
    }
}
