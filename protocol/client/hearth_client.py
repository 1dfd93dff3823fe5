#!/usr/bin/env python3
"""An independent Hearth client, written from protocol/SPEC.md alone.

With --check-vectors it checks protocol/vectors/transport.json (both connections' handshakes,
transport messages and rekey through noiseprotocol, and every pairing message 3 case judged by
its own pairing-payload decoder), tickets.json (its ticket decoder) and messages.json (its
message decoder, which picks the error SPEC 5.3 names), preamble.json, framing.json and
encoding.json (its preamble, frame and field readers), and exits. (batches.json is checked by
vectors/check_batches.py, whose decoder and authorizer this client uses for live batches.)

Against a running `hearth serve` it:
  0. connects as a stranger (a fresh key, no ticket) and checks that the node closes right after
     handshake message 3 without an Error (SPEC 3);
  1. pairs with a ticket (SPEC 3.1-3.2: preamble mode 1, Noise_XXpsk3, message 3 carrying the
     joiner's identity and device name), exchanges Hellos, and closes (an early end, SPEC 7.2);
  2. connects again as a member (mode 0, Noise_XX), exchanges Hellos, Summaries and Credit;
  3. asks for every batch (BatchRequest with an empty Have), verifies each batch's signature and
     authorization (SPEC 11.6) with the decoder and checker of vectors/check_batches.py, learning
     the keys of every origin from the membership changes it has verified, and prints every
     decoded change; with --expect-relayed some batches must come from an origin other than the
     node it talks to (relayed), verified with the key another origin's memberPut gave;
  4. finds the asset whose original has the BLAKE2b-256 of --expect-original, fetches every
     chunk of every object of it (original, preview, thumbnail, motion part: SPEC 11.4-11.5),
     checks each chunk id and each reassembled object id, and compares the original with the file;
  5. sends Done and closes gracefully; then opens a third session and ends it early with
     Error shutting-down (SPEC 7.2).

Noise comes from the PyPI package `noiseprotocol` (someone else's implementation of the
framework), found on sys.path or in --noise-path; Ed25519 from `cryptography`. Exits 0 when
everything checked out; 2 when `noiseprotocol` cannot be imported; 1 on any failure, with the
reason on stderr.
"""
import argparse, base64, hashlib, os, socket, struct, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "vectors"))

PROLOGUE = b"hearth/1"
WIRE_VERSION = 1
PROTOCOL_VERSION = 2
MAX_BODY = 1048848
MAX_HANDSHAKE = 65535
PIECE = 65519
MiB = 1 << 20
P = 2 ** 255 - 19

T_HELLO, T_SUMMARY, T_BATCHREQ, T_BATCHES, T_CHUNKREQ, T_CHUNKDATA, T_CREDIT, T_DONE, T_ERROR, T_PING = range(1, 11)
NAMES = {1: "Hello", 2: "Summary", 3: "BatchRequest", 4: "Batches", 5: "ChunkRequest", 6: "ChunkData",
         7: "Credit", 8: "Done", 9: "Error", 10: "Ping", 0x80: "Listening"}


class Fail(Exception):
    pass


def log(*a):
    print("hearth_client:", *a, file=sys.stderr, flush=True)


def b2(data):
    return hashlib.blake2b(data, digest_size=32).digest()


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


# ---- keys ---------------------------------------------------------------------------------------

def ed_to_x_public(ed_pub):
    """The X25519 form of an Ed25519 public key (crypto_sign_ed25519_pk_to_curve25519): u = (1+y)/(1-y)."""
    y = int.from_bytes(ed_pub, "little") & ((1 << 255) - 1)
    u = (1 + y) * pow((1 - y) % P, P - 2, P) % P
    return u.to_bytes(32, "little")


def ed_to_x_secret(seed):
    return hashlib.sha512(seed).digest()[:32]  # clamped by X25519 itself


def ed_public(seed):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def new_device():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    seed = os.urandom(32)
    pub = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return seed, pub


# ---- ticket (SPEC 3.2) -----------------------------------------------------------------------

B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def b32decode_strict(b32):
    """RFC 4648 base32 without padding; the bits past the last whole byte (fewer than 5) MUST be zero."""
    acc, bits, out = 0, 0, bytearray()
    for c in b32:
        acc = (acc << 5) | B32.index(c)
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if bits >= 5 or acc & ((1 << bits) - 1):
        raise Fail("ticket length: the last character does not end on a byte")
    return bytes(out)


def parse_ticket(text):
    text = text.strip()
    if len(text) > 4096:
        raise Fail("ticket tooLong: over 4096 characters")
    if text[:8].lower() != "hearth1-":
        raise Fail("ticket prefix")
    b32 = text[8:].upper()
    if any(c not in B32 for c in b32):
        raise Fail("ticket characters: outside base32")
    raw = b32decode_strict(b32)
    if len(raw) < 5:
        raise Fail("ticket length: too short")
    body, check = raw[:-4], raw[-4:]
    if b2(body)[:4] != check:
        raise Fail("ticket check does not match")
    r = Buf(body)
    if r.u8() != 1:
        raise Fail("ticket version")
    t = dict(body=body, library=r.take(16), inviter=r.take(32), ticket_id=r.take(16), secret=r.take(32),
             expires=r.u64(), role=r.u8())
    if t["role"] not in (1, 2, 3, 4):
        raise Fail("ticket role")
    count = r.u8()
    if count > 8:
        raise Fail("ticket addresses: more than 8")
    addrs = []
    for _ in range(count):
        n = r.u8()
        if n == 0:
            raise Fail("ticket address: empty")
        try:
            addrs.append(r.take(n).decode("utf-8"))
        except UnicodeDecodeError:
            raise Fail("ticket address: not UTF-8")
    r.end()
    t["addresses"] = addrs
    return t


