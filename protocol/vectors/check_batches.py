#!/usr/bin/env python3
"""Checks batches.json: signed catalog batches (SPEC.md section 11) of one library.

Written from SPEC.md alone (standard library plus `cryptography` for Ed25519), so the vectors
check the Swift encoder and authorizer rather than restate them. For every case, in order:
decodes the payload (11.1-11.3) and compares it with `decoded`, verifies the signature over
the signed bytes of section 6 (Batches), and replays the authorization of 11.6 against the
member list built from the cases applied before it, comparing with `verdict`. Also checks the
keys (device id = BLAKE2b-256 of the public key) and the library id from genesis (11.2).
`digestAfter` is not checked: it is informative (SPEC 11.8, 11.9). Pending batches (a gap,
or a context naming changes not held yet) are kept and judged again after each applied case.
No single case decides its own verdict: membership, keys and roles come from the earlier cases
its context names, so the cases are applied in order (a case is applied when this checker
accepts it, whatever the file expects, so one mismatch does not hide the next).
Run from the repository root or this folder:
    python3 protocol/vectors/check_batches.py
Prints "ok NAME" or "FAIL NAME: why" per case; exits 1 on any failure.
"""
import hashlib, json, os, struct, sys
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

LEVEL = 3  # the format level of the node the vectors describe (11.2)
ROLES = {1: "admin", 2: "member", 3: "partner", 4: "recognizer"}
# Asset fields (11.2): id -> (name, value tag, rule); every field is level 1 but 30 (level 2), 31 and 32 (level 3)
FIELDS = {
    1: ("bytes", 1, "nonneg"), 2: ("mimeType", 3, None), 3: ("type", 3, "type"), 4: ("takenAt", 5, None),
    5: ("width", 1, "nonneg"), 6: ("height", 1, "nonneg"), 7: ("orientation", 1, (1, 8)),
    8: ("latitude", 2, (-90, 90)), 9: ("longitude", 2, (-180, 180)), 10: ("altitude", 2, "finite"),
    11: ("make", 3, None), 12: ("model", 3, None), 13: ("lens", 3, None), 14: ("fNumber", 2, "finite"),
    15: ("exposureTime", 2, "finite"), 16: ("iso", 1, "nonneg"), 17: ("focalLength", 2, "finite"),
    18: ("durationSeconds", 2, "finite"), 19: ("projection", 3, None), 20: ("motion", 4, None),
    21: ("motionVideo", 6, None), 22: ("motionRange", 7, None), 23: ("description", 3, None),
    24: ("rating", 1, (0, 5)), 25: ("favorite", 4, None), 26: ("archived", 4, None),
    27: ("trashedAt", 1, "nonneg"), 28: ("thumbnail", 6, None), 29: ("preview", 6, None),
    30: ("thumbhash", 3, "thumbhash"), 31: ("owner", 3, "uuid"), 32: ("sha1", 3, "sha1"),
}
FIELD_LEVEL = {f: (2 if f == 30 else 3 if f in (31, 32) else 1) for f in FIELDS}
# Person fields (11.2, kind 12): id -> (name, value tag, rule)
PERSON_FIELDS = {1: ("name", 3, "name"), 2: ("email", 3, "email"), 3: ("isAdmin", 4, None), 4: ("avatarColor", 3, "color"),
                 5: ("passwordHash", 3, "pwhash"), 6: ("createdAt", 1, "nonneg"), 7: ("deleted", 4, None)}
AVATAR_COLORS = ("primary", "pink", "red", "yellow", "blue", "green", "purple", "orange", "gray", "amber")
ALBUM_FIELDS = {1: "name", 2: "description", 3: "cover", 4: "deleted"}
KINDS = {1: "genesis", 2: "memberPut", 3: "memberRemove", 4: "importAsset", 5: "setField", 6: "purge",
         7: "albumSet", 8: "albumAdd", 9: "albumRemove", 10: "tagAdd", 11: "tagRemove", 12: "person", 13: "devicePerson"}
