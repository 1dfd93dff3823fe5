#!/usr/bin/env python3
"""Writes transport.json: a whole Hearth connection (SPEC.md sections 2-4) with fixed keys.

An implementation independent of the Swift code (Python `cryptography` + hashlib/hmac), so
the vectors check the Swift side rather than restate it. Run from this folder:
    python3 gen_transport.py > transport.json
"""
import copy, hashlib, hmac, json
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

RAW = dict(encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw)
HASHLEN, MAXMSG, TAG = 64, 65535, 16

def H(*parts):
    h = hashlib.blake2b(digest_size=64)
    for p in parts: h.update(p)
    return h.digest()

def hkdf(ck, ikm, n):
    t = hmac.new(ck, ikm, hashlib.blake2b).digest()
    outs, prev = [], b""
    for i in range(1, n + 1):
        prev = hmac.new(t, prev + bytes([i]), hashlib.blake2b).digest()
        outs.append(prev)
    return outs

class Cipher:
    def __init__(self, k=None): self.k, self.n = k, 0
    def enc(self, ad, p):
        if self.k is None: return p
        c = ChaCha20Poly1305(self.k).encrypt(b"\0\0\0\0" + self.n.to_bytes(8, "little"), p, ad)
        self.n += 1
        return c
    def rekey(self):
        self.k = ChaCha20Poly1305(self.k).encrypt(b"\0\0\0\0" + (2**64 - 1).to_bytes(8, "little"), bytes(32), b"")[:32]

class Sym:
    def __init__(self, name):
        n = name.encode()
        self.h = n.ljust(HASHLEN, b"\0") if len(n) <= HASHLEN else H(n)
        self.ck, self.c = self.h, Cipher()
    def mix_hash(self, d): self.h = H(self.h, d)
    def mix_key(self, ikm):
        self.ck, k = hkdf(self.ck, ikm, 2); self.c = Cipher(k[:32])
    def mix_key_and_hash(self, ikm):
        self.ck, t, k = hkdf(self.ck, ikm, 3); self.mix_hash(t); self.c = Cipher(k[:32])
    def enc_hash(self, p):
        c = self.c.enc(self.h, p); self.mix_hash(c); return c

def x25519(sk, pk): return X25519PrivateKey.from_private_bytes(sk).exchange(X25519PublicKey.from_public_bytes(pk))
def xpub(sk): return X25519PrivateKey.from_private_bytes(sk).public_key().public_bytes(**RAW)
def ed_pub(seed): return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(**RAW)
def ed_to_x_secret(seed): return hashlib.sha512(seed).digest()[:32]   # clamped by X25519 itself
def frame(body): return len(body).to_bytes(4, "big") + body
def identity_payload(seed): return (1).to_bytes(2, "big") + ed_pub(seed)
def varint(n):
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n >> 7 else 0))
        n >>= 7
        if not n: return bytes(out)
def pairing_payload(seed, name): return identity_payload(seed) + varint(len(name)) + name   # SPEC 3.1

JOINER_NAME = "joiner"
# Message 3 of the pairing connection with other payloads (SPEC 3.1): what a responder must do with each.
ACCEPT = "accept: the joiner is admitted under this name"
REFUSE = "refuse: a handshake failure; the responder closes without an Error and admits nothing (the ticket stays unused)"
def message3_cases(seed):
    ident = identity_payload(seed)
    return [
        ("name-short", ident + varint(6) + b"joiner", "joiner", ACCEPT, "the connection's own message 3"),
        ("name-utf8", ident + varint(15) + "Ñandú's phone".encode(), "Ñandú's phone", ACCEPT, "15 bytes, 13 characters: the limit counts bytes"),
        ("name-one-byte", ident + varint(1) + b"x", "x", ACCEPT, "the shortest name"),
        ("name-64-bytes", ident + varint(64) + b"a" * 64, "a" * 64, ACCEPT, "the longest name"),
        ("name-empty", ident + varint(0), None, REFUSE, "a name of 0 bytes"),
        ("name-65-bytes", ident + varint(65) + b"a" * 65, None, REFUSE, "over 64 bytes"),
        ("name-bad-utf8", ident + varint(6) + b"jo\xc3\x28er", None, REFUSE, "invalid UTF-8 (0xC3 0x28)"),
        ("name-missing", ident, None, REFUSE, "the identity alone, as in a member session"),
        ("name-truncated", ident + varint(10) + b"joiner", None, REFUSE, "the length says 10, 6 bytes follow"),
        ("name-trailing", ident + varint(6) + b"joiner" + b"\x00", None, REFUSE, "a byte after the name"),
        ("name-length-not-minimal", ident + b"\x86\x00" + b"joiner", None, REFUSE, "6 as a two-byte varint"),
    ]

