import Catalog
import HearthCrypto
import SyncEngine
import Wire

extension Simulation {
    func partitioned(_ a: Int, _ b: Int) -> Bool { partition.map { $0[a] != $0[b] } ?? false }

    func connected(_ a: Int, _ b: Int) -> Bool {
        conns.contains { $0.open && $0.ends.contains(a) && $0.ends.contains(b) }
    }

    /// Who a node lets in: members of its catalog, and before that the admin it paired with.
    func admits(_ n: SimNode, _ device: DeviceID) -> Bool {
        if device == n.pairedWith { return true }
        return (try? n.catalog?.syncIsMember(device)) == true
    }

    func hello(_ n: SimNode) -> Hello {
        Hello(protocolVersion: protocolMax(n), publicKey: n.identity.publicKey, library: library.bytes, epoch: n.epochHigh, policy: n.policy,
              software: "hearth-sim")
    }

    /// Opens a connection: Hellos through the codec, the membership check on both sides, then `.start`.
    /// Returns the handshake error when either side refused.
    @discardableResult
    func connect(_ a: SimNode, _ b: SimNode) -> SyncError? {
        guard a.alive, b.alive, let ca = a.catalog, let cb = b.catalog, !partitioned(a.index, b.index),
              !connected(a.index, b.index) else { return nil }
        var versions: [UInt16] = []
        do {
            for (me, peer) in [(a, b), (b, a)] {
                let decoded = try Message.decode(Message.hello(hello(peer)).encoded())
                guard case .hello(let h) = decoded else {
                    throw SyncError(.protocolViolation, "Hello did not decode as a Hello")
                }
                versions.append(try SyncSession.check(peerHello: h, handshakeKey: peer.identity.publicKey, library: library,
                                                      isMember: { self.admits(me, $0) }, peer: peer.name,
                                                      localMaxVersion: protocolMax(me)))
            }
        } catch let e as SyncError {
            result.count(stat: "handshakeRefused")
            trace.add("refuse \(now) \(a.name) \(b.name) \(e.code.rawValue)")
            return e
        } catch {
            result.fail("Hello from \(a.name) or \(b.name) did not round-trip through the codec: \(error)")
            return SyncError(.protocolViolation, "\(error)")
        }
        let c = Conn(id: nextConnID, ends: [a.index, b.index],
                     sessions: [SyncSession(catalog: ca, chunks: a.chunks, config: config(a), peerName: b.name,
                                            protocolVersion: versions[0]),
                                SyncSession(catalog: cb, chunks: b.chunks, config: config(b), peerName: a.name,
                                            protocolVersion: versions[1])])
        nextConnID += 1
        conns.append(c)
        result.count(stat: "connections")
        trace.add("connect \(now) \(c.id) \(a.name) \(b.name)")
        process(c, 0, c.sessions[0].handle(.start, now: now, wallMillis: nodeNow(a)))
        if c.open { process(c, 1, c.sessions[1].handle(.start, now: now, wallMillis: nodeNow(b))) }
        return nil
    }

    func config(_ n: SimNode) -> SyncConfig {
        SyncConfig(policy: n.policy, batchBytesPerMessage: syncTuning.batchBytes,
                   chunkIDsPerRequest: syncTuning.idsPerRequest, maxOutstandingChunkRequests: syncTuning.outstanding)
    }

    /// Carries out a session's effects, in order.
    func process(_ c: Conn, _ side: Int, _ effects: [SyncEffect]) {
        var changed = false
        for e in effects {
            guard c.open else { break }
            switch e {
            case .send(let m):
                transmit(c, from: side, m)
            case .close(let err):
                result.count(stat: "close.\(err.code.rawValue)")
                if healing {
                    result.fail("heal phase: \(nodes[c.ends[side]].name) closed its session with "
                                + "\(nodes[c.ends[1 - side]].name): \(err)")
                }
                close(c, "\(nodes[c.ends[side]].name) closed: \(err.code.rawValue)")
            case .catalogChanged:
                changed = true
            case .converged:
                result.count(stat: "converged")
            }
        }
        if changed { localChange(nodes[c.ends[side]], except: c.id) }
    }