KIND_LEVEL = {k: (3 if k in (12, 13) else 1) for k in KINDS}


class Malformed(Exception):
    pass


def b2(data):
    return hashlib.blake2b(data, digest_size=32).digest()


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if n > len(self.data) - self.pos:
            raise Malformed("runs past the end")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self):
        return self.take(1)[0]

    def varint(self):  # SPEC 11: minimality is not insisted on, 64 bits are
        value = shift = 0
        for i in range(10):
            b = self.u8()
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                if value >= 1 << 64:
                    raise Malformed("varint overflow")
                return value
            shift += 7
        raise Malformed("varint longer than 10 bytes")

    def svarint(self):
        v = self.varint()
        return (v >> 1) ^ -(v & 1)

    def count(self, limit):
        n = self.varint()
        if n > limit:
            raise Malformed("count %d over %d" % (n, limit))
        return n

    def bytes(self, limit):
        return self.take(self.count(limit))

    def string(self, limit):
        try:
            return self.bytes(limit).decode("utf-8")
        except UnicodeDecodeError:
            raise Malformed("bad UTF-8")

    def hash(self):
        return self.take(32).hex()

    def dot(self):
        device, epoch, seq = self.hash(), self.varint(), self.varint()
        if epoch > 0xFFFFFFFF:
            raise Malformed("epoch over 32 bits")
        return dict(device=device, epoch=epoch, seq=seq)

    def object(self):
        oid, size = self.hash(), self.varint()
        return dict(id=oid, size=size, chunks=[self.hash() for _ in range(self.count(1 << 20))])

    def end(self):
        if self.pos != len(self.data):
            raise Malformed("bytes left over")


def value(r):
    tag = r.u8()
    if tag == 0:
        return None
    if tag == 1:
        return {"int": r.svarint()}
    if tag == 2:
        return {"double": struct.unpack(">d", r.take(8))[0]}
    if tag == 3:
        return {"text": r.string(16384)}
    if tag == 4:
        b = r.u8()
        if b > 1:
            raise Malformed("bool %d" % b)
        return {"bool": b == 1}
    if tag == 5:
        t = {"localSeconds": r.svarint(), "utcOffsetMinutes": None}  # 11.8: null when absent
        has = r.u8()
        if has > 1:
            raise Malformed("takenAt flag %d" % has)
        if has:
            t["utcOffsetMinutes"] = r.svarint()
            if not -1440 <= t["utcOffsetMinutes"] <= 1440:
                raise Malformed("UTC offset")
        return {"takenAt": t}
    if tag == 6:
        return {"object": r.object()}
    if tag == 7:
        return {"range": {"offset": r.varint(), "length": r.varint()}}
    raise Malformed("value tag %d" % tag)


def check_field(fid, v):
    """The type and rule of an asset field (11.2); null is valid for every field."""
    if v is None:
        return
    name, tag, rule = FIELDS[fid]
    kind = ["null", "int", "double", "text", "bool", "takenAt", "object", "range"][tag]
    if kind not in v:
        raise Malformed("field %s: wrong type" % name)
    x = v[kind]
    if rule == "nonneg" and x < 0 or rule == "type" and x not in ("image", "video") \
            or rule == "finite" and x != x or rule == "finite" and abs(x) == float("inf") \
            or isinstance(rule, tuple) and not rule[0] <= x <= rule[1] \
            or rule == "thumbhash" and not 1 <= len(x.encode()) <= 128 \
            or rule == "uuid" and uuid_bytes(x) is None or rule == "sha1" and not is_sha1(x):
        raise Malformed("field %s: %r outside its rule" % (name, x))


def uuid_text(b):
    h = b.hex()
    return "-".join((h[0:8], h[8:12], h[12:16], h[16:20], h[20:32]))


def uuid_bytes(s):
    """16 bytes from 8-4-4-4-12 hex digits, else None."""
    parts = s.split("-")
    if [len(p) for p in parts] != [8, 4, 4, 4, 12]:
        return None
    try:
        return bytes.fromhex("".join(parts))
    except ValueError:
        return None