def pairing_payload(pub, name):
    """Message 3's payload on a pairing connection (SPEC 3.1): identity, then string(64) name."""
    name_bytes = name.encode("utf-8")
    if not 1 <= len(name_bytes) <= 64:
        raise Fail("a device name is 1 to 64 bytes of UTF-8 (this one is %d)" % len(name_bytes))
    return struct.pack(">H", WIRE_VERSION) + pub + varint(len(name_bytes)) + name_bytes


def parse_pairing_payload(payload):
    """What a responder reads from a pairing message 3: (Ed25519 key, name); Fail when refused."""
    r = Buf(payload)
    if r.u16() != WIRE_VERSION:
        raise Fail("identity version")
    key = r.take(32)
    n = r.varint()
    if not 1 <= n <= 64:
        raise Fail("device name of %d bytes (1 to 64)" % n)
    try:
        name = r.take(n).decode("utf-8")
    except UnicodeDecodeError:
        raise Fail("device name is not UTF-8")
    r.end()
    return key, name


# ---- byte reader ------------------------------------------------------------------------------

class Buf:
    def __init__(self, data):
        self.d, self.p = bytes(data), 0

    def take(self, n):
        if n > len(self.d) - self.p:
            raise Fail("message truncated")
        out = self.d[self.p:self.p + n]
        self.p += n
        return out

    def u8(self): return self.take(1)[0]
    def u16(self): return struct.unpack(">H", self.take(2))[0]
    def u32(self): return struct.unpack(">I", self.take(4))[0]
    def u64(self): return struct.unpack(">Q", self.take(8))[0]

    def varint(self):
        """A minimal LEB128 of at most 10 bytes within 64 bits (SPEC 5)."""
        n, shift = 0, 0
        for i in range(10):
            b = self.u8()
            if i == 9 and b > 1:
                raise Fail("varint overflows 64 bits")
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                if b == 0 and i > 0:
                    raise Fail("varint not minimal")
                return n
        raise Fail("varint longer than 10 bytes")

    def end(self):
        if self.p != len(self.d):
            raise Fail("%d bytes left over" % (len(self.d) - self.p))

    def vector(self):
        n = self.u32()
        if n > 16384:
            raise Fail("vector over 16384 entries")
        out = [(self.take(32), self.u32(), self.u64()) for _ in range(n)]
        keys = [(d, e) for d, e, _ in out]
        if any(a >= b for a, b in zip(keys, keys[1:])) or any(s == 0 for _, _, s in out):
            raise Fail("vector not canonical")
        return out


def encode_vector(entries):
    entries = sorted(entries)
    return struct.pack(">I", len(entries)) + b"".join(d + struct.pack(">IQ", e, s) for d, e, s in entries)


# ---- connection: preamble, Noise, framing, transport (SPEC 2-4) -------------------------------

def _crypt(state, fn, data):
    out = fn(data)
    if state.n % 65536 == 0:  # SPEC 4: rekey before the message with nonce k*65536
        state.rekey()
    return out


def seal(noise, msg):
    """SPEC 4: a message cut into 65,519-byte pieces, each one Noise transport message."""
    if len(msg) > MiB:
        raise Fail("message over 1 MiB")
    enc = noise.noise_protocol.cipher_state_encrypt
    pieces = [msg[i:i + PIECE] for i in range(0, len(msg), PIECE)] or [b""]
    return b"".join(_crypt(enc, noise.encrypt, p) for p in pieces)


def open_body(noise, body):
    dec = noise.noise_protocol.cipher_state_decrypt
    frags = [body[i:i + MAX_HANDSHAKE] for i in range(0, len(body), MAX_HANDSHAKE)]
    if not frags or len(frags[-1]) < 16:
        raise Fail("last fragment shorter than a tag")
    return b"".join(_crypt(dec, noise.decrypt, f) for f in frags)