def connection(psk):
    i_seed, r_seed = bytes([0x11]) * 32, bytes([0x22]) * 32
    i_e, r_e = bytes(range(32)), bytes(range(32, 64))
    i_s, r_s = ed_to_x_secret(i_seed), ed_to_x_secret(r_seed)
    name = "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b" if psk else "Noise_XX_25519_ChaChaPoly_BLAKE2b"
    st = Sym(name); st.mix_hash(b"hearth/1")
    def e_token(sk):
        pk = xpub(sk); st.mix_hash(pk)
        if psk: st.mix_key(pk)
        return pk
    m1 = e_token(i_e) + st.enc_hash(b"")
    m2 = e_token(r_e); st.mix_key(x25519(r_e, xpub(i_e)))
    m2 += st.enc_hash(xpub(r_s)); st.mix_key(x25519(r_s, xpub(i_e)))
    m2 += st.enc_hash(identity_payload(r_seed))
    def message3(st, payload):
        m3 = st.enc_hash(xpub(i_s)); st.mix_key(x25519(i_s, xpub(r_e)))
        if psk: st.mix_key_and_hash(psk)
        return m3 + st.enc_hash(payload)
    cases = []
    if psk:
        for cname, payload, parsed, verdict, note in message3_cases(i_seed):
            cases.append({"name": cname, "payload": payload.hex(), "frame": frame(message3(copy.deepcopy(st), payload)).hex(),
                          "device_name": parsed, "verdict": verdict.split(":")[0], "note": note})
    m3 = message3(st, pairing_payload(i_seed, JOINER_NAME.encode()) if psk else identity_payload(i_seed))
    k1, k2 = hkdf(st.ck, b"", 2)
    ciphers = {"initiator": Cipher(k1[:32]), "responder": Cipher(k2[:32])}

    def encrypt(sender, piece):
        c = ciphers[sender]
        out = c.enc(b"", piece)
        if c.n % 65536 == 0: c.rekey()
        return out
    def seal(sender, p):
        pieces = [p[i:i + MAXMSG - TAG] for i in range(0, len(p), MAXMSG - TAG)] or [b""]
        return b"".join(encrypt(sender, x) for x in pieces)

    transport = []
    def send(sender, length, skip_to=None, note=""):
        skip = skip_to - ciphers[sender].n if skip_to else 0
        for _ in range(skip): encrypt(sender, b"")
        p = bytes((i * 7) & 0xff for i in range(length))
        f = frame(seal(sender, p))
        entry = {"sender": sender, "skip_empty_noise_messages": skip, "plaintext_length": length, "note": note}
        if len(f) <= 256: entry["frame"] = f.hex()
        else: entry["frame_prefix"] = f[:64].hex(); entry["frame_blake2b256"] = hashlib.blake2b(f, digest_size=32).hexdigest()
        transport.append(entry)
    send("initiator", 0, note="empty message: one 16-byte tag")
    send("responder", 5)
    send("initiator", 65519, note="exactly one full Noise message")
    send("responder", 65520, note="two Noise messages, the second holding 1 byte")
    send("initiator", 1 << 20, note="the largest message: 17 Noise messages, body 1048848 bytes")
    send("initiator", 3, skip_to=65536, note="the empty messages bring the sender's nonce to 65,536, which rekeys; this frame is the first under the new key")
    send("responder", 3)
    return {
        "name": "xxpsk3" if psk else "xx",
        "protocol_name": name,
        "prologue": b"hearth/1".hex(),
        "psk": psk.hex() if psk else None,
        "initiator_ed25519_seed": i_seed.hex(), "responder_ed25519_seed": r_seed.hex(),
        "initiator_ephemeral": i_e.hex(), "responder_ephemeral": r_e.hex(),
        "handshake_frames": [frame(m).hex() for m in (m1, m2, m3)],
        "handshake_hash": st.h.hex(),
        "transport": transport,
    } | ({"joiner_name": JOINER_NAME, "message3_cases": cases} if psk else {})

doc = {
    "description": "Hearth connections with fixed keys (protocol/SPEC.md sections 2-4). Device keys are Ed25519 from the 32-byte seeds; the Noise static keys are their X25519 forms; the ephemeral X25519 secrets are fixed here (fresh random in real use). handshake_frames are the three frames on the wire, payloads as in SPEC section 3: messages 2 and 3 carry the sender's identity (34 bytes); on the pairing connection (xxpsk3) message 3 also carries the joiner's device name, joiner_name (SPEC 3.1). message3_cases: other message 3 frames of the pairing connection after the same messages 1 and 2, each with its plaintext payload, the device_name it carries (null when none is valid) and the responder's verdict: accept (the joiner is admitted under that name) or refuse (a handshake failure: the responder closes without an Error, admits nothing and leaves the ticket unused). transport: each entry first sends skip_empty_noise_messages empty Noise messages (not framed) from sender, then seals a plaintext of plaintext_length bytes where byte i = (7*i) mod 256, and frames it; the frame is given in hex, or for long frames by its first 64 bytes and BLAKE2b-256. Generated by gen_transport.py, independently of the Swift code.",
    "connections": [connection(None), connection(bytes(range(100, 132)))],
}
print(json.dumps(doc, indent=2))