def is_sha1(s):
    import base64, binascii
    try:
        return len(s) == 28 and len(base64.b64decode(s, validate=True)) == 20
    except (binascii.Error, ValueError):
        return False


def valid_email(s):
    b = s.encode()
    return 3 <= len(b) <= 320 and s.count("@") == 1 and s[0] != "@" and s[-1] != "@" \
        and not any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7f for c in s)


def check_person_field(fid, v):
    """The type and rule of a person field (11.2, kind 12); only passwordHash may be null."""
    name, tag, rule = PERSON_FIELDS[fid]
    if v is None:
        if rule == "pwhash":
            return
        raise Malformed("person field %s: null" % name)
    kind = ["null", "int", "double", "text", "bool"][tag]
    if kind not in v:
        raise Malformed("person field %s: wrong type" % name)
    x = v[kind]
    if rule == "name" and not 1 <= len(x.encode()) <= 1024 or rule == "email" and not valid_email(x) \
            or rule == "color" and x not in AVATAR_COLORS or rule == "nonneg" and x < 0 \
            or rule == "pwhash" and not (x.startswith("$argon2id$") and len(x.encode()) <= 127
                                         and all(0x20 < ord(c) < 0x7f for c in x)):
        raise Malformed("person field %s: %r outside its rule" % (name, x))


def field_entry(fid, v):
    return dict(field=fid, name=FIELDS[fid][0], value=v)


def tag_text(r):
    t = r.string(512)
    if not t or any(not part for part in t.split("/")):
        raise Malformed("tag %r" % t)
    return t


def change(kind, r, version):
    """Decodes one change body of a kind this node understands; returns its JSON form and
    whether something of it (an unknown field) is kept for later."""
    out, kept = dict(kind=kind, type=KINDS[kind]), False
    if kind == 1:
        out.update(nonce=r.take(16).hex(), publicKey=r.take(32).hex())
    elif kind == 2:
        pk = r.take(32)
        out.update(publicKey=pk.hex(), device=b2(pk).hex(), name=r.string(1024))
        role = r.u8()
        if role not in ROLES:
            raise Malformed("role %d" % role)
        out["role"] = ROLES[role]
    elif kind == 3:
        out["device"] = r.hash()
    elif kind == 4:
        out["asset"] = r.hash()
        out["fileName"] = r.string(1024)
        if not out["fileName"]:
            raise Malformed("empty file name")
        out["original"] = r.object()
        fields, seen = [], []
        n = r.count(256)  # SPEC 11.7: 256 fields per import, in both versions
        for _ in range(n):
            if version == 2:
                fid = r.u8()
                if fid not in FIELDS or FIELD_LEVEL[fid] > 1:
                    raise Malformed("field %d in version 2" % fid)
                v = value(r)
            else:
                fid = r.varint()
                if not 1 <= fid <= 65535:  # 11.2: 1...65 535, understood or not
                    raise Malformed("field id %d" % fid)
                raw = r.bytes(1 << 20)
                if seen and fid <= seen[-1]:
                    raise Malformed("fields not ascending")
            if fid in seen:
                raise Malformed("field %d repeated" % fid)
            seen.append(fid)
            if version == 3:
                if fid not in FIELDS or FIELD_LEVEL[fid] > LEVEL:
                    kept = True
                    continue
                vr = Reader(raw)
                v = value(vr)
                vr.end()
            check_field(fid, v)
            fields.append(field_entry(fid, v))
        out["fields"] = fields
        if kept:
            out["unknownFieldsKept"] = True
    elif kind == 5:
        out["asset"] = r.hash()
        fid = r.u8() if version == 2 else r.varint()
        if not 1 <= fid <= 65535:
            raise Malformed("field id %d" % fid)
        if fid not in FIELDS or FIELD_LEVEL[fid] > LEVEL:
            if version == 2:
                raise Malformed("field %d in version 2" % fid)
            # Kept whole (11.3), the rest of its body unread; written like an unknown kind (11.8).
            return None, True
        if version == 2 and FIELD_LEVEL[fid] > 1:
            raise Malformed("level 2 field in version 2")
        v = value(r)
        check_field(fid, v)
        out.update(field=fid, name=FIELDS[fid][0], value=v)
    elif kind == 6:
        out["asset"] = r.hash()
    elif kind == 7:
        out["album"] = r.take(16).hex()
        f = r.u8()
        if f not in ALBUM_FIELDS:
            raise Malformed("album field %d" % f)
        v = value(r)
        ok = {1: lambda: v and "text" in v and 1 <= len(v["text"].encode()) <= 1024,
              2: lambda: v is None or "text" in v,
              3: lambda: v is None or "text" in v and len(v["text"]) == 64,
              4: lambda: v and "bool" in v}[f]()
        if not ok:
            raise Malformed("album field %d value" % f)
        out.update(field=f, name=ALBUM_FIELDS[f], value=v)
    elif kind == 8:
        out.update(album=r.take(16).hex(), asset=r.hash())
    elif kind == 9:
        out.update(album=r.take(16).hex(), asset=r.hash())
        out["observed"] = [r.dot() for _ in range(r.count(65536))]
    elif kind == 10:
        out.update(asset=r.hash(), tag=tag_text(r))
    elif kind == 11:
        out.update(asset=r.hash(), tag=tag_text(r))
        out["observed"] = [r.dot() for _ in range(r.count(65536))]
    elif kind == 12:
        out["person"] = uuid_text(r.take(16))
        n = r.count(len(PERSON_FIELDS))
        if n < 1:
            raise Malformed("a person change sets no field")
        fields = []
        for _ in range(n):
            fid = r.u8()
            if fid not in PERSON_FIELDS:
                raise Malformed("person field %d" % fid)
            if fields and fid <= fields[-1]["field"]:
                raise Malformed("person fields not ascending")
            v = value(r)
            check_person_field(fid, v)
            fields.append(dict(field=fid, name=PERSON_FIELDS[fid][0], value=v))
        out["fields"] = fields
    elif kind == 13:
        out["device"] = r.hash()
        flag = r.u8()
        if flag > 1:
            raise Malformed("person flag %d" % flag)
        out["person"] = uuid_text(r.take(16)) if flag else None
    return out, kept


