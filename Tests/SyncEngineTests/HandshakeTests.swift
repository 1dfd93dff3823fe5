import Catalog
import Foundation
import HearthCrypto
import Testing
import Wire
@testable import SyncEngine

/// The handshake machine with no sockets and no clock: two machines wired back to back, time
/// advanced by hand. Each failure a peer can cause ends in one `.close` with a clear error, and
/// a refused peer hears nothing of the library.
@Suite struct HandshakeTests {
    static let timeout: Int64 = 10_000

    /// Two ends of a connection. `toResponder` holds raw bytes (preamble, then frames) exactly as
    /// they would cross TCP; the responder side parses them like the transport's reader does.
    struct Wire2 {
        var initiator: Handshake
        var responder: Handshake
        var toResponder: [UInt8] = []
        var toInitiator: [[UInt8]] = []
        var sentByInitiator: [HandshakeEffect] = []
        var sentByResponder: [HandshakeEffect] = []
        var preambleRead = false
        var now: Int64 = 0

        var initiatorClosed: SyncError? { initiator.closed }
        var responderClosed: SyncError? { responder.closed }

        mutating func fromInitiator(_ effects: [HandshakeEffect]) {
            sentByInitiator += effects
            for e in effects {
                switch e {
                case .sendRaw(let b): toResponder += b
                case .sendFrame(let body): toResponder += try! Framing.encode(body)
                default: break
                }
            }
        }

        mutating func fromResponder(_ effects: [HandshakeEffect]) {
            sentByResponder += effects
            for e in effects { if case .sendFrame(let body) = e { toInitiator.append(body) } }
        }

        mutating func start() {
            fromResponder(responder.handle(.start, now: now))
            fromInitiator(initiator.handle(.start, now: now))
        }

        /// Delivers everything queued, both ways, until nothing moves. After `framesToResponder`
        /// frames the responder hears nothing more (a stalled peer).
        mutating func run(framesToResponder limit: Int = .max) {
            var delivered = 0
            var decoder = FrameDecoder(maxBodyLength: Framing.defaultMaxBodyLength)
            var moved = true
            while moved {
                moved = false
                if !preambleRead, let (p, used) = try! ConnectionPreamble.parse(toResponder) {
                    preambleRead = true
                    toResponder.removeFirst(used)
                    fromResponder(responder.handle(.preamble(p), now: now))
                    moved = true
                }
                if preambleRead, !toResponder.isEmpty, delivered < limit {
                    let bytes = toResponder
                    toResponder = []
                    for body in try! decoder.feed(bytes[...]) where delivered < limit {
                        delivered += 1
                        fromResponder(responder.handle(.frame(body), now: now))
                    }
                    moved = true
                }
                if !toInitiator.isEmpty {
                    let body = toInitiator.removeFirst()
                    fromInitiator(initiator.handle(.frame(body), now: now))
                    moved = true
                }
            }
        }
    }

    static func ephemeral(_ b: UInt8) -> NoiseKeyPair { try! NoiseKeyPair(secretKey: [UInt8](repeating: b, count: 32)) }

    static func hello(_ n: TestNode, version: UInt16 = MessageLimits.protocolVersion, library: LibraryID? = nil,
                      key: [UInt8]? = nil) -> Hello {
        Hello(protocolVersion: version, publicKey: key ?? n.identity.publicKey, library: (library ?? n.library).bytes,
              epoch: 1, policy: n.policy, software: "test")
    }

    static func config(_ n: TestNode, _ role: HandshakeConfig.Role, peer: String, hello: Hello? = nil,
                       isMember: ((DeviceID) -> Bool)? = nil, hook: PairingHook? = nil, ticket: JoinTicket? = nil,
                       ephemeral e: UInt8) -> HandshakeConfig {
        let cat = n.catalog
        return HandshakeConfig(role: role, identity: n.identity, library: n.library, hello: hello ?? Self.hello(n),
                               isMember: isMember ?? { (try? cat.syncIsMember($0)) ?? false }, pairingHook: hook,
                               joinTicket: ticket, timeout: timeout, peerName: peer, ephemeral: ephemeral(e))
    }