class Connection:
    def __init__(self, host, port, seed, pub, pairing=None, timeout=20.0):
        from noise.connection import NoiseConnection, Keypair
        if pairing:
            pairing_payload(pub, pairing["name"])  # a name the responder would refuse is not sent
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.pub = pub
        name = b"Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b" if pairing else b"Noise_XX_25519_ChaChaPoly_BLAKE2b"
        n = NoiseConnection.from_name(name)
        n.set_as_initiator()
        n.set_prologue(PROLOGUE)
        n.set_keypair_from_private_bytes(Keypair.STATIC, ed_to_x_secret(seed))
        if pairing:
            n.set_psks(psk=pairing["secret"])
        n.start_handshake()
        self.noise = n
        preamble = b"HRTH" + bytes([WIRE_VERSION, 1 if pairing else 0])
        if pairing:
            preamble += pairing["ticket_id"]
        m1 = bytes(n.write_message(b""))
        expect = 48 if pairing else 32
        if len(m1) != expect:
            raise Fail("message 1 is %d bytes, SPEC says %d" % (len(m1), expect))
        self.sock.sendall(preamble + self.frame(m1))
        m2 = self.read_frame(MAX_HANDSHAKE)
        payload = bytes(n.read_message(m2))
        rs = n.noise_protocol.handshake_state.rs.public_bytes
        self.peer_pub = self.check_identity(payload, rs)
        identity = pairing_payload(pub, pairing["name"]) if pairing else struct.pack(">H", WIRE_VERSION) + pub
        self.sock.sendall(self.frame(bytes(n.write_message(identity))))
        if not n.handshake_finished:
            raise Fail("handshake not finished after message 3")
        self.received = 0

    @staticmethod
    def check_identity(payload, rs):
        if len(payload) != 34:
            raise Fail("identity payload of %d bytes" % len(payload))
        if struct.unpack(">H", payload[:2])[0] != WIRE_VERSION:
            raise Fail("identity version")
        ed = payload[2:]
        if ed_to_x_public(ed) != bytes(rs):
            raise Fail("peer's Ed25519 key does not match its Noise static key")
        return ed

    @staticmethod
    def frame(body):
        return struct.pack(">I", len(body)) + body

    def recv_exact(self, n):
        out = bytearray()
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise Fail("connection closed by the peer")
            out += chunk
        return bytes(out)

    def read_frame(self, limit=MAX_BODY):
        (n,) = struct.unpack(">I", self.recv_exact(4))
        if n > limit:
            raise Fail("frame of %d bytes over the limit %d" % (n, limit))
        if n == 0:
            raise Fail("empty frame")
        return self.recv_exact(n)

    def send(self, msg):
        if os.environ.get("HEARTH_CLIENT_DEBUG"):
            log("-> %s (%d bytes)" % (NAMES.get(msg[0], msg[0]), len(msg)))
        self.sock.sendall(self.frame(seal(self.noise, msg)))

    def recv(self):
        msg = open_body(self.noise, self.read_frame())
        if not msg:
            raise Fail("empty message")
        if os.environ.get("HEARTH_CLIENT_DEBUG"):
            log("<- %s (%d bytes)" % (NAMES.get(msg[0], msg[0]), len(msg)))
        return msg

    def close(self, drain=2.0):
        """SPEC 7.2: a graceful close (FIN), reading what the peer still sends until it closes too,
        so that unread data does not turn the close into a reset that could lose our last frames."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
            self.sock.settimeout(drain)
            while self.sock.recv(65536):
                pass
        except OSError:
            pass
        finally:
            self.sock.close()


# ---- messages (SPEC 6) --------------------------------------------------------------------------

def hello(pub, library, epoch=1, policy=0, software=b"hearth-py/0.1"):
    return bytes([T_HELLO]) + struct.pack(">H", PROTOCOL_VERSION) + pub + library + struct.pack(">IBB", epoch, policy, len(software)) + software


def parse_hello(msg):
    r = Buf(msg[1:])
    h = dict(version=r.u16(), key=r.take(32), library=r.take(16), epoch=r.u32(), policy=r.u8())
    n = r.u8()
    if n > 64:
        raise Fail("Hello software over 64 bytes")
    h["software"] = r.take(n).decode("utf-8")
    r.end()
    if h["policy"] > 2 or h["version"] < 1:
        raise Fail("Hello field out of range")
    return h


def parse_error(msg):
    r = Buf(msg[1:])
    code, n = r.u16(), r.u16()
    return code, r.take(n).decode("utf-8", "replace")


def exchange_hellos(conn, library):
    conn.send(hello(conn.pub, library))
    msg = conn.recv()
    if msg[0] == T_ERROR:
        raise Fail("peer refused: Error %d %s" % parse_error(msg))
    if msg[0] != T_HELLO:
        raise Fail("first message is type %d, not Hello" % msg[0])
    h = parse_hello(msg)
    if h["key"] != conn.peer_pub:
        raise Fail("Hello key differs from the handshake key")
    if h["library"] != library:
        raise Fail("Hello names another library")
    h["session_version"] = min(PROTOCOL_VERSION, h["version"])
    return h


# ---- the session ------------------------------------------------------------------------------

def describe_change(c):
    """One line for a decoded change (the form of check_batches.decode, SPEC 11.2)."""
    t = c["type"]
    if t == "genesis":
        return "genesis founder %s" % c["device"][:12] if "device" in c else "genesis key %s" % c["publicKey"][:12]
    if t == "memberPut":
        return "memberPut %s %r %s" % (c["device"][:12], c["name"], c["role"])
    if t == "memberRemove":
        return "memberRemove %s" % c["device"][:12]
    if t == "importAsset":
        o = c["original"]
        return "importAsset %s %r original %d bytes in %d chunk(s), %d field(s)%s" % (
            c["asset"][:12], c["fileName"], o["size"], len(o["chunks"]), len(c["fields"]),
            " + unknown ones kept" if c.get("unknownFieldsKept") else "")
    if t == "setField":
        return "setField %s %s = %s" % (c["asset"][:12], c["name"], short_value(c["value"]))
    if t == "unknown":
        return "kind %d not understood, kept (%d bytes)" % (c["kind"], len(c["body"]) // 2)
    rest = {k: v for k, v in c.items() if k not in ("kind", "type")}
    return "%s %s" % (t, " ".join("%s=%s" % (k, short_value(v)) for k, v in sorted(rest.items())))


def short_value(v):
    if isinstance(v, dict) and "object" in v:
        return "object %s (%d bytes, %d chunks)" % (v["object"]["id"][:12], v["object"]["size"], len(v["object"]["chunks"]))
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


class Session:
    def __init__(self, conn, library):
        import check_batches
        self.cb = check_batches
        self.conn, self.library = conn, library
        self.node = check_batches.Node(library)
        self.changes = []       # (origin, seq, decoded change)
        self.batch_count = 0
        self.origins = set()
        self.granted = 0        # credit granted to the peer and not yet used
        self.peer_credit = 0    # credit the peer granted us
        self.peer_summary = None
        self.batches_of = {}    # origin -> batches verified
        self.key_source = {}    # origin -> the change whose key verified its batches

    def grant(self, n):
        n = min(n, 64 * MiB - self.granted)
        if n > 0:
            self.conn.send(bytes([T_CREDIT]) + struct.pack(">I", n))
            self.granted += n

    def vector(self):
        return [(bytes.fromhex(d), e, s) for (d, e), s in self.node.held.items()]

    def next(self, summary=False):
        """The next message that the session must act on; answers Pings and requests on the way."""
        while True:
            msg = self.conn.recv()
            t = msg[0]
            if t in (T_BATCHES, T_CHUNKDATA):
                if len(msg) > self.granted:
                    raise Fail("peer sent %d bytes past the credit (%d)" % (len(msg), self.granted))
                self.granted -= len(msg)
                self.grant(len(msg))  # stored at once: grant it back
                return msg
            if t == T_ERROR:
                raise Fail("peer closed with Error %d %s" % parse_error(msg))
            if t == T_PING:
                r = Buf(msg[1:])
                nonce, flags = r.take(8), r.u8()
                r.end()
                if not flags & 1:
                    self.conn.send(bytes([T_PING]) + nonce + b"\x01")
                continue
            if t == T_CREDIT:
                r = Buf(msg[1:]); self.peer_credit += r.u32(); r.end()
                continue
            if t == T_SUMMARY:
                r = Buf(msg[1:]); self.peer_summary = r.vector(); r.end()
                if summary:
                    return msg
                continue
            if t == T_BATCHREQ:  # we hold nothing the peer lacks: an empty, complete answer
                r = Buf(msg[1:]); r.vector(); r.end()
                answer = bytes([T_BATCHES, 1]) + struct.pack(">I", 0)
                if len(answer) > self.peer_credit:
                    raise Fail("no credit to answer the peer's BatchRequest")
                self.peer_credit -= len(answer)
                self.conn.send(answer)
                continue
            if t == T_CHUNKREQ:  # we hold no chunk: every one absent
                r = Buf(msg[1:]); ids = [r.take(32) for _ in range(r.u16())]; r.end()
                for cid in ids:
                    answer = bytes([T_CHUNKDATA]) + cid + b"\x00"
                    self.peer_credit -= len(answer)
                    self.conn.send(answer)
                continue
            if t == T_DONE:
                r = Buf(msg[1:]); r.vector(); r.end()
                continue
            if t >= 0x80:
                continue  # optional (Listening, ...): ignored
            return msg

    def start(self):
        self.conn.send(bytes([T_SUMMARY]) + encode_vector([]))
        self.grant(8 * MiB)
        msg = self.next(summary=True)
        if msg[0] != T_SUMMARY:
            raise Fail("unexpected %s before the peer's Summary" % NAMES.get(msg[0], msg[0]))

    def pull_batches(self):
        self.conn.send(bytes([T_BATCHREQ]) + encode_vector(self.vector()))
        while True:
            msg = self.next()
            if msg[0] != T_BATCHES:
                raise Fail("expected Batches, got %s" % NAMES.get(msg[0], msg[0]))
            r = Buf(msg[1:])
            flags, count = r.u8(), r.u32()
            if flags & ~1 or count > 4096:
                raise Fail("Batches flags or count")
            for _ in range(count):
                device, epoch, first, last = r.take(32), r.u32(), r.u64(), r.u64()
                n = r.u32()
                if n > 1048448:
                    raise Fail("batch payload over the limit")
                payload, sig = r.take(n), r.take(64)
                self.verify_and_apply(device, epoch, first, last, payload, sig)
            r.end()
            if flags & 1:
                return

    def verify_and_apply(self, device, epoch, first, last, payload, sig):
        if not 1 <= first <= last:
            raise Fail("batch range %d...%d" % (first, last))
        case = dict(device=device.hex(), epoch=epoch, firstSeq=first, lastSeq=last, signature=sig.hex())
        try:
            decoded, deferred = self.cb.decode(payload, case)
        except self.cb.Malformed as e:
            raise Fail("batch %s/%d %d...%d malformed: %s" % (device.hex()[:12], epoch, first, last, e))
        verdict = self.node.authorize(case, payload, decoded)
        if verdict is not None:
            raise Fail("batch %s/%d %d...%d refused: %s" % (device.hex()[:12], epoch, first, last, verdict))
        self.node.apply(case, decoded, deferred)
        self.batch_count += 1
        origin = (device, epoch)
        self.origins.add(origin)
        self.batches_of[origin] = self.batches_of.get(origin, 0) + 1
        if origin not in self.key_source:
            self.key_source[origin] = self.where_key_came_from(device.hex(), decoded)
        base = int(decoded["hlc"])
        for i, c in enumerate(decoded["changes"]):
            stamp = (base + i, device, epoch, first + i)
            self.changes.append((origin, first + i, c, stamp))
            log("  %s/%d #%d %s" % (device.hex()[:12], epoch, first + i, describe_change(c)))

    def where_key_came_from(self, device, decoded):
        """Which change gave the key that verified this origin's first batch (SPEC 11.6)."""
        first = decoded["changes"][0]
        if first["type"] == "genesis":
            return "its own genesis"
        puts = [(stamp, o) for o, entries in self.node.membership.items()
                for stamp, target, key, role in entries if target == device and key is not None]
        if not puts:
            raise Fail("batch of %s verified without a memberPut of its key" % device[:12])
        stamp, (odev, oepoch) = max(puts)
        return "memberPut #%d of origin %s/%d" % (stamp[3], odev[:12], oepoch)

    def fetch_object(self, obj):
        ids = [bytes.fromhex(c) for c in obj["chunks"]]
        wanted = sorted(set(ids))
        got = {}
        for i in range(0, len(wanted), 1024):
            batch = wanted[i:i + 1024]
            self.conn.send(bytes([T_CHUNKREQ]) + struct.pack(">H", len(batch)) + b"".join(batch))
            for cid in batch:
                got[cid] = self.receive_chunk(cid)
        data = b"".join(got[c] for c in ids)
        if len(data) != obj["size"]:
            raise Fail("object is %d bytes, the batch says %d" % (len(data), obj["size"]))
        if b2(data).hex() != obj["id"]:
            raise Fail("reassembled object's BLAKE2b-256 differs from its id")
        return data

    def receive_chunk(self, cid):
        buf, total = bytearray(), None
        while True:
            msg = self.next()
            if msg[0] != T_CHUNKDATA:
                raise Fail("expected ChunkData, got %s" % NAMES.get(msg[0], msg[0]))
            r = Buf(msg[1:])
            if r.take(32) != cid:
                raise Fail("ChunkData for another chunk")
            status = r.u8()
            if status == 0:
                raise Fail("peer does not hold chunk %s" % cid.hex())
            if status != 1:
                raise Fail("ChunkData status %d" % status)
            t, off, n = r.u32(), r.u32(), r.u32()
            piece = r.take(n)
            r.end()
            if total is None:
                total = t
            if t != total or off != len(buf) or off + n > t or (n == 0 and t != 0):
                raise Fail("ChunkData piece out of order")
            buf += piece
            if len(buf) == total:
                if b2(bytes(buf)) != cid:
                    raise Fail("chunk %s does not hash to its id" % cid.hex())
                return bytes(buf)

    def done(self):
        self.conn.send(bytes([T_DONE]) + encode_vector(self.vector()))