def decode(payload, case):
    """Returns (decoded JSON form, number of changes kept for later) or raises Malformed."""
    first, last = case["firstSeq"], case["lastSeq"]
    r = Reader(payload)
    version = r.u8()
    if version not in (2, 3):
        raise Malformed("version %d" % version)
    base = r.varint()
    context = [r.dot() for _ in range(r.count(4096))]
    keys = [(bytes.fromhex(e["device"]), e["epoch"]) for e in context]
    if any(a >= b for a, b in zip(keys, keys[1:])) or any(e["seq"] < 1 for e in context):
        raise Malformed("context not ascending")
    n = r.count(1 << 20)
    if n < 1 or n != last - first + 1:
        raise Malformed("change count %d for %d...%d" % (n, first, last))
    if base + n - 1 >= 1 << 64:
        raise Malformed("clock overflow")
    changes, deferred = [], 0
    for i in range(n):
        if version == 2:
            kind = r.u8()
            if kind not in KINDS or KIND_LEVEL[kind] > 1:
                raise Malformed("kind %d in version 2" % kind)
            body = r
        else:
            kind = r.varint()
            if not 1 <= kind <= 0xFFFFFFFF:
                raise Malformed("kind %d" % kind)
            raw = r.bytes(len(payload))
            if kind not in KINDS or KIND_LEVEL[kind] > LEVEL:
                changes.append(dict(kind=kind, type="unknown", body=raw.hex()))
                deferred += 1
                continue
            body = Reader(raw)
        c, kept = change(kind, body, version)
        if version == 3 and c is not None:  # a change kept whole is not read to its end (11.3)
            body.end()
        deferred += kept
        changes.append(c if c is not None else dict(kind=kind, type="unknown", body=raw.hex()))
    r.end()
    return dict(version=version, hlc=str(base), context=context, changes=changes), deferred


