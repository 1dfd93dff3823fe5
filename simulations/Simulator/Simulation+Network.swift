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

    /// Opens a connection from `a` (the initiator) to `b` and starts the real handshake on both
    /// ends: preamble, Noise, pairing admission, the membership check and the Hellos travel over
    /// the simulated link; each side's session starts once its handshake is done. A node with a
    /// ticket and no membership yet connects as a joiner (XXpsk3); the founder answers pairing.
    @discardableResult
    func connect(_ a: SimNode, _ b: SimNode) -> Conn? {
        guard a.alive, b.alive, let ca = a.catalog, let cb = b.catalog, !partitioned(a.index, b.index),
              !connected(a.index, b.index) else { return nil }
        let id = nextConnID
        nextConnID += 1
        let shakes = [Handshake(handshakeConfig(a, .initiator, peer: b, conn: id)),
                      Handshake(handshakeConfig(b, .responder, peer: a, conn: id))]
        let c = Conn(id: id, ends: [a.index, b.index],
                     sessions: [SyncSession(catalog: ca, chunks: a.chunks, config: config(a), peerName: b.name),
                                SyncSession(catalog: cb, chunks: b.chunks, config: config(b), peerName: a.name)],
                     handshakes: shakes)
        conns.append(c)
        result.count(stat: "connections")
        trace.add("connect \(now) \(c.id) \(a.name) \(b.name)")
        shake(c, 1, .start)
        if c.open { shake(c, 0, .start) }
        return c
    }

    func handshakeConfig(_ n: SimNode, _ role: HandshakeConfig.Role, peer: SimNode, conn: Int) -> HandshakeConfig {
        // Fresh for every connection and side, derived from the seed without drawing from any of
        // the run's random streams.
        var w = Writer()
        w.writeUInt64(seed)
        w.writeUInt64(UInt64(conn))
        w.writeUInt8(role == .initiator ? 0 : 1)
        let ephemeral = try! NoiseKeyPair(secretKey: Blake2b.hash256(w.bytes).bytes)
        let joining = role == .initiator && n.standing == .unpaired ? n.ticket : nil
        let sim = UnownedSimulation(self)
        let hook = role == .responder && n.index == 0 ? PairingHook(lookup: { sim.value.lookupTicket($0) },
                                                                    admit: { try sim.value.admit($0, $1, $2) }) : nil
        return HandshakeConfig(role: role, identity: n.identity, library: n.catalog!.syncLibrary, hello: hello(n),
                               isMember: { [unowned self] in self.admits(n, $0) }, pairingHook: hook, joinTicket: joining,
                               peerName: peer.name, ephemeral: ephemeral)
    }

    /// Feeds one side's handshake and carries out its effects: bytes onto the link (one delivery
    /// per call, as one TCP write), the session's start once established, or the close.
    func shake(_ c: Conn, _ side: Int, _ input: HandshakeInput) {
        let effects = c.handshakes[side].handle(input, now: now)
        var unit: [UInt8] = []
        for e in effects {
            switch e {
            case .sendRaw(let bytes): unit += bytes
            case .sendFrame(let body): unit += try! Framing.encode(body)
            case .established(let o):
                if !unit.isEmpty { transmit(c, from: side, bytes: unit) }
                unit = []
                established(c, side, o)
            case .close(let err):
                // What the refusing side wrote just before closing (a pairing refusal) still reaches the peer.
                if !unit.isEmpty, c.open, !c.handshakes[1 - side].isEstablished {
                    trace.add("last-words \(now) \(c.id) \(side) \(unit.count)")
                    shakeBytes(c, 1 - side, unit)
                }
                unit = []
                handshakeFailed(c, side, err)
            }
        }
        if !unit.isEmpty, c.open { transmit(c, from: side, bytes: unit) }
    }

    func established(_ c: Conn, _ side: Int, _ o: HandshakeOutcome) {
        let me = nodes[c.ends[side]], peer = nodes[c.ends[1 - side]]
        trace.add("established \(now) \(c.id) \(side) v\(o.version)")
        if o.pairing != nil, side == 0 {
            // The joiner is in: it trusts the inviter until the member list arrives.
            me.standing = .member
            me.pairedWith = peer.device
            me.ticket = nil
            me.lastVV = (try? me.catalog?.versionVector()) ?? VersionVector()
            result.count(fault: "lateJoin")
            trace.add("join \(now) \(me.name)")
        }
        if me.standing == .departed || peer.standing == .departed {
            result.fail("\(me.name) and \(peer.name) completed a handshake although one was removed from the library")
        }
        c.sessions[side] = SyncSession(catalog: me.catalog!, chunks: me.chunks, config: config(me), peerName: peer.name,
                                       protocolVersion: o.version)
        process(c, side, c.sessions[side].handle(.start, now: now, wallMillis: nodeNow(me)))
    }

    func handshakeFailed(_ c: Conn, _ side: Int, _ err: SyncError) {
        let me = nodes[c.ends[side]]
        result.count(stat: "handshakeRefused")
        result.count(stat: "handshake.\(err.code.rawValue)")
        trace.add("refuse \(now) \(c.id) \(me.name) \(err.code.rawValue)")
        if side == 1, nodes[c.ends[0]].standing == .departed, err.code == .notMember {
            // A removed device is turned away at admission, before it hears the library id.
            result.count(stat: "removedRefused")
        }
        if side == 0, me.standing == .unpaired, err.code == .pairingRefused {
            // The ticket is spent (used by a pairing whose connection broke): the person asks for a new one.
            result.count(stat: "ticketRefused")
            invite(me)
        }
        close(c, "\(me.name) refused: \(err.code.rawValue)")
    }

    /// Handshake bytes reach a side that is still shaking hands: the preamble (responder), then frames.
    func shakeBytes(_ c: Conn, _ side: Int, _ bytes: [UInt8]) {
        var rest = bytes[...]
        if side == 1, !c.preambleRead {
            do {
                guard let (p, used) = try ConnectionPreamble.parse(Array(rest.prefix(ConnectionPreamble.maxLength))) else {
                    shake(c, side, .ended("the preamble was cut short"))
                    return
                }
                c.preambleRead = true
                rest = rest.dropFirst(used)
                shake(c, side, .preamble(p))
            } catch {
                shake(c, side, .ended("\(error)"))
                return
            }
        }
        var decoder = FrameDecoder(maxBodyLength: Framing.defaultMaxBodyLength, context: nodes[c.ends[1 - side]].name)
        do {
            let frames = try decoder.feed(rest)
            try decoder.finish()
            for f in frames where c.open && !c.handshakes[side].isEstablished { shake(c, side, .frame(f)) }
        } catch {
            shake(c, side, .ended("\(error)"))
        }
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
    /// Session messages travel in plaintext: the simulated links reorder and duplicate, which the
    /// transport cipher's implicit nonces cannot survive (its handshake and Hellos are real).
    func transmit(_ c: Conn, from side: Int, _ m: Message) {
        checkOlderPeerCanRead(c, to: 1 - side, m)
        if options.bugs.dropOddBatches, side == 0, case .batches(let b) = m, let f = b.batches.first, f.firstSeq % 2 == 1 {
            return
        }
        transmit(c, from: side, bytes: m.encoded())
    }

    /// Until the receiving side's handshake is done the link behaves like TCP (as the handshake
    /// needs): in order, a loss resets the connection, nothing is duplicated.
    func transmit(_ c: Conn, from side: Int, bytes: [UInt8]) {
        let to = 1 - side
        let tcpLike = options.tcpLike || !c.handshakes[to].isEstablished
        if !healing, netRandom.chance(plan.loss) {
            if netRandom.chance(plan.lossResets) || tcpLike {
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
        if !healing, netRandom.chance(plan.reorder), !tcpLike {
            arrival += netRandom.int64(1...(3 * maxLatency + 100))
            result.count(fault: "reorder")
        } else {
            if c.lastArrival[to] > arrival { result.count(fault: "delay") }
            arrival = max(arrival, c.lastArrival[to])
            c.lastArrival[to] = arrival
        }
        schedule(c, to, bytes, at: arrival)
        if !healing, netRandom.chance(plan.duplication), !tcpLike {
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
        guard c.handshakes[side].isEstablished else {
            shakeBytes(c, side, bytes)
            return
        }
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
        if nodes.contains(where: { $0.standing == .unpaired && $0.ticket != nil }) { return false }
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
