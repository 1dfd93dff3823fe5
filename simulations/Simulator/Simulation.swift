import Catalog
import ChunkStore
import HearthCrypto
import SyncEngine
import Wire

/// What the scheduler runs, in virtual-time order.
enum SimEvent {
    case deliver(conn: Int, side: Int, bytes: [UInt8])
    case tick(Int)
    case work
    case fault
    case restart(Int)
    case healPartition
}

/// One simulated device: its real catalog (in-memory SQLite) and chunk store, its clock, its fate.
final class SimNode {
    enum Standing { case member, unpaired, departed }

    let index: Int
    let identity: Identity
    let policy: StoragePolicy
    let chunks = ChunkStore.inMemory()
    var catalog: Catalog?
    var skew: Int64
    var alive = true
    var standing: Standing
    /// The admin this device paired with: trusted before the member list has arrived.
    var pairedWith: DeviceID?
    /// A ticket to join with, while not yet a member.
    var ticket: JoinTicket?
    /// Highest epoch this device ever wrote under (kept outside the database, like the device key).
    var epochHigh: UInt32 = 1
    var snapshot: [SignedBatch]?
    var lastVV = VersionVector()

    init(index: Int, identity: Identity, policy: StoragePolicy, skew: Int64, standing: Standing) {
        self.index = index
        self.identity = identity
        self.policy = policy
        self.skew = skew
        self.standing = standing
    }

    var device: DeviceID { identity.deviceID }
    var name: String { "n\(index)" }
}

/// A connection: a session at each end and the in-order delivery horizon each way.
final class Conn {
    let id: Int
    let ends: [Int]
    var sessions: [SyncSession]
    /// Each end's handshake; its session starts once it is established.
    var handshakes: [Handshake]
    /// Whether the responder has read the initiator's preamble.
    var preambleRead = false
    var lastArrival: [Int64] = [0, 0]
    var open = true

    init(id: Int, ends: [Int], sessions: [SyncSession], handshakes: [Handshake]) {
        self.id = id
        self.ends = ends
        self.sessions = sessions
        self.handshakes = handshakes
    }
}

/// Runs the real SyncEngine, Catalog and ChunkStore of several nodes in one thread under a seeded
/// scheduler with virtual time, injects faults, heals, and checks the invariants.
public final class Simulation {
    static let tickInterval: Int64 = 5_000

    let seed: UInt64
    let options: SimOptions
    let plan: FaultPlan
    var result: SimResult
    var netRandom: SimRandom
    var workRandom: SimRandom
    var faultRandom: SimRandom
    var nodes: [SimNode] = []
    var conns: [Conn] = []
    var nextConnID = 1
    var queue = EventQueue()
    /// Virtual time, ms.
    var now: Int64 = 0
    var trace = TraceHasher()
    var history = History()
    var healing = false
    /// Set once the older nodes were upgraded (`SimOptions.olderNodes`).
    var olderUpgraded = false
    var partition: [Int]?
    var inFlight = 0
    var library: LibraryID!
    var photos: [[UInt8]] = []
    var albums: [AlbumID] = []
    let intruder: Identity
    let joiner: Int?
    let leaver: Int?
    let syncTuning: (batchBytes: Int, idsPerRequest: Int, outstanding: Int)
    /// The founder's ticket book (kept outside its database, like a node's tickets file).
    var tickets: [[UInt8]: SimTicket] = [:]
    var ticketsIssued = 0

    init(seed: UInt64, options: SimOptions) {
        var root = SimRandom(seed: seed)
        let count = options.nodes ?? root.int(2...6)
        var planRandom = root.fork()
        let plan = FaultPlan.draw(&planRandom, nodes: count)
        self.seed = seed
        self.options = options
        self.plan = plan
        result = SimResult(seed: seed, nodes: count, steps: options.steps, plan: plan)
        netRandom = root.fork()
        workRandom = root.fork()
        faultRandom = root.fork()
        intruder = Identity.fromSeed(root.bytes(32))
        joiner = plan.lateJoin ? count - 1 : nil
        leaver = plan.leave ? 1 : nil
        syncTuning = (root.int(1...65_536), root.int(1...64), root.int(1...4))
        for i in 0..<count {
            var skew = plan.maxSkew == 0 ? 0 : root.int64(-plan.maxSkew...plan.maxSkew)
            if options.wildClocks, count > 2, i == 1 { skew = Self.farAhead }
            if options.wildClocks, count > 2, i == count - 1 { skew = -Self.farBehind }
            nodes.append(SimNode(index: i, identity: Identity.fromSeed(root.bytes(32)), policy: plan.policies[i],
                                 skew: skew, standing: i == joiner ? .unpaired : .member))
            if skew != 0 { result.count(fault: "clockSkew") }
        }
    }