# ---- the vectors (protocol/vectors), checked with this client's own code -------------------------

def check_transport_vectors(path):
    """transport.json: both connections' handshake frames and hash, sealed transport messages and a
    rekey, reproduced with noiseprotocol and this client's payloads; every pairing message 3 case
    read as a responder would and judged by parse_pairing_payload. Returns the number of checks."""
    import json, warnings
    from noise.connection import NoiseConnection, Keypair
    warnings.filterwarnings("ignore", message="One of ephemeral keypairs is already set")  # fixed on purpose here
    doc = json.load(open(path, encoding="utf-8"))
    checks = 0

    def expect(cond, what):
        nonlocal checks
        if not cond:
            raise Fail("transport.json: " + what)
        checks += 1

    def unframe(hexframe):
        f = bytes.fromhex(hexframe)
        (n,) = struct.unpack(">I", f[:4])
        expect(n == len(f) - 4 and n <= MAX_HANDSHAKE, "a frame's length")
        return f[4:]

    for c in doc["connections"]:
        name, psk = c["name"], bytes.fromhex(c["psk"]) if c["psk"] else None
        i_seed, r_seed = bytes.fromhex(c["initiator_ed25519_seed"]), bytes.fromhex(c["responder_ed25519_seed"])
        i_pub, r_pub = ed_public(i_seed), ed_public(r_seed)
        expect(bytes.fromhex(c["prologue"]) == PROLOGUE, "%s prologue" % name)

        def side(initiator, seed, eph):
            n = NoiseConnection.from_name(c["protocol_name"].encode())
            n.set_as_initiator() if initiator else n.set_as_responder()
            n.set_prologue(PROLOGUE)
            n.set_keypair_from_private_bytes(Keypair.STATIC, ed_to_x_secret(seed))
            n.set_keypair_from_private_bytes(Keypair.EPHEMERAL, bytes.fromhex(eph))
            if psk:
                n.set_psks(psk=psk)
            n.start_handshake()
            return n

        def to_message3():
            a = side(True, i_seed, c["initiator_ephemeral"])
            b = side(False, r_seed, c["responder_ephemeral"])
            m1 = bytes(a.write_message(b""))
            expect(Connection.frame(m1).hex() == c["handshake_frames"][0], "%s message 1" % name)
            expect(bytes(b.read_message(m1)) == b"", "%s message 1 payload" % name)
            m2 = bytes(b.write_message(struct.pack(">H", WIRE_VERSION) + r_pub))
            expect(Connection.frame(m2).hex() == c["handshake_frames"][1], "%s message 2" % name)
            got = Connection.check_identity(bytes(a.read_message(m2)), a.noise_protocol.handshake_state.rs.public_bytes)
            expect(got == r_pub, "%s responder identity" % name)
            return a, b

        a, b = to_message3()
        m3_payload = pairing_payload(i_pub, c["joiner_name"]) if psk else struct.pack(">H", WIRE_VERSION) + i_pub
        m3 = bytes(a.write_message(m3_payload))
        expect(Connection.frame(m3).hex() == c["handshake_frames"][2], "%s message 3" % name)
        b_state = b.noise_protocol.handshake_state  # dropped once the handshake is done
        read3 = bytes(b.read_message(m3))
        if psk:
            key, joiner = parse_pairing_payload(read3)
            expect(key == i_pub and joiner == c["joiner_name"], "%s message 3 name" % name)
        else:
            expect(Connection.check_identity(read3, b_state.rs.public_bytes) == i_pub,
                   "%s initiator identity" % name)
        expect(a.handshake_finished and b.handshake_finished, "%s handshake finished" % name)
        expect(bytes(a.get_handshake_hash()).hex() == c["handshake_hash"], "%s handshake hash" % name)
        ends = {"initiator": (a, b), "responder": (b, a)}
        for k, t in enumerate(c["transport"]):
            tx, rx = ends[t["sender"]]
            for _ in range(t["skip_empty_noise_messages"]):
                open_body(rx, seal(tx, b""))
            plain = bytes((j * 7) & 0xFF for j in range(t["plaintext_length"]))
            f = Connection.frame(seal(tx, plain))
            if "frame" in t:
                expect(f.hex() == t["frame"], "%s transport %d" % (name, k))
            else:
                expect(f[:64].hex() == t["frame_prefix"] and b2(f).hex() == t["frame_blake2b256"],
                       "%s transport %d" % (name, k))
            expect(open_body(rx, f[4:]) == plain, "%s transport %d opens" % (name, k))
        for case in c.get("message3_cases", []):
            a, b = to_message3()
            read = bytes(b.read_message(unframe(case["frame"])))
            expect(read.hex() == case["payload"], "%s %s payload" % (name, case["name"]))
            try:
                key, joiner = parse_pairing_payload(read)
                verdict = "accept"
                expect(key == i_pub and joiner == case["device_name"], "%s %s name" % (name, case["name"]))
                expect(pairing_payload(key, joiner) == read, "%s %s re-encodes" % (name, case["name"]))
            except Fail:
                verdict = "refuse"
            expect(verdict == case["verdict"], "%s %s: the vector says %s, this client %s" % (
                name, case["name"], case["verdict"], verdict))
    return checks