def signed_bytes(library, case, payload):
    return (b"hearth-batch-v1" + library + bytes.fromhex(case["device"]) +
            struct.pack(">IQQ", case["epoch"], case["firstSeq"], case["lastSeq"]) + b2(payload))


def verifies(public_key, message, signature):
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
        return True
    except InvalidSignature:
        return False


class Node:
    """What a node holds: per origin the membership changes (stamp, target, key-or-None, role)
    and the highest contiguous seq; the rest of the catalog is not needed for a verdict."""

    def __init__(self, library):
        self.library, self.held, self.membership, self.deferred = library, {}, {}, 0

    def judge(self, case):
        """SPEC 11.6 from step 0; applies the batch when it is authorized and returns the
        verdict in the form of 11.8 (without what it releases from the pending pool)."""
        origin, first, last = (case["device"], case["epoch"]), case["firstSeq"], case["lastSeq"]
        held = self.held.get(origin, 0)
        if last <= held:
            return {"result": "skipped", "deferred": 0}
        if first > held + 1:
            return {"result": "pending"}
        if first <= held or first == 0 or last < first:
            return {"result": "rejected", "code": "overlap"}
        payload = bytes.fromhex(case["payload"])
        try:
            decoded, deferred = decode(payload, case)
        except Malformed:
            return {"result": "rejected", "code": "badPayload"}
        reason = self.authorize(case, payload, decoded)
        if reason == "pending":
            return {"result": "pending"}
        if reason:
            return {"result": "rejected", "code": reason}
        self.apply(case, decoded, deferred)
        return {"result": "applied", "deferred": deferred}

    def release(self, pool):
        """Judges the pending batches again, lowest origin then First Seq first, until none
        moves (11.6); returns how many were applied and the changes they keep."""
        applied = kept = 0
        moved = True
        while moved:
            moved = False
            for c in sorted(pool, key=lambda c: (bytes.fromhex(c["device"]), c["epoch"], c["firstSeq"])):
                v = self.judge(c)
                if v["result"] == "pending":
                    continue
                pool.remove(c)
                if v["result"] == "applied":
                    applied, kept, moved = applied + 1, kept + v["deferred"], True
        return applied, kept

    def authorize(self, case, payload, decoded):
        """SPEC 11.6 steps 2-4; returns None (authorized), "pending" or the reason code."""
        changes = decoded["changes"]
        message, signature = signed_bytes(self.library, case, payload), bytes.fromhex(case["signature"])
        if changes[0]["type"] == "genesis":
            g = changes[0]
            pk = bytes.fromhex(g["publicKey"])
            if case["firstSeq"] != 1 or decoded["context"] or b2(pk).hex() != case["device"] or \
                    b2(pk + bytes.fromhex(g["nonce"]))[:16] != self.library:
                return "wrongLibrary"
            if not verifies(pk, message, signature):
                return "badSignature"
            return self.role_check(changes, "admin", case["device"])
        if any((e["device"], e["epoch"]) == (case["device"], case["epoch"]) and e["seq"] >= case["firstSeq"]
               for e in decoded["context"]):
            return "badPayload"  # 11.1: the context claims the batch's own later changes
        covered = [(case["device"], case["epoch"], case["firstSeq"] - 1)] + \
            [(e["device"], e["epoch"], e["seq"]) for e in decoded["context"]]
        registers = {}
        for device, epoch, upto in covered:
            if self.held.get((device, epoch), 0) < upto:
                return "pending"
            for stamp, target, key, role in self.membership.get((device, epoch), []):
                if stamp[3] <= upto and (target not in registers or registers[target][0] < stamp):
                    registers[target] = (stamp, key, role)
        author = registers.get(case["device"])
        if author is None or author[1] is None:
            return "notMember"
        if not verifies(author[1], message, signature):
            return "badSignature"
        return self.role_check(changes, author[2], case["device"])

    @staticmethod
    def role_check(changes, role, author):
        """Step 4: a partner writes nothing; membership changes in order, the first that fails
        decides; then people (kind 12) need an admin or member, device links (kind 13) an admin
        or the member device linking itself."""
        if role == "partner":
            return "notPermitted"
        for i, c in enumerate(changes):
            if c["kind"] in (1, 2, 3):
                if c["kind"] == 1 and i != 0:
                    return "badPayload"  # genesis only opens a library
                if role != "admin":
                    return "notPermitted"
        for c in changes:
            if c["kind"] == 12 and role not in ("admin", "member"):
                return "notPermitted"
            if c["kind"] == 13 and not (role == "admin" or role == "member" and c["device"] == author):
                return "notPermitted"
        return None

    def apply(self, case, decoded, deferred):
        origin = (case["device"], case["epoch"])
        base = int(decoded["hlc"])
        for i, c in enumerate(decoded["changes"]):
            seq = case["firstSeq"] + i
            stamp = (base + i, bytes.fromhex(case["device"]), case["epoch"], seq)
            if c["kind"] == 2:
                entry = (stamp, c["device"], bytes.fromhex(c["publicKey"]), c["role"])
            elif c["kind"] == 3:
                entry = (stamp, c["device"], None, None)
            else:
                continue
            self.membership.setdefault(origin, []).append(entry)
        self.held[origin] = case["lastSeq"]
        self.deferred += deferred


