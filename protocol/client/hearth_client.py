#!/usr/bin/env python3
"""An independent Hearth client, written from protocol/SPEC.md alone.

Against a running `hearth serve` it:
  1. pairs with a ticket (SPEC 3.1-3.2: preamble mode 1, Noise_XXpsk3, message 3 carrying the
     joiner's identity and device name), and exchanges Hellos so the admission is known to hold;
  2. connects again as a member (mode 0, Noise_XX), exchanges Hellos, Summaries and Credit;
  3. asks for every batch (BatchRequest with an empty Have), verifies each batch's signature and
     authorization (SPEC 11.6) with the decoder and checker of vectors/check_batches.py, learning
     the keys of every origin from the membership changes it has verified;
  4. finds the import whose original has the BLAKE2b-256 of --expect-original, fetches every
     chunk of it (ChunkRequest/ChunkData), checks each chunk id and the reassembled object id,
     and compares the bytes with the file;
  5. sends Done and closes.

Noise comes from the PyPI package `noiseprotocol` (someone else's implementation of the
framework), found on sys.path or in --noise-path. Exits 0 when everything checked out; 2 when
`noiseprotocol` cannot be imported; 1 on any failure, with the reason on stderr.
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


def new_device():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    seed = os.urandom(32)
    pub = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return seed, pub


# ---- ticket (SPEC 3.2) -----------------------------------------------------------------------

def parse_ticket(text):
    text = text.strip()
    if len(text) > 4096:
        raise Fail("ticket longer than 4096 characters")
    if text[:8].lower() != "hearth1-":
        raise Fail("ticket prefix")
    b32 = text[8:].upper()
    if any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" for c in b32):
        raise Fail("ticket character outside base32")
    raw = base64.b32decode(b32 + "=" * (-len(b32) % 8))
    body, check = raw[:-4], raw[-4:]
    if b2(body)[:4] != check:
        raise Fail("ticket check does not match")
    r = Buf(body)
    if r.u8() != 1:
        raise Fail("ticket version")
    t = dict(library=r.take(16), inviter=r.take(32), ticket_id=r.take(16), secret=r.take(32),
             expires=r.u64(), role=r.u8())
    if t["role"] not in (1, 2, 3, 4):
        raise Fail("ticket role")
    count = r.u8()
    if count > 8:
        raise Fail("ticket address count")
    addrs = []
    for _ in range(count):
        n = r.u8()
        if n == 0:
            raise Fail("empty ticket address")
        addrs.append(r.take(n).decode("utf-8"))
    r.end()
    t["addresses"] = addrs
    return t


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

class Connection:
    def __init__(self, host, port, seed, pub, pairing=None, timeout=20.0):
        from noise.connection import NoiseConnection, Keypair
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
        identity = struct.pack(">H", WIRE_VERSION) + pub
        if pairing:
            name_bytes = pairing["name"].encode("utf-8")
            identity += varint(len(name_bytes)) + name_bytes
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

    def _crypt(self, state, fn, data):
        out = fn(data)
        if state.n % 65536 == 0:  # SPEC 4: rekey before the message with nonce k*65536
            state.rekey()
        return out

    def send(self, msg):
        if len(msg) > MiB:
            raise Fail("message over 1 MiB")
        if os.environ.get("HEARTH_CLIENT_DEBUG"):
            log("-> %s (%d bytes)" % (NAMES.get(msg[0], msg[0]), len(msg)))
        enc = self.noise.noise_protocol.cipher_state_encrypt
        pieces = [msg[i:i + PIECE] for i in range(0, len(msg), PIECE)] or [b""]
        body = b"".join(self._crypt(enc, self.noise.encrypt, p) for p in pieces)
        self.sock.sendall(self.frame(body))

    def recv(self):
        body = self.read_frame()
        dec = self.noise.noise_protocol.cipher_state_decrypt
        frags = [body[i:i + MAX_HANDSHAKE] for i in range(0, len(body), MAX_HANDSHAKE)]
        if len(frags[-1]) < 16:
            raise Fail("last fragment shorter than a tag")
        msg = b"".join(self._crypt(dec, self.noise.decrypt, f) for f in frags)
        if not msg:
            raise Fail("empty message")
        if os.environ.get("HEARTH_CLIENT_DEBUG"):
            log("<- %s (%d bytes)" % (NAMES.get(msg[0], msg[0]), len(msg)))
        return msg

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


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
        self.origins.add((device, epoch))
        for i, c in enumerate(decoded["changes"]):
            self.changes.append(((device, epoch), first + i, c))

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


# ---- main -------------------------------------------------------------------------------------

def split_address(a):
    host, _, port = a.rpartition(":")
    return host.strip("[]"), int(port)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ticket", required=True, help="the ticket text of `hearth invite`")
    ap.add_argument("--expect-original", required=True, help="a file that was imported: its original is fetched and compared")
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
    started = time.time()
    try:
        ticket = parse_ticket(args.ticket)
        if not ticket["addresses"]:
            raise Fail("ticket has no address")
        host, port = split_address(ticket["addresses"][0])
        seed, pub = new_device()
        library = ticket["library"]

        # 1. pairing
        pairing = dict(ticket_id=ticket["ticket_id"], secret=ticket["secret"], name=args.name)
        c = Connection(host, port, seed, pub, pairing=pairing)
        if b2(c.peer_pub) != ticket["inviter"]:
            raise Fail("pairing responder is not the ticket's inviter")
        h = exchange_hellos(c, library)
        log("paired with %s (%s), protocol %d" % (b2(c.peer_pub).hex()[:12], h["software"], h["session_version"]))
        c.close()

        # 2. member session
        c = Connection(host, port, seed, pub)
        if b2(c.peer_pub) != ticket["inviter"]:
            raise Fail("member session: responder is another device")
        h = exchange_hellos(c, library)
        s = Session(c, library)
        s.start()
        s.pull_batches()
        members = {}
        for origin, seq, ch in s.changes:
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

        # 3. one asset's original
        expected = open(args.expect_original, "rb").read()
        asset = b2(expected).hex()
        imports = [ch for _, _, ch in s.changes if ch["kind"] == 4 and ch["asset"] == asset]
        if not imports:
            raise Fail("no import of asset %s in the catalog" % asset)
        original = imports[-1]["original"]
        if original["id"] != asset:
            raise Fail("the import's original id differs from its asset id")
        data = s.fetch_object(original)
        if data != expected:
            raise Fail("the fetched original differs from the file")
        log("original %s (%s): %d bytes in %d chunk(s), byte-identical" % (
            asset[:12], imports[-1]["fileName"], len(data), len(original["chunks"])))
        s.done()
        c.close()
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