def check_ticket_vectors(path):
    """tickets.json: every valid ticket decodes to its fields, every invalid one is refused."""
    import json
    doc = json.load(open(path, encoding="utf-8"))
    checks = 0
    for case in doc["cases"]:
        try:
            t = parse_ticket(case["text"])
        except Fail as e:
            if case["error"] is None:
                raise Fail("tickets.json %s: refused (%s), the vector says valid" % (case["name"], e))
            checks += 1
            continue
        if case["error"] is not None:
            raise Fail("tickets.json %s: accepted, the vector says %s" % (case["name"], case["error"]))
        got = dict(body=t["body"].hex(), library=t["library"].hex(), inviter=t["inviter"].hex(),
                   ticket_id=t["ticket_id"].hex(), secret=t["secret"].hex(), expires_at=t["expires"],
                   role=t["role"], addresses=t["addresses"])
        for k, v in got.items():
            if case[k] != v:
                raise Fail("tickets.json %s: %s is %r, the vector says %r" % (case["name"], k, v, case[k]))
        checks += 1
    return checks


class Invalid(Exception):
    """A message that breaks a rule of SPEC 6; `code` is the decoding error of messages.json."""
    def __init__(self, code):
        super().__init__(code)
        self.code = code


class MsgReader:
    """SPEC 5.3: fields in order, each judged as soon as it is read."""
    def __init__(self, data):
        self.d, self.p = data, 0

    def left(self):
        return len(self.d) - self.p

    def take(self, n):
        if n > self.left():
            raise Invalid("truncated")
        out = self.d[self.p:self.p + n]
        self.p += n
        return out

    def uint(self, width):
        return int.from_bytes(self.take(width), "big")

    def limited(self, width, limit, low=0):
        n = self.uint(width)
        if not low <= n <= limit:
            raise Invalid("limitExceeded")
        return n

    def text(self, n):
        try:
            return self.take(n).decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid("badUTF8")

    def counted(self, width, limit, size, low=0):
        n = self.limited(width, limit, low)
        if n * size > self.left():
            raise Invalid("truncated")  # step 3: fixed-size elements are checked ahead
        return n

    def vector(self):
        last = None
        for _ in range(self.counted(4, 16384, 44)):
            device, epoch, seq = self.take(32), self.uint(4), self.uint(8)
            if seq == 0:
                raise Invalid("invalidField")
            if last is not None and not last < (device, epoch):
                raise Invalid("notCanonical")
            last = (device, epoch)