    /// Runs one seed to the end and reports what held and what broke.
    public static func run(seed: UInt64, options: SimOptions = SimOptions()) -> SimResult {
        let sim = Simulation(seed: seed, options: options)
        sim.runAll()
        return sim.result
    }

    func runAll() {
        trace.echo = options.printTrace
        trace.add("seed \(seed) nodes \(nodes.count) plan \(plan)")
        do {
            try setUp()
        } catch {
            result.fail("setup: \(error)")
            return
        }
        var steps = 0
        while steps < options.steps, let e = queue.pop() {
            step(e)
            steps += 1
        }
        result.events = steps
        result.healEvents = 0
        startHeal()
        var quiet = runUntilQuiet()
        if quiet, let l = leaver, nodes[l].standing == .member {
            // The leave the fault phase could not do cleanly happens now, then a pending joiner pairs.
            leave()
            quiet = runUntilQuiet()
        }
        if quiet, let l = leaver, nodes[l].standing == .departed, admits(nodes[0], nodes[l].device) {
            // A restore of the admin from a snapshot older than the removal undid it before it
            // reached anyone: the leaver is a member again everywhere. The person removes it again.
            if commit(nodes[0], [.removeMember(nodes[l].device)]) != nil {
                result.count(stat: "removedAgain")
                trace.add("leave-again \(now) \(nodes[l].name)")
            }
            quiet = runUntilQuiet()
        }
        if quiet, let j = joiner, nodes[j].standing == .unpaired {
            lateJoin()
            quiet = runUntilQuiet()
        }
        if quiet, options.olderNodes > 0 {
            checkOlderNodesAndUpgrade()
            quiet = runUntilQuiet()
        }
        result.simulatedMillis = now
        if !quiet {
            result.fail("liveness: no quiescence within \(options.maxHealEvents) heal events (\(openConnSummary()))")
        } else {
            checkInvariants()
        }
        result.traceHash = trace.hash.hex
    }

    /// Runs events until nothing is in flight and every pair of live members has converged.
    func runUntilQuiet() -> Bool {
        while result.healEvents < options.maxHealEvents, let e = queue.pop() {
            step(e)
            result.healEvents += 1
            result.events += 1
            if inFlight == 0, isQuiescent() { return true }
        }
        return false
    }

    // MARK: Setup

    func setUp() throws {
        let founder = nodes[0]
        var r = workRandom.fork()
        let cat = try Catalog.create(path: nil, identity: founder.identity, personName: "person0", nonce: r.bytes(16),
                                     now: nodeNow(founder))
        founder.catalog = cat
        library = cat.libraryID
        for b in try cat.batches(missingFrom: VersionVector()) {
            history.record(node: 0, batch: b, edits: [], vvBefore: VersionVector(), now: nodeNow(founder))
        }
        if options.preloadAssets > 0 { preload(founder, options.preloadAssets) }
        for n in nodes.dropFirst() where n.standing == .member {
            try pair(n)
        }
        for n in nodes {
            n.lastVV = try n.catalog?.versionVector() ?? VersionVector()
            queue.push(faultRandom.int64(0...Self.tickInterval), .tick(n.index))
        }
        queue.push(faultRandom.int64(0...plan.workGap), .work)
        queue.push(faultRandom.int64(0...plan.faultGap), .fault)
    }

    /// The admin adds the device and it starts from an empty replica (the pairing path).
    func pair(_ n: SimNode) throws {
        guard commit(nodes[0], [.addMember(publicKey: n.identity.publicKey, name: "person\(n.index)", role: .member)]) != nil
        else { throw SimFailure("admin could not add \(n.name)") }
        n.catalog = try Catalog.join(path: nil, library: library, identity: n.identity, formatLevel: formatLevel(n))
        n.pairedWith = nodes[0].device
        n.standing = .member
    }

    // MARK: Scheduler

