#!/usr/bin/env python3
"""Writes tickets.json: pairing tickets (SPEC.md section 3.2), valid and invalid.

Independent of the Swift code (hashlib + base64 only), so the vectors check the Swift decoder
and encoder rather than restate them. Run from this folder:
    python3 gen_tickets.py > tickets.json
"""
import base64, hashlib, json, struct

PREFIX = "hearth1-"

def b32(raw):
    return base64.b32encode(raw).decode().rstrip("=").lower()

def check(body):
    return hashlib.blake2b(body, digest_size=32).digest()[:4]

def body(version=1, library=bytes(range(16)), inviter=bytes(range(0x40, 0x60)), ticket_id=bytes([0xA1]) * 16,
         secret=bytes(range(0x80, 0xA0)), expires=1_700_000_600_000, role=2, addresses=(b"192.168.1.20:7480",),
         count=None, tail=b""):
    out = bytes([version]) + library + inviter + ticket_id + secret + struct.pack(">q", expires) + bytes([role])
    out += bytes([len(addresses) if count is None else count])
    for a in addresses:
        out += bytes([len(a)]) + a
    return out + tail

def text(b):
    return PREFIX + b32(b + check(b))

FIELDS = dict(library=bytes(range(16)), inviter=bytes(range(0x40, 0x60)), ticket_id=bytes([0xA1]) * 16,
              secret=bytes(range(0x80, 0xA0)))

def valid(name, note, **kw):
    b = body(**kw)
    f = dict(FIELDS)
    f.update({k: v for k, v in kw.items() if k in FIELDS})
    return dict(name=name, note=note, text=text(b), body=b.hex(),
                library=f["library"].hex(), inviter=f["inviter"].hex(), ticket_id=f["ticket_id"].hex(),
                secret=f["secret"].hex(), expires_at=kw.get("expires", 1_700_000_600_000), role=kw.get("role", 2),
                addresses=[a.decode() for a in kw.get("addresses", (b"192.168.1.20:7480",))], error=None)

def invalid(name, note, t, error):
    return dict(name=name, note=note, text=t, error=error)

good = text(body())
cases = [
    valid("member", "a member ticket with one address", ),
    valid("admin-three-addresses", "role 1 (admin); IPv4, IPv6 in brackets and a host name",
          role=1, addresses=(b"10.0.0.2:7480", b"[fd00::7]:7480", b"nas.local:7480")),
    valid("partner-no-address", "role 3 (partner), no address (the joiner is told where to connect), expiry 0",
          role=3, addresses=(), expires=0),
    valid("recognizer-eight-addresses", "role 4; the most addresses, one of the longest length (255 bytes)",
          role=4, addresses=tuple(b"h%d.example:7480" % i for i in range(7)) + (b"a" * 250 + b":7480",)),
    valid("utf8-address", "an address is UTF-8 (a host name with a non-ASCII letter)",
          addresses=("bücher.example:7480".encode(),)),
]
upper = dict(cases[0])
upper.update(name="upper-case", note="the prefix and base32 in upper case decode the same; re-encoding gives lower case",
             text=cases[0]["text"].upper(), canonical=cases[0]["text"])
cases.append(upper)

def flip(t, i):
    c = t[i]
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    return t[:i] + alphabet[(alphabet.index(c) + 1) % 32] + t[i + 1:]

raw_len = len(body()) + 4
pad_bits = (5 - raw_len * 8 % 5) % 5
assert pad_bits > 0, "the layout needs a padding bit to test"
last = good[-1]
alphabet = "abcdefghijklmnopqrstuvwxyz234567"
noncanon = good[:-1] + alphabet[alphabet.index(last) | 1]
assert noncanon != good

def end_verdict(t):
    """What SPEC 3.2 says of a text whose base32 may not end on a character boundary."""
    chars = t[len(PREFIX):]
    bits = len(chars) * 5
    if bits % 8 >= 5:
        return "length"
    value = 0
    for c in chars:
        value = value << 5 | alphabet.index(c)
    if value & ((1 << (bits % 8)) - 1):
        return "length"
    return "check"

cases += [
    invalid("other-prefix", "not hearth1-", "hearth2-" + good[len(PREFIX):], "prefix"),
    invalid("no-prefix", "the base32 alone", good[len(PREFIX):], "prefix"),
    invalid("padding", "base32 padding '=' is not used", good + "=", "characters"),
    invalid("digit-one", "'1' is not in the base32 alphabet", good[:20] + "1" + good[21:], "characters"),
    invalid("changed-character", "one character changed: the check does not match", flip(good, 30), "check"),
    invalid("lost-character", "a character lost in the middle", good[:30] + good[31:], end_verdict(good[:30] + good[31:])),
    invalid("extra-character", "a character added at the end", good + "a", end_verdict(good + "a")),
    invalid("two-extra-characters", "two characters added at the end: 10 more bits, the last not a whole byte",
            good + "aa", end_verdict(good + "aa")),
    invalid("non-canonical-end", "the last character's unused bits are not zero", noncanon, "length"),
    invalid("too-short", "fewer bytes than the check", PREFIX + b32(b"\x01\x02"), "length"),
    invalid("newer-version", "version 2 (with a correct check)", text(body(version=2)), "version"),
    invalid("role-zero", "role 0 is no role", text(body(role=0)), "role"),
    invalid("role-five", "role 5 is unknown", text(body(role=5)), "role"),
    invalid("nine-addresses", "more than 8 addresses", text(body(addresses=tuple(b"h%d:1" % i for i in range(9)))), "addresses"),
    invalid("empty-address", "an address of length 0", text(body(addresses=(b"",))), "address"),
    invalid("address-not-utf8", "an address that is not UTF-8", text(body(addresses=(b"\xff\xfe:1",))), "address"),
    invalid("address-count-past-end", "the count announces more addresses than there are", text(body(count=2)), "truncated"),
    invalid("truncated-body", "the body ends inside the secret", text(body()[:60]), "truncated"),
    invalid("trailing-byte", "a byte after the last address", text(body(tail=b"\x00")), "trailingBytes"),
    invalid("too-long", "over 4096 characters", PREFIX + "a" * 4096, "tooLong"),
]

print(json.dumps(dict(
    description="Hearth pairing tickets (protocol/SPEC.md, section 3.2). A case with `error` null MUST decode "
                "to the fields given (`body` is the bytes before the check) and, encoded again, give `canonical` "
                "if present, else `text`. A case with `error` MUST be refused; `error` names the rule it breaks.",
    cases=cases), indent=1, ensure_ascii=False))