def listening_address_ok(a):
    if any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in a):
        return False
    if a.startswith("["):
        host, close, rest = a[1:].partition("]")
        if not close or not host or "[" in host or not rest.startswith(":"):
            return False
        port = rest[1:]
    else:
        host, colon, port = a.rpartition(":")
        if not colon or not host or any(ch in host for ch in ":[]"):
            return False
    return port.isdigit() and port.isascii() and not port.startswith("0") and 1 <= int(port) <= 65535


def decode_message(msg):
    """Decodes (and so validates) one message of SPEC 6 in the order of SPEC 5.3; raises Invalid."""
    if len(msg) > MiB:
        raise Invalid("limitExceeded")
    r = MsgReader(msg)
    t = r.uint(1)
    if t == 0 or 0x0B <= t <= 0x7F:
        raise Invalid("unknownType")
    if t > 0x80:
        return "unknown optional"  # ignored, body unread
    if t == T_HELLO:
        if r.uint(2) == 0:
            raise Invalid("invalidField")
        r.take(32 + 16 + 4)
        if r.uint(1) > 2:
            raise Invalid("invalidField")
        r.text(r.limited(1, 64))
    elif t in (T_SUMMARY, T_BATCHREQ, T_DONE):
        r.vector()
    elif t == T_BATCHES:
        if r.uint(1) & ~1:
            raise Invalid("invalidField")
        for _ in range(r.limited(4, 4096)):
            r.take(32 + 4)
            first, last = r.uint(8), r.uint(8)
            if not 1 <= first <= last:
                raise Invalid("invalidField")
            r.take(r.limited(4, 1048448))
            r.take(64)
    elif t == T_CHUNKREQ:
        last = None
        for _ in range(r.counted(2, 1024, 32, low=1)):
            cid = r.take(32)
            if last is not None and not last < cid:
                raise Invalid("notCanonical")
            last = cid
    elif t == T_CHUNKDATA:
        r.take(32)
        status = r.uint(1)
        if status == 1:
            total, offset, n = r.limited(4, 8 * MiB), r.uint(4), r.limited(4, MiB - 64)
            if offset + n > total or (n == 0 and total != 0):
                raise Invalid("invalidField")
            r.take(n)
        elif status != 0:
            raise Invalid("invalidField")
    elif t == T_CREDIT:
        if r.uint(4) == 0:
            raise Invalid("invalidField")
    elif t == T_ERROR:
        r.uint(2)
        r.text(r.limited(2, 1024))
    elif t == T_PING:
        r.take(8)
        if r.uint(1) & ~1:
            raise Invalid("invalidField")
    elif t == 0x80:  # Listening
        if r.uint(2) == 0:
            raise Invalid("invalidField")
        for _ in range(r.limited(1, 8)):
            if not listening_address_ok(r.text(r.uint(1))):
                raise Invalid("invalidField")
    if r.left():
        raise Invalid("trailingBytes")
    return NAMES[t]


def check_message_vectors(path):
    """messages.json: every valid case decodes; every invalid one fails with its error (5.3)."""
    import json
    doc = json.load(open(path, encoding="utf-8"))
    for case in doc["valid"]:
        try:
            decode_message(bytes.fromhex("".join(part[0] for part in case["parts"])))
        except Invalid as e:
            raise Fail("messages.json %s: refused (%s), the vector says valid" % (case["name"], e.code))
    for case in doc["invalid"]:
        try:
            got = "decoded as %s" % decode_message(bytes.fromhex("".join(part[0] for part in case["parts"])))
        except Invalid as e:
            got = e.code
        if got != case["error"]:
            raise Fail("messages.json %s: %s, the vector says %s" % (case["name"], got, case["error"]))
    return len(doc["valid"]), len(doc["invalid"])