    func step(_ entry: EventQueue.Entry) {
        now = max(now, entry.time)
        switch entry.event {
        case .deliver(let cid, let side, let bytes):
            inFlight -= 1
            deliver(cid, side, bytes)
        case .tick(let i):
            tick(nodes[i])
            queue.push(now + Self.tickInterval + faultRandom.int64(0...200), .tick(i))
        case .work:
            guard !healing else { return }
            work()
            queue.push(now + workRandom.int64(1...(2 * plan.workGap)), .work)
        case .fault:
            guard !healing else { return }
            injectFault()
            queue.push(now + faultRandom.int64(1...(2 * plan.faultGap)), .fault)
        case .restart(let i):
            let n = nodes[i]
            if !n.alive, n.standing != .departed {
                n.alive = true
                trace.add("restart \(now) \(n.name)")
            }
        case .healPartition:
            if partition != nil {
                partition = nil
                trace.add("heal-partition \(now)")
            }
        }
    }

    /// `SimOptions.wildClocks`: virtual time starts at the Unix epoch, so 129 years ahead reads
    /// 2099; ten years behind holds that node's wall clock at 0 for the whole run.
    static let farAhead: Int64 = 129 * 365 * 86_400_000
    static let farBehind: Int64 = 10 * 365 * 86_400_000

    /// The node's wall clock: virtual time plus its skew.
    func nodeNow(_ n: SimNode) -> Int64 { max(0, now + n.skew) }

    func active() -> [SimNode] { nodes.filter { $0.standing == .member && $0.catalog != nil } }

    func tick(_ n: SimNode) {
        guard n.alive, let cat = n.catalog else { return }
        for c in conns where c.open && c.ends.contains(n.index) {
            let side = c.ends[0] == n.index ? 0 : 1
            if c.handshakes[side].isEstablished {
                process(c, side, c.sessions[side].handle(.tick, now: now, wallMillis: nodeNow(n)))
            } else {
                shake(c, side, .tick)
            }
        }
        switch n.standing {
        case .member: break
        case .unpaired:
            // A new device with a ticket calls the inviter until it is admitted.
            if n.ticket != nil, healing || netRandom.chance(0.3) { connect(n, nodes[0]) }
            return
        case .departed:
            // A removed device does not know it: now and then it calls the admin that removed it,
            // which turns it away at admission.
            if !admits(nodes[0], n.device), netRandom.chance(0.3) { connect(n, nodes[0]) }
            return
        }
        do {
            let vv = try cat.versionVector()
            if !vv.dominates(n.lastVV) {
                result.fail("\(n.name): version vector went backwards at \(now) ms")
            }
            n.lastVV = vv
        } catch {
            result.fail("\(n.name): reading the version vector failed: \(error)")
        }
        for other in nodes where other.index != n.index && other.standing == .member {
            if healing || netRandom.chance(0.3) { _ = connect(n, other) }
        }
    }

    // MARK: Local commits

    /// Commits on a node and records the batch in the history; nil when the catalog refused the edits.
    @discardableResult
    func commit(_ n: SimNode, _ edits: [Edit]) -> SignedBatch? {
        guard let cat = n.catalog else { return nil }
        let t = nodeNow(n)
        do {
            let before = try cat.versionVector()
            let b = try cat.commit(edits, now: t)
            history.record(node: n.index, batch: b, edits: edits, vvBefore: before, now: t)
            result.count(stat: "commits")
            trace.add("commit \(now) \(n.name) \(b.origin) \(b.firstSeq)...\(b.lastSeq)")
            trace.add(bytes: b.signature)
            localChange(n, except: nil)
            return b
        } catch let e as CatalogError where e.code != .database {
            result.count(stat: "editsRefused")
            trace.add("refused \(now) \(n.name) \(e.code.rawValue)")
            return nil
        } catch {
            result.fail("\(n.name): commit failed: \(error)")
            return nil
        }
    }

    /// Tells the node's sessions (but `except`) that its catalog grew: the gossip push.
    func localChange(_ n: SimNode, except: Int?) {
        for c in conns where c.open && c.id != except && c.ends.contains(n.index) {
            let side = c.ends[0] == n.index ? 0 : 1
            process(c, side, c.sessions[side].handle(.localChange, now: now, wallMillis: nodeNow(n)))
        }
    }
}

struct SimFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