    func close(_ c: Conn, _ why: String) {
        guard c.open else { return }
        c.open = false
        conns.removeAll { $0 === c }
        trace.add("close \(now) \(c.id) \(why)")
    }

    func closeAll(of n: SimNode) {
        for c in conns where c.ends.contains(n.index) { close(c, "\(n.name) went away") }
    }

    /// Sends one message through the faulty network: loss, reset, delay, reordering, duplication.
    func transmit(_ c: Conn, from side: Int, _ m: Message) {
        let bytes = m.encoded()
        let to = 1 - side
        checkOlderPeerCanRead(c, to: to, m)
        if options.bugs.dropOddBatches, side == 0, case .batches(let b) = m, let f = b.batches.first, f.firstSeq % 2 == 1 {
            return
        }
        if !healing, netRandom.chance(plan.loss) {
            if netRandom.chance(plan.lossResets) || options.tcpLike {
                result.count(fault: "connectionReset")
                close(c, "reset")
            } else {
                result.count(fault: "loss")
            }
            return
        }
        let maxLatency = healing ? 50 : plan.maxLatency
        let latency = healing ? netRandom.int64(1...50) : netRandom.int64(plan.minLatency...plan.maxLatency)
        var arrival = now + latency
        if !healing, netRandom.chance(plan.reorder), !options.tcpLike {
            arrival += netRandom.int64(1...(3 * maxLatency + 100))
            result.count(fault: "reorder")
        } else {
            if c.lastArrival[to] > arrival { result.count(fault: "delay") }
            arrival = max(arrival, c.lastArrival[to])
            c.lastArrival[to] = arrival
        }
        schedule(c, to, bytes, at: arrival)
        if !healing, netRandom.chance(plan.duplication), !options.tcpLike {
            result.count(fault: "duplication")
            schedule(c, to, bytes, at: arrival + netRandom.int64(0...maxLatency))
        }
    }

    func schedule(_ c: Conn, _ to: Int, _ bytes: [UInt8], at t: Int64) {
        inFlight += 1
        queue.push(t, .deliver(conn: c.id, side: to, bytes: bytes))
    }

    func deliver(_ cid: Int, _ side: Int, _ bytes: [UInt8]) {
        guard let c = conns.first(where: { $0.id == cid }), c.open else { return }
        let n = nodes[c.ends[side]]
        guard n.alive else { return }
        trace.add("deliver \(now) \(cid) \(side) \(bytes.count)")
        trace.add(bytes: bytes)
        let effects: [SyncEffect]
        do {
            let m = try Message.decode(bytes)
            effects = c.sessions[side].handle(.message(m), now: now, wallMillis: nodeNow(n))
        } catch {
            effects = c.sessions[side].fail(SyncError(decoding: error, peer: nodes[c.ends[1 - side]].name), now: nodeNow(n))
        }
        process(c, side, effects)
    }

    /// Nothing in flight and every pair of active nodes connected with both sessions converged.
    func isQuiescent() -> Bool {
        let live = active().filter(\.alive)
        for (i, a) in live.enumerated() {
            for b in live[(i + 1)...] {
                guard let c = conns.first(where: { $0.open && $0.ends.contains(a.index) && $0.ends.contains(b.index) }),
                      c.sessions[0].isConverged, c.sessions[1].isConverged else { return false }
            }
        }
        return true
    }

    func openConnSummary() -> String {
        let live = active()
        var missing: [String] = []
        for (i, a) in live.enumerated() {
            for b in live[(i + 1)...] {
                if let c = conns.first(where: { $0.open && $0.ends.contains(a.index) && $0.ends.contains(b.index) }) {
                    if !c.sessions[0].isConverged || !c.sessions[1].isConverged { missing.append("\(a.name)-\(b.name) not converged") }
                } else {
                    missing.append("\(a.name)-\(b.name) not connected")
                }
            }
        }
        return missing.prefix(6).joined(separator: ", ")
    }
}