def parse_preamble(data):
    """SPEC 3.1 as a responder reads it: ("incomplete",), ("invalid", why) or (mode, ticket id, used)."""
    for i, b in enumerate(data[:4]):
        if b != b"HRTH"[i]:
            return ("invalid", "magic")
    if len(data) < 6:
        return ("incomplete",)
    if data[4] != WIRE_VERSION:
        return ("invalid", "version")
    if data[5] == 0:
        return ("member", None, 6)
    if data[5] != 1:
        return ("invalid", "mode")
    if len(data) < 22:
        return ("incomplete",)
    return ("pairing", data[6:22], 22)


def deframe(data, limit=MAX_BODY):
    """SPEC 2: every frame of a whole stream, then the error at its end (None, frameTooLarge or
    truncatedFrame); an oversized header is refused before its body is read."""
    frames, p = [], 0
    while p < len(data):
        if len(data) - p < 4:
            return frames, "truncatedFrame"
        (n,) = struct.unpack(">I", data[p:p + 4])
        if n > limit:
            return frames, "frameTooLarge"
        if len(data) - p - 4 < n:
            return frames, "truncatedFrame"
        frames.append(data[p + 4:p + 4 + n])
        p += 4 + n
    return frames, None


def read_field(kind, data, max_length=None):
    """One field of SPEC 5 (encoding.json's strict form): (value as text, None) or (None, error)."""
    r = MsgReader(data)
    try:
        if kind == "varint" or kind == "string":
            try:
                n = Buf(data).varint()
            except Fail as e:
                return None, "truncated" if "truncated" in str(e) else "badVarint"
            if kind == "varint":
                r.p = len(varint(n))
                value = str(n)
            else:
                r.p = len(varint(n))
                if n > max_length:
                    return None, "fieldTooLong"
                value = r.text(n)
        elif kind == "bool":
            b = r.uint(1)
            if b > 1:
                return None, "invalidValue"
            value = "true" if b else "false"
        else:
            value = str(r.uint({"uint16": 2, "uint32": 4, "uint64": 8}[kind]))
    except Invalid as e:
        return None, e.code
    if r.left():
        return None, "trailingBytes"
    return value, None


def check_small_vectors(here):
    """preamble.json, framing.json and encoding.json with this client's readers."""
    import json
    n = 0
    for c in json.load(open(os.path.join(here, "preamble.json"), encoding="utf-8"))["cases"]:
        got = parse_preamble(bytes.fromhex(c["input"]))
        want = (c["mode"], bytes.fromhex(c["ticket_id"]) if c["ticket_id"] else None, c["consumed"]) \
            if c["error"] is None else (c["error"],)
        if got[:len(want)] != want:
            raise Fail("preamble.json %s: %r, the vector says %r" % (c["name"], got, want))
        n += 1
    doc = json.load(open(os.path.join(here, "framing.json"), encoding="utf-8"))
    for c in doc["cases"]:
        frames, error = deframe(bytes.fromhex(c["input"]), c.get("max_body_length") or doc["default_max_body_length"])
        if [f.hex() for f in frames] != c["frames"] or error != c["error"]:
            raise Fail("framing.json %s: %d frames and %s, the vector says %d and %s" % (
                c["name"], len(frames), error, len(c["frames"]), c["error"]))
        n += 1
    for c in json.load(open(os.path.join(here, "encoding.json"), encoding="utf-8"))["cases"]:
        value, error = read_field(c["type"], bytes.fromhex(c["input"]), c.get("max_length"))
        if (value, error) != (c["value"], c["error"]):
            raise Fail("encoding.json %s: %r %r, the vector says %r %r" % (c["name"], value, error, c["value"], c["error"]))
        n += 1
    return n


def check_vectors():
    here = os.path.join(HERE, "..", "vectors")
    started = time.time()
    n = check_transport_vectors(os.path.join(here, "transport.json"))
    log("transport.json: %d checks passed" % n)
    n = check_ticket_vectors(os.path.join(here, "tickets.json"))
    log("tickets.json: %d cases passed" % n)
    valid, invalid = check_message_vectors(os.path.join(here, "messages.json"))
    log("messages.json: %d valid and %d invalid cases passed (errors chosen as SPEC 5.3 says)" % (valid, invalid))
    n = check_small_vectors(here)
    log("preamble.json, framing.json, encoding.json: %d cases passed" % n)
    log("vectors ok in %.1f s" % (time.time() - started))


# ---- main -------------------------------------------------------------------------------------

OBJECT_FIELDS = {21: "motionVideo", 28: "thumbnail", 29: "preview"}


def asset_objects(changes, asset):
    """The objects of an asset as the catalog shows them (SPEC 11.4-11.5): the winning import's
    original, and each object field's value from the winning setField, else the winning import."""
    imports = [(stamp, origin, ch) for origin, _, ch, stamp in changes if ch["kind"] == 4 and ch["asset"] == asset]
    if not imports:
        raise Fail("no import of asset %s in the catalog" % asset[:12])
    _, writer, imp = max(imports, key=lambda x: x[0])
    objects = {"original": imp["original"]}
    for f in imp["fields"]:
        if f["field"] in OBJECT_FIELDS and f["value"] is not None:
            objects[OBJECT_FIELDS[f["field"]]] = f["value"]["object"]
    sets = sorted((stamp, ch) for _, _, ch, stamp in changes
                  if ch["type"] == "setField" and ch["asset"] == asset and ch["field"] in OBJECT_FIELDS)
    for _, ch in sets:
        if ch["value"] is None:
            objects.pop(OBJECT_FIELDS[ch["field"]], None)
        else:
            objects[OBJECT_FIELDS[ch["field"]]] = ch["value"]["object"]
    return objects, imp, writer


def stranger_refused(host, port, library, inviter):
    """A device that is no member completes its side of the handshake and sends its Hello; the
    node MUST close without a word (no Error, no Hello): a bare close after message 3."""
    seed, pub = new_device()
    c = Connection(host, port, seed, pub)
    if b2(c.peer_pub) != inviter:
        raise Fail("stranger: responder is another device")
    try:
        c.send(hello(pub, library))
        msg = c.recv()
    except (Fail, OSError) as e:
        if isinstance(e, Fail) and "closed by the peer" not in str(e):
            raise
        log("a stranger's member session: closed after message 3 with no Error, as SPEC 3 says")
        return
    finally:
        c.sock.close()
    raise Fail("a stranger was answered with %s instead of a bare close" % NAMES.get(msg[0], msg[0]))