    static func pair(_ a: TestNode, _ b: TestNode, initiator ic: ((HandshakeConfig) -> HandshakeConfig)? = nil,
                     responder rc: ((HandshakeConfig) -> HandshakeConfig)? = nil) -> Wire2 {
        let i = config(a, .initiator, peer: b.name, ephemeral: 0x11)
        let r = config(b, .responder, peer: a.name, ephemeral: 0x22)
        return Wire2(initiator: Handshake(ic?(i) ?? i), responder: Handshake(rc?(r) ?? r))
    }

    static func outcome(_ effects: [HandshakeEffect]) -> HandshakeOutcome? {
        for e in effects { if case .established(let o) = e { return o } }
        return nil
    }

    static func frames(_ effects: [HandshakeEffect]) -> Int {
        effects.filter { if case .sendFrame = $0 { true } else { false } }.count
    }

    @Test func membersEstablishAndTheirCiphersMatch() throws {
        let n = family([("A", .everything), ("B", .previews)])
        var w = Self.pair(n[0], n[1])
        w.start()
        w.run()
        let a = try #require(Self.outcome(w.sentByInitiator)), b = try #require(Self.outcome(w.sentByResponder))
        #expect(a.peerDevice == n[1].identity.deviceID && b.peerDevice == n[0].identity.deviceID)
        #expect(a.peerHello.policy == .previews && b.peerHello.policy == .everything)
        #expect(a.version == MessageLimits.protocolVersion && b.version == a.version)
        #expect(a.pairing == nil && b.pairing == nil)
        #expect(w.initiator.isEstablished && w.responder.isEstablished)
        // Each side sent three frames: two Noise messages (or one and the Hello), then its Hello.
        #expect(Self.frames(w.sentByInitiator) == 3 && Self.frames(w.sentByResponder) == 2)
        let sealed = try a.cipher.seal(Message.ping(Ping(nonce: 7, reply: false)).encoded())
        #expect(try Message.decode(try b.cipher.open(sealed)) == .ping(Ping(nonce: 7, reply: false)))
        // After the end, inputs do nothing.
        #expect(w.initiator.handle(.tick, now: 1_000_000).isEmpty)
    }

