import Catalog
import HearthCrypto
import SyncEngine
import Wire

/// Hands the simulation to a `@Sendable` closure. The simulation runs on one thread; the pairing
/// hook's closures are `@Sendable` only because a real node calls them from its connections'
/// tasks. Unowned: a connection's handshake must not keep the simulation alive (a cycle through
/// `conns` would leak every finished run's catalogs).
struct UnownedSimulation: @unchecked Sendable {
    unowned let value: Simulation
    init(_ value: Simulation) { self.value = value }
}

/// A ticket the founder issued, as a node's ticket book keeps it.
struct SimTicket {
    let secret: [UInt8]
    let expiresAt: Int64
    var usedBy: DeviceID?
}

extension Simulation {
    /// The founder issues a ticket for `n`; its text goes to the new device (out of band), which
    /// parses it and makes its empty replica of the ticket's library. The device then joins over
    /// the network: a pairing handshake with the ticket's secret, admitted by the founder.
    func invite(_ n: SimNode) {
        ticketsIssued += 1
        func derive(_ purpose: UInt8, _ count: Int) -> [UInt8] {
            var w = Writer()
            w.writeUInt64(seed)
            w.writeUInt64(UInt64(ticketsIssued))
            w.writeUInt8(purpose)
            return Array(Blake2b.hash256(w.bytes).bytes.prefix(count))
        }
        let issued = WireTicket(library: library.bytes, inviter: nodes[0].device, ticketID: derive(0, 16), secret: derive(1, 32),
                                expiresAt: nodeNow(nodes[0]) + 7 * 86_400_000, role: Role.member.rawValue,
                                addresses: ["\(nodes[0].name).sim:7480"])
        tickets[issued.ticketID] = SimTicket(secret: issued.secret, expiresAt: issued.expiresAt)
        do {
            let t = try WireTicket(parsing: issued.text)
            guard t == issued, let lib = LibraryID(bytes: t.library) else {
                result.fail("ticket for \(n.name) did not read back as issued")
                return
            }
            if n.catalog == nil { n.catalog = try Catalog.join(path: nil, library: lib, identity: n.identity) }
            n.ticket = JoinTicket(ticketID: t.ticketID, secret: t.secret, inviter: t.inviter, name: "person\(n.index)")
        } catch {
            result.fail("ticket for \(n.name): \(error)")
            return
        }
        result.count(stat: "ticketsIssued")
        trace.add("invite \(now) \(n.name) \(Hex.encode(issued.ticketID))")
    }

    /// The founder's pairing hook: looks a ticket up.
    func lookupTicket(_ id: [UInt8]) -> PairingHook.Lookup {
        guard let t = tickets[id] else { return .unknown }
        if t.usedBy != nil { return .refused(secret: t.secret, reason: "the ticket was already used") }
        if t.expiresAt < nodeNow(nodes[0]) { return .refused(secret: t.secret, reason: "the ticket expired") }
        return .open(secret: t.secret)
    }

    /// The founder's pairing hook: commits the joiner as a member and spends the ticket.
    func admit(_ id: [UInt8], _ publicKey: [UInt8], _ name: String) throws {
        guard var t = tickets[id], t.usedBy == nil, t.expiresAt >= nodeNow(nodes[0]) else {
            throw SyncError(.pairingRefused, "the ticket was already used or expired")
        }
        let device = DeviceID(publicKey: publicKey)
        if (try? nodes[0].catalog?.syncIsMember(device)) != true {
            guard commit(nodes[0], [.addMember(publicKey: publicKey, name: name, role: .member)]) != nil else {
                throw SyncError(.pairingRefused, "the founder could not add \(name)")
            }
        }
        t.usedBy = device
        tickets[id] = t
        result.count(stat: "admitted")
    }
}

extension Simulation {
    /// Runs the real handshake between `a` (initiator) and `b` on a perfect link, at once and
    /// outside the schedule (for the invariant checks). Returns why it failed, or nil when both
    /// ends were established.
    func handshakeAlone(_ a: SimNode, _ b: SimNode) -> SyncError? {
        guard a.catalog != nil, b.catalog != nil else { return SyncError(.internalError, "no catalog") }
        let id = nextConnID
        nextConnID += 1
        var ends = [Handshake(handshakeConfig(a, .initiator, peer: b, conn: id)),
                    Handshake(handshakeConfig(b, .responder, peer: a, conn: id))]
        var pending: [(side: Int, input: HandshakeInput)] = [(1, .start), (0, .start)]
        while !pending.isEmpty {
            let (side, input) = pending.removeFirst()
            for e in ends[side].handle(input, now: now) {
                switch e {
                case .sendRaw(let bytes):
                    guard let (p, _) = try? ConnectionPreamble.parse(bytes) else { return SyncError(.handshakeFailed, "bad preamble") }
                    pending.append((1, .preamble(p)))
                case .sendFrame(let body): pending.append((1 - side, .frame(body)))
                case .established: break
                case .close(let err): return err
                }
            }
        }
        return ends[0].isEstablished && ends[1].isEstablished ? nil : SyncError(.handshakeFailed, "the handshake stalled")
    }
}