def split_address(a):
    host, _, port = a.rpartition(":")
    return host.strip("[]"), int(port)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check-vectors", action="store_true",
                    help="check protocol/vectors (all but batches.json, which check_batches.py checks) with this client's code, then exit")
    ap.add_argument("--ticket", help="the ticket text of `hearth invite`")
    ap.add_argument("--expect-original", help="a file that was imported: its original is fetched and compared")
    ap.add_argument("--expect-relayed", action="store_true",
                    help="require batches of an origin other than the peer (a second writing member), and that the asset is theirs")
    ap.add_argument("--name", default="Python client", help="the device name sent in pairing message 3")
    ap.add_argument("--noise-path", help="a folder holding the `noise` package (noiseprotocol)")
    args = ap.parse_args()
    if args.noise_path:
        sys.path.insert(0, args.noise_path)
    try:
        import noise.connection  # noqa: F401
    except ImportError:
        log("SKIP: the noiseprotocol package is not installed (make client-deps)")
        return 2
    if args.check_vectors:
        try:
            check_vectors()
        except Fail as e:
            log("FAIL: %s" % e)
            return 1
        return 0
    if not args.ticket or not args.expect_original:
        ap.error("--ticket and --expect-original are needed (or --check-vectors)")
    started = time.time()
    try:
        ticket = parse_ticket(args.ticket)
        if not ticket["addresses"]:
            raise Fail("ticket has no address")
        host, port = split_address(ticket["addresses"][0])
        seed, pub = new_device()
        library = ticket["library"]

        # 0. a stranger (SPEC 3): the responder closes right after message 3, without an Error
        stranger_refused(host, port, library, ticket["inviter"])

        # 1. pairing
        pairing = dict(ticket_id=ticket["ticket_id"], secret=ticket["secret"], name=args.name)
        c = Connection(host, port, seed, pub, pairing=pairing)
        if b2(c.peer_pub) != ticket["inviter"]:
            raise Fail("pairing responder is not the ticket's inviter")
        h = exchange_hellos(c, library)
        log("paired with %s (%s), protocol %d" % (b2(c.peer_pub).hex()[:12], h["software"], h["session_version"]))
        c.close()  # SPEC 7.2: a bare close right after the Hellos ends the session too

        # 2. member session
        c = Connection(host, port, seed, pub)
        if b2(c.peer_pub) != ticket["inviter"]:
            raise Fail("member session: responder is another device")
        h = exchange_hellos(c, library)
        s = Session(c, library)
        s.start()
        s.pull_batches()
        members = {}
        for origin, seq, ch, stamp in s.changes:
            if ch["kind"] == 2:
                members[ch["device"]] = (ch["name"], ch["role"])
        me = b2(pub).hex()
        if me not in members:
            raise Fail("this device is not in the member list the batches give")
        log("%d batches from %d origin(s) verified, %d changes; members: %s" % (
            s.batch_count, len(s.origins), len(s.changes),
            ", ".join("%s %r %s" % (d[:12], n, r) for d, (n, r) in sorted(members.items()))))
        if [v for v in s.peer_summary if (v[0].hex(), v[1]) not in s.node.held or s.node.held[(v[0].hex(), v[1])] < v[2]]:
            raise Fail("the batches do not cover the peer's Summary")
        peer_device = b2(c.peer_pub)
        relayed = []
        for (dev, ep), n in sorted(s.batches_of.items()):
            kind = "from the peer itself" if dev == peer_device else "relayed"
            log("origin %s/%d (%s): %d batch(es) verified with the key of %s" % (
                dev.hex()[:12], ep, kind, n, s.key_source[(dev, ep)]))
            if dev != peer_device:
                relayed.append((dev, ep))
        if args.expect_relayed and not relayed:
            raise Fail("no relayed batch: every batch came from the peer's own origin")

        # 3. every object of one asset: the original (compared with the file), preview, thumbnail...
        expected = open(args.expect_original, "rb").read()
        asset = b2(expected).hex()
        objects, imp, writer = asset_objects(s.changes, asset)
        if args.expect_relayed and writer not in relayed:
            raise Fail("asset %s was not written by a relayed origin" % asset[:12])
        original = objects["original"]
        if original["id"] != asset:
            raise Fail("the import's original id differs from its asset id")
        chunks = 0
        for what, obj in sorted(objects.items()):
            data = s.fetch_object(obj)
            chunks += len(obj["chunks"])
            if what == "original" and data != expected:
                raise Fail("the fetched original differs from the file")
            log("%s of %s (%s): %d bytes in %d chunk(s), BLAKE2b-256 = object id%s" % (
                what, asset[:12], imp["fileName"], len(data), len(obj["chunks"]),
                ", byte-identical to the file" if what == "original" else ""))
        log("asset %s: %d object(s), %d chunk(s) fetched and verified" % (asset[:12], len(objects), chunks))
        # 4. the end (SPEC 7.2): Done, then an orderly close.
        s.done()
        c.close()

        # 5. a session ended early (SPEC 7.2): Hellos and Summary, then Error shutting-down and close.
        c = Connection(host, port, seed, pub)
        exchange_hellos(c, library)
        Session(c, library).start()  # Summaries (and Credit) both ways: the node is in the session
        text = b"have what I wanted"
        c.send(bytes([T_ERROR]) + struct.pack(">HH", 12, len(text)) + text)
        c.close()
        log("ended a third session early with Error shutting-down")
    except (Fail, OSError, ValueError) as e:
        log("FAIL: %s" % e)
        return 1
    except Exception as e:  # a Noise failure (bad tag, ...) from the library
        log("FAIL: %s: %s" % (type(e).__name__, e))
        return 1
    log("ok in %.1f s" % (time.time() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