    /// The bytes are those of `protocol/vectors/transport.json` (an independent implementation):
    /// the machine changes nothing on the wire.
    @Test func handshakeFramesMatchTheTransportVectors() throws {
        struct File: Decodable {
            struct Connection: Decodable {
                let name: String
                let psk: String?
                let initiator_ed25519_seed: String
                let responder_ed25519_seed: String
                let initiator_ephemeral: String
                let responder_ephemeral: String
                let handshake_frames: [String]
            }
            let connections: [Connection]
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: root.appendingPathComponent("protocol/vectors/transport.json")))
        for c in file.connections {
            let alice = Identity.fromSeed(Hex.decode(c.initiator_ed25519_seed)!)
            let bob = Identity.fromSeed(Hex.decode(c.responder_ed25519_seed)!)
            let library = LibraryID(bytes: [UInt8](repeating: 1, count: 16))!
            let hello = Hello(publicKey: alice.publicKey, library: library.bytes, epoch: 1, policy: .everything, software: "t")
            let ticket = c.psk.map { JoinTicket(ticketID: [UInt8](repeating: 0xAB, count: 16), secret: Hex.decode($0)!,
                                                inviter: bob.deviceID, name: "joiner") }
            var m = Handshake(HandshakeConfig(role: .initiator, identity: alice, library: library, hello: hello,
                                              isMember: { _ in true }, joinTicket: ticket, peerName: "bob",
                                              ephemeral: try NoiseKeyPair(secretKey: Hex.decode(c.initiator_ephemeral)!)))
            let first = m.handle(.start, now: 0)
            guard case .sendRaw(let preamble) = first[0], case .sendFrame(let m1) = first[1] else {
                Issue.record("\(c.name): the initiator did not start with a preamble and message 1")
                continue
            }
            #expect(preamble == (ticket.map { ConnectionPreamble.pairing(ticketID: $0.ticketID) } ?? .member).encoded())
            #expect(Hex.encode(try Framing.encode(m1)) == c.handshake_frames[0], "\(c.name) message 1")
            // Message 1 carries no payload; under XXpsk3 it still has a 16-byte tag (SPEC 3).
            #expect(m1.count == 32 + (c.psk == nil ? 0 : 16))
            // The responder's message 2 as the vector's responder sends it.
            let b = try NoiseHandshake(role: .responder, pattern: c.psk == nil ? .XX : .XXpsk3, identity: bob,
                                       prologue: HandshakePayload.prologue, psk: c.psk.map { Hex.decode($0)! },
                                       ephemeral: try NoiseKeyPair(secretKey: Hex.decode(c.responder_ephemeral)!))
            _ = try b.readMessage(m1)
            let m2 = try b.writeMessage(HandshakePayload(identity: bob).encoded())
            #expect(Hex.encode(try Framing.encode(m2)) == c.handshake_frames[1], "\(c.name) message 2")
            let next = m.handle(.frame(m2), now: 1)
            guard case .sendFrame(let m3) = next.first else {
                Issue.record("\(c.name): no message 3: \(next)")
                continue
            }
            // A joiner's message 3 also carries its name (SPEC 3.1), "joiner" in the vector.
            #expect(Hex.encode(try Framing.encode(m3)) == c.handshake_frames[2], "\(c.name) message 3")
            if c.psk != nil {
                let payload = try PairingPayload(decoding: try b.readMessage(m3))
                #expect(payload.name == "joiner" && payload.identity == HandshakePayload(identity: alice))
            }
        }
    }

    /// `transport.json`'s pairing `message3_cases` through the responder's machine: an accepted
    /// name admits the joiner under it; a refused one is a handshake failure with nothing sent
    /// after message 2 (no Error) and nobody admitted, so the ticket stays unused (SPEC 3.1).
    @Test func pairingMessage3CasesFromTheTransportVectors() throws {
        struct File: Decodable {
            struct Case: Decodable { let name: String; let frame: String; let device_name: String?; let verdict: String }
            struct Connection: Decodable {
                let psk: String?
                let initiator_ed25519_seed: String
                let responder_ed25519_seed: String
                let responder_ephemeral: String
                let handshake_frames: [String]
                let message3_cases: [Case]?
            }
            let connections: [Connection]
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: root.appendingPathComponent("protocol/vectors/transport.json")))
        let c = try #require(file.connections.first { $0.psk != nil })
        let cases = try #require(c.message3_cases)
        let alice = Identity.fromSeed(Hex.decode(c.initiator_ed25519_seed)!)
        let bob = Identity.fromSeed(Hex.decode(c.responder_ed25519_seed)!)
        let library = LibraryID(bytes: [UInt8](repeating: 1, count: 16))!
        func unframe(_ hex: String) throws -> [UInt8] {
            var d = FrameDecoder(maxBodyLength: Framing.maxHandshakeBodyLength)
            let f = try d.feed(Hex.decode(hex)!)
            try #require(f.count == 1)
            return f[0]
        }
        var verdicts: [String: Int] = [:]
        for k in cases {
            let book = Book()
            book.tickets[Self.ticketID] = (Hex.decode(c.psk!)!, nil)
            var r = Handshake(HandshakeConfig(
                role: .responder, identity: bob, library: library,
                hello: Hello(publicKey: bob.publicKey, library: library.bytes, epoch: 1, policy: .everything, software: "t"),
                isMember: { d in d == alice.deviceID && !book.admitted.isEmpty }, pairingHook: book.hook,
                peerName: "joiner", ephemeral: try NoiseKeyPair(secretKey: Hex.decode(c.responder_ephemeral)!)))
            #expect(r.handle(.start, now: 0).isEmpty)
            #expect(r.handle(.preamble(.pairing(ticketID: Self.ticketID)), now: 0).isEmpty)
            let m2 = r.handle(.frame(try unframe(c.handshake_frames[0])), now: 1)
            guard case .sendFrame(let body2)? = m2.first, m2.count == 1 else {
                Issue.record("\(k.name): no message 2: \(m2)")
                continue
            }
            #expect(Hex.encode(try Framing.encode(body2)) == c.handshake_frames[1], "\(k.name): message 2")
            let after3 = r.handle(.frame(try unframe(k.frame)), now: 2)
            verdicts[k.verdict, default: 0] += 1
            switch k.verdict {
            case "accept":
                #expect(r.closed == nil && after3.isEmpty, "\(k.name): waits for the joiner's Hello: \(after3)")
                #expect(book.admitted.map(\.name) == [k.device_name!] && book.admitted.first?.key == alice.publicKey, "\(k.name)")
            case "refuse":
                #expect(r.closed?.code == .handshakeFailed, "\(k.name): \(String(describing: r.closed))")
                #expect(Self.frames(after3) == 0 && after3.count == 1, "\(k.name): closes without an Error: \(after3)")
                #expect(book.admitted.isEmpty, "\(k.name): nobody admitted, the ticket stays unused")
            default:
                Issue.record("\(k.name): unknown verdict \(k.verdict)")
            }
        }
        #expect((verdicts["accept"] ?? 0) >= 3 && (verdicts["refuse"] ?? 0) >= 5, "\(verdicts)")
    }

    @Test func aSilentPeerTimesOutWhenTimeIsAdvanced() throws {
        let n = family([("A", .everything), ("B", .everything)])
        var r = Handshake(Self.config(n[1], .responder, peer: "A", ephemeral: 2))
        #expect(r.handle(.start, now: 5_000).isEmpty)
        #expect(r.handle(.tick, now: 5_000 + Self.timeout).isEmpty, "not yet: the deadline itself is allowed")
        let e = try #require(r.handle(.tick, now: 5_001 + Self.timeout).first)
        guard case .close(let err) = e else { Issue.record("\(e)"); return }
        #expect(err.code == .timeout && err.message.contains("no preamble within 10000 ms"), "\(err)")
        #expect(r.handle(.tick, now: 1_000_000).isEmpty)
    }

    @Test func aPeerStallingAfterMessage1TimesOut() throws {
        let n = family([("A", .everything), ("B", .everything)])
        var w = Self.pair(n[0], n[1])
        w.start()
        w.run(framesToResponder: 1) // message 3 never arrives
        #expect(w.responderClosed == nil && Self.frames(w.sentByResponder) == 1)
        w.fromResponder(w.responder.handle(.tick, now: Self.timeout + 1))
        #expect(w.responderClosed?.code == .timeout)
        #expect(w.responderClosed?.message.contains("no handshake message 3") == true, "\(String(describing: w.responderClosed))")
        // The initiator, waiting for the responder's Hello, times out on its own clock too.
        w.fromInitiator(w.initiator.handle(.tick, now: Self.timeout + 1))
        #expect(w.initiatorClosed?.code == .timeout && w.initiatorClosed?.message.contains("no Hello") == true)
    }

    @Test func framesOutOfPlaceAndBrokenConnectionsClose() {
        let n = family([("A", .everything), ("B", .everything)])
        // A frame before the preamble.
        var r = Handshake(Self.config(n[1], .responder, peer: "A", ephemeral: 2))
        _ = r.handle(.start, now: 0)
        #expect(r.handle(.frame([1, 2, 3]), now: 1).first.map { if case .close(let e) = $0 { e.code == .handshakeFailed } else { false } } == true)
        // A preamble sent to the initiator.
        var i = Handshake(Self.config(n[0], .initiator, peer: "B", ephemeral: 1))
        _ = i.handle(.start, now: 0)
        _ = i.handle(.preamble(.member), now: 1)
        #expect(i.closed?.code == .handshakeFailed)
        // Garbage as message 1 (too short for an ephemeral key), an oversized one, and a hang-up.
        var g = Handshake(Self.config(n[1], .responder, peer: "A", ephemeral: 2))
        _ = g.handle(.start, now: 0)
        _ = g.handle(.preamble(.member), now: 0)
        _ = g.handle(.frame([7, 7, 7]), now: 1)
        #expect(g.closed?.code == .handshakeFailed)
        var big = Handshake(Self.config(n[1], .responder, peer: "A", ephemeral: 2))
        _ = big.handle(.start, now: 0)
        _ = big.handle(.preamble(.member), now: 0)
        _ = big.handle(.frame([UInt8](repeating: 0, count: Framing.maxHandshakeBodyLength + 1)), now: 1)
        #expect(big.closed?.message.contains("over 65535") == true)
        var hung = Handshake(Self.config(n[1], .responder, peer: "A", ephemeral: 2))
        _ = hung.handle(.start, now: 0)
        _ = hung.handle(.ended("peer closed"), now: 1)
        #expect(hung.closed?.code == .handshakeFailed && hung.closed?.message.contains("before preamble") == true)
    }

    @Test func aRemovedMemberIsRefusedBeforeItHearsTheLibrary() throws {
        let n = family([("A", .everything), ("B", .everything), ("C", .everything)])
        try n[0].catalog.commit([.removeMember(n[2].identity.deviceID)], now: testNow + 1)
        // A (the admin, which removed C) answers C's connection.
        var w = Self.pair(n[2], n[0])
        w.start()
        w.run()
        #expect(w.responderClosed?.code == .notMember, "\(String(describing: w.responderClosed))")
        // A sent message 2 only: no Hello, no library id.
        #expect(Self.frames(w.sentByResponder) == 1 && Self.outcome(w.sentByInitiator) == nil)
        w.fromInitiator(w.initiator.handle(.ended("closed by peer"), now: 1))
        #expect(w.initiatorClosed?.code == .handshakeFailed && w.initiatorClosed?.message.contains("before Hello") == true)
        // And the initiator refuses a responder that is not a member for it.
        var v = Self.pair(n[0], n[1], initiator: { var c = $0; c.isMember = { _ in false }; return c })
        v.start()
        v.run()
        #expect(v.initiatorClosed?.code == .notMember)
        #expect(Self.frames(v.sentByInitiator) == 2, "messages 1 and 3, no Hello")
    }

    @Test func badHellosAreRefused() {
        let n = family([("A", .everything), ("B", .everything)])
        let other = LibraryID(bytes: [UInt8](repeating: 9, count: 16))!
        let cases: [(Hello, SyncError.Code)] = [
            (Self.hello(n[0], library: other), .wrongLibrary),
            (Self.hello(n[0], key: n[1].identity.publicKey), .notMember),
            // Version 0 is not a version: the codec refuses that Hello before negotiation.
            (Self.hello(n[0], version: 0), .decryptFailed),
        ]
        for (hello, code) in cases {
            var w = Self.pair(n[0], n[1], initiator: { var c = $0; c.hello = hello; return c })
            w.start()
            w.run()
            #expect(w.responderClosed?.code == code, "\(code): \(String(describing: w.responderClosed))")
            #expect(Self.outcome(w.sentByResponder) == nil && Self.frames(w.sentByResponder) == 1, "no Hello back")
        }
        // A newer peer: the session speaks this node's version.
        var newer = Self.pair(n[0], n[1], initiator: { var c = $0; c.hello = Self.hello(n[0], version: 99); return c })
        newer.start()
        newer.run()
        #expect(Self.outcome(newer.sentByResponder)?.version == MessageLimits.protocolVersion)
        // A frame that is not a sealed message where the Hello belongs.
        var w = Self.pair(n[0], n[1])
        w.start()
        w.run(framesToResponder: 2)
        _ = w.responder.handle(.frame([UInt8](repeating: 5, count: 40)), now: 1)
        #expect(w.responderClosed?.code == .decryptFailed)
    }

    /// Hello's epoch is informational (SPEC 6, Hello): a joiner's new database sends 1, a restored
    /// one a higher epoch; no value is refused, 0 included, and the session does not depend on it.
    @Test func helloEpochIsInformational() throws {
        let n = family([("A", .everything), ("B", .everything)])
        for epoch: UInt32 in [0, 1, 7, .max] {
            let hello = Hello(publicKey: n[0].identity.publicKey, library: n[0].library.bytes, epoch: epoch,
                              policy: .everything, software: "test")
            var w = Self.pair(n[0], n[1], initiator: { var c = $0; c.hello = hello; return c })
            w.start()
            w.run()
            let o = try #require(Self.outcome(w.sentByResponder), "epoch \(epoch): \(String(describing: w.responderClosed))")
            #expect(o.peerHello.epoch == epoch && Self.outcome(w.sentByInitiator) != nil)
        }
    }

    // MARK: Pairing

    final class Book: @unchecked Sendable {
        var tickets: [[UInt8]: (secret: [UInt8], refusal: String?)] = [:]
        var admitted: [(id: [UInt8], key: [UInt8], name: String)] = []
        var refuseAdmission: String?
        var hook: PairingHook {
            PairingHook(lookup: { id in
                guard let t = self.tickets[id] else { return .unknown }
                return t.refusal.map { .refused(secret: t.secret, reason: $0) } ?? .open(secret: t.secret)
            }, admit: { id, key, name in
                if let why = self.refuseAdmission { throw SyncError(.pairingRefused, why) }
                self.admitted.append((id, key, name))
            })
        }
    }

    static let ticketID = [UInt8](repeating: 0x7A, count: 16)
    static let secret = [UInt8](repeating: 0x5E, count: 32)

    /// A founder with a ticket book and a joiner with an empty replica (not yet a member).
    static func pairing(secret: [UInt8] = secret, book: Book) -> (Wire2, TestNode, TestNode) {
        let a = TestNode("A", seed: 1, policy: .everything)
        let j = TestNode("J", seed: 5, joining: a, policy: .everything)
        let ticket = JoinTicket(ticketID: ticketID, secret: secret, inviter: a.identity.deviceID, name: "Joiner")
        let i = config(j, .initiator, peer: "A", ticket: ticket, ephemeral: 0x33)
        // The founder's member list gains the joiner when admitted; the test's book stands in for the commit.
        let r = config(a, .responder, peer: "J", isMember: { d in d == j.identity.deviceID && !book.admitted.isEmpty }, hook: book.hook,
                       ephemeral: 0x44)
        return (Wire2(initiator: Handshake(i), responder: Handshake(r)), a, j)
    }

    @Test func aJoinerWithAnOpenTicketIsAdmitted() throws {
        let book = Book()
        book.tickets[Self.ticketID] = (Self.secret, nil)
        var (w, a, j) = Self.pairing(book: book)
        w.start()
        w.run()
        let o = try #require(Self.outcome(w.sentByResponder)), oj = try #require(Self.outcome(w.sentByInitiator))
        #expect(book.admitted.count == 1 && book.admitted.first?.name == "Joiner" && book.admitted.first?.key == j.identity.publicKey)
        #expect(o.pairing == PairingOutcome(ticketID: Self.ticketID, name: "Joiner", admitted: true))
        #expect(o.peerDevice == j.identity.deviceID && oj.peerDevice == a.identity.deviceID && oj.pairing != nil)
    }

    @Test func aWrongSecretFailsAtMessage3AndAdmitsNobody() {
        let book = Book()
        book.tickets[Self.ticketID] = (Self.secret, nil)
        var (w, _, _) = Self.pairing(secret: [UInt8](repeating: 1, count: 32), book: book)
        w.start()
        w.run()
        #expect(w.responderClosed?.code == .handshakeFailed)
        #expect(w.responderClosed?.message.contains("does not hold the ticket's secret") == true)
        #expect(book.admitted.isEmpty && Self.frames(w.sentByResponder) == 1)
    }

    @Test func refusedAndUnknownTicketsAreRefusedWithAReason() {
        // Used or expired: the handshake runs, then an encrypted Error tells the holder why.
        let book = Book()
        book.tickets[Self.ticketID] = (Self.secret, "the ticket was already used")
        var (w, _, _) = Self.pairing(book: book)
        w.start()
        w.run()
        #expect(w.responderClosed?.code == .pairingRefused && Self.frames(w.sentByResponder) == 2)
        #expect(w.initiatorClosed?.code == .pairingRefused)
        #expect(w.initiatorClosed?.message.contains("refused the ticket") == true
                && w.initiatorClosed?.message.contains("already used") == true, "\(String(describing: w.initiatorClosed))")
        #expect(book.admitted.isEmpty)
        // Admission itself refuses (a race lost): same path.
        let racing = Book()
        racing.tickets[Self.ticketID] = (Self.secret, nil)
        racing.refuseAdmission = "the ticket was already used"
        var (r, _, _) = Self.pairing(book: racing)
        r.start()
        r.run()
        #expect(r.initiatorClosed?.code == .pairingRefused && r.responderClosed?.code == .pairingRefused)
        // Unknown: closed right after the preamble, nothing sent at all.
        var (u, _, _) = Self.pairing(book: Book())
        u.start()
        u.run()
        #expect(u.responderClosed?.code == .pairingRefused && u.responderClosed?.message.contains("never issued") == true)
        #expect(u.sentByResponder.count == 1)
        // A node that takes no joiners refuses every pairing preamble the same way.
        let a = TestNode("A", seed: 1, policy: .everything)
        var none = Handshake(Self.config(a, .responder, peer: "J", ephemeral: 4))
        _ = none.handle(.start, now: 0)
        _ = none.handle(.preamble(.pairing(ticketID: Self.ticketID)), now: 0)
        #expect(none.closed?.code == .pairingRefused && none.closed?.message.contains("not accepting pairing") == true)
    }

    @Test func aJoinerAcceptsOnlyTheInviter() {
        let book = Book()
        book.tickets[Self.ticketID] = (Self.secret, nil)
        let a = TestNode("A", seed: 1, policy: .everything)
        let impostor = TestNode("X", seed: 8, joining: a, policy: .everything)
        let j = TestNode("J", seed: 5, joining: a, policy: .everything)
        let ticket = JoinTicket(ticketID: Self.ticketID, secret: Self.secret, inviter: a.identity.deviceID, name: "Joiner")
        var w = Wire2(initiator: Handshake(Self.config(j, .initiator, peer: "X", ticket: ticket, ephemeral: 1)),
                      responder: Handshake(Self.config(impostor, .responder, peer: "J", isMember: { _ in true }, hook: book.hook,
                                                       ephemeral: 2)))
        w.start()
        w.run()
        #expect(w.initiatorClosed?.code == .notMember && w.initiatorClosed?.message.contains("not") == true)
        #expect(Self.outcome(w.sentByInitiator) == nil)
    }
}

/// A ticket's role byte (Wire) names the catalog's roles, one for one.
@Suite struct TicketRoleTests {
    @Test func ticketRolesAreTheCatalogsRoles() {
        #expect(Role.allCases.map(\.rawValue) == Array(WireTicket.roles))
    }
}