def diff(expected, got, path="decoded"):
    if isinstance(expected, dict) and isinstance(got, dict):
        for k in sorted(set(expected) | set(got)):
            if k not in got or k not in expected:
                return "%s.%s: %s" % (path, k, "missing" if k not in got else "not expected")
            d = diff(expected[k], got[k], path + "." + k)
            if d:
                return d
        return None
    if isinstance(expected, list) and isinstance(got, list):
        if len(expected) != len(got):
            return "%s: %d entries, expected %d" % (path, len(got), len(expected))
        for i, (e, g) in enumerate(zip(expected, got)):
            d = diff(e, g, "%s[%d]" % (path, i))
            if d:
                return d
        return None
    if expected != got or (type(expected) is bool) != (type(got) is bool):
        return "%s: %r, expected %r" % (path, got, expected)
    return None


def check_keys(vectors):
    for name, k in vectors["keys"].items():
        pk = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(k["seed"])).public_key() \
            .public_bytes(Encoding.Raw, PublicFormat.Raw)
        if pk.hex() != k["publicKey"] or b2(pk).hex() != k["device"]:
            return "key %s: public key or device id does not follow from the seed" % name
    return None


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "batches.json"), encoding="utf-8") as f:
        vectors = json.load(f)
    assert vectors["formatLevel"] == LEVEL
    failures = 0
    bad = check_keys(vectors)
    if bad:
        print("FAIL keys: " + bad)
        failures += 1
    node, pool = Node(bytes.fromhex(vectors["library"])), []
    for case in vectors["cases"]:
        payload = bytes.fromhex(case["payload"])
        try:
            decoded, _ = decode(payload, case)
        except Malformed as e:
            decoded, why = {"error": "badPayload"}, str(e)
        verdict = node.judge(case)  # applied here when this checker accepts it, whatever the file expects
        if verdict["result"] == "pending":
            pool.append(case)
        elif verdict["result"] == "applied":
            released, kept = node.release(pool)
            if released:
                verdict.update(pendingApplied=released, deferred=verdict["deferred"] + kept)
        problem = diff(case["decoded"], decoded)
        if problem and "error" in decoded:
            problem += " (%s)" % why
        if not problem and verdict != case["verdict"]:
            problem = "verdict %s, expected %s" % (json.dumps(verdict, sort_keys=True),
                                                   json.dumps(case["verdict"], sort_keys=True))
        if problem:
            print("FAIL %s: %s" % (case["name"], problem))
            failures += 1
        else:
            print("ok " + case["name"])
    if node.deferred != vectors["deferredAfter"]:
        print("FAIL deferredAfter: %d, expected %d" % (node.deferred, vectors["deferredAfter"]))
        failures += 1
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
