#!/usr/bin/env python3
"""Check docs/test-vectors/envelopes.json, gossip.json and sdc.json without hlsd's C code.

Uses only the Python standard library (a small msgpack decoder and
canonical encoder below, hashlib's BLAKE2b) and the openssl command line
for Ed25519, and follows docs/protocol.md. For every envelope vector it
checks that:

  - the body, re-encoded here from the input fields, is the body bytes;
  - body_hash = BLAKE2b-256(body), item_id = BLAKE2b-256(header || signature);
  - the envelope decodes to [header, signature, body], the stub to
    [header, signature, nil], and both are exactly the canonical encoding
    of what they decode to (so no other byte form of them exists);
  - the header holds the input fields, the seed's public key and the
    previous vector's item id;
  - openssl derives the public key from the seed, verifies the signature
    over tag || header, and (Ed25519 being deterministic) signs the same
    bytes; a signature with one bit flipped is refused;
  - digest counts are the disclosure rule applied to the raw counts.

For sdc.json (hls-sdc-2, keyed rounding) it derives the key from the seed,
each person-scale cell's offset, and each published count, and re-encodes
the digest body.

For every gossip frame (sections 7 and 8) it checks that:

  - the 4-byte length is the payload's, within 1..max_frame; the payload is
    one canonical array of exactly one of the shapes of 8.1 (VECTOR, ITEMS,
    ACK, WANT, BODIES), within its limits;
  - every envelope in ITEMS and BODIES decodes on its own (section 3:
    header fields, body hash, the body schema of section 4), its signature
    verifies (openssl), ITEMS runs link (seq + 1, prev = item id) with one
    run per origin and no tombstone as a stub, and BODIES are full;
  - the frames of each scenario keep the rules of one session (8.1-8.6):
    each ITEMS/BODIES ACKed once, in order, one entry per run or none; no
    ITEMS before the peer's complete vector; BODIES only of seqs asked for;
  - each side's frames are, byte for byte, the frames re-encoded here from
    the scenario's stated holdings and envelopes.json (gossip_expected).

Usage: check_vectors.py [--self-test] [ENVELOPES.json [GOSSIP.json]]
(defaults: docs/test-vectors/envelopes.json, and gossip.json beside it).
--self-test then proves the checks can fail: every bit-flip position of
every gossip frame, and dropped, repeated, swapped and re-attributed frames,
must be refused, as must a byte flipped in each field of each envelope
vector and a copy of gossip.json with one hex digit changed. Exit status 0
when every check passes, 1 otherwise (also when openssl is missing)."""

import datetime
import hashlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata

ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
ED25519_PKCS8_PREFIX = bytes.fromhex("302e020100300506032b657004220420")


class CheckFailed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise CheckFailed(what)


# --- msgpack ------------------------------------------------------------------

class Decoder:
    """Reads one msgpack value at a time; strings must be UTF-8. Keeps
    the offsets so callers can slice out the raw bytes of a value."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        check(self.pos + n <= len(self.data), "msgpack: truncated")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def uint(self, n):
        return int.from_bytes(self.take(n), "big")

    def value(self):
        b = self.take(1)[0]
        if b <= 0x7F:
            return b
        if 0x80 <= b <= 0x8F:
            return self.map(b & 0x0F)
        if 0x90 <= b <= 0x9F:
            return [self.value() for _ in range(b & 0x0F)]
        if 0xA0 <= b <= 0xBF:
            return self.take(b & 0x1F).decode("utf-8")
        if b >= 0xE0:
            return b - 0x100
        if b == 0xC0:
            return None
        if b in (0xC2, 0xC3):
            return b == 0xC3
        if b in (0xC4, 0xC5, 0xC6):
            return bytes(self.take(self.uint({0xC4: 1, 0xC5: 2, 0xC6: 4}[b])))
        if b in (0xCC, 0xCD, 0xCE, 0xCF):
            return self.uint({0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8}[b])
        if b in (0xD0, 0xD1, 0xD2, 0xD3):
            n = {0xD0: 1, 0xD1: 2, 0xD2: 4, 0xD3: 8}[b]
            return int.from_bytes(self.take(n), "big", signed=True)
        if b in (0xD9, 0xDA, 0xDB):
            return self.take(self.uint({0xD9: 1, 0xDA: 2, 0xDB: 4}[b])).decode("utf-8")
        if b in (0xDC, 0xDD):
            return [self.value() for _ in range(self.uint(2 if b == 0xDC else 4))]
        if b in (0xDE, 0xDF):
            return self.map(self.uint(2 if b == 0xDE else 4))
        raise CheckFailed("msgpack: type byte 0x%02x is not used by hlsd" % b)

    def map(self, n):
        out = {}
        for _ in range(n):
            k = self.value()
            out[k] = self.value()
        return out


def unpack(data):
    d = Decoder(data)
    v = d.value()
    check(d.pos == len(data), "msgpack: %d trailing bytes" % (len(data) - d.pos))
    return v


def pack(v):
    """Canonical msgpack: the shortest form of every length and integer."""
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if v >= 0:
            if v <= 0x7F:
                return bytes([v])
            for tag, n in ((0xCC, 1), (0xCD, 2), (0xCE, 4), (0xCF, 8)):
                if v < 1 << (8 * n):
                    return bytes([tag]) + v.to_bytes(n, "big")
            raise CheckFailed("integer too large")
        if v >= -32:
            return bytes([v & 0xFF])
        for tag, n in ((0xD0, 1), (0xD1, 2), (0xD2, 4), (0xD3, 8)):
            if v >= -(1 << (8 * n - 1)):
                return bytes([tag]) + v.to_bytes(n, "big", signed=True)
        raise CheckFailed("integer too small")
    if isinstance(v, str):
        raw = v.encode("utf-8")
        n = len(raw)
        if n <= 31:
            return bytes([0xA0 | n]) + raw
        for tag, width in ((0xD9, 1), (0xDA, 2), (0xDB, 4)):
            if n < 1 << (8 * width):
                return bytes([tag]) + n.to_bytes(width, "big") + raw
    if isinstance(v, (bytes, bytearray)):
        n = len(v)
        for tag, width in ((0xC4, 1), (0xC5, 2), (0xC6, 4)):
            if n < 1 << (8 * width):
                return bytes([tag]) + n.to_bytes(width, "big") + bytes(v)
    if isinstance(v, list):
        n = len(v)
        if n <= 15:
            head = bytes([0x90 | n])
        elif n <= 0xFFFF:
            head = b"\xdc" + n.to_bytes(2, "big")
        else:
            head = b"\xdd" + n.to_bytes(4, "big")
        return head + b"".join(pack(x) for x in v)
    raise CheckFailed("cannot pack %r" % (v,))


def blake2b_256(*parts):
    h = hashlib.blake2b(digest_size=32)
    for p in parts:
        h.update(p)
    return h.digest()


# --- bodies from input fields ---------------------------------------------------

def disclose(threshold, rounding, scale, raw):
    """hls-sdc-1: person-scale (0) counts below threshold are withheld, the
    others rounded to the nearest multiple of rounding, halves up; other
    scales are exact."""
    if scale != 0:
        return raw
    if raw < threshold:
        return None
    if rounding <= 1:
        return raw
    return (raw + rounding // 2) // rounding * rounding


def sdc_key(seed):
    """hls-sdc-2: the node's disclosure key, BLAKE2b-256 keyed with its seed."""
    return hashlib.blake2b(b"hls-sdc-2 key", digest_size=32, key=seed).digest()


def sdc_offset(key, iso_year, iso_week, theme, kind, scale, stage, rounding):
    """hls-sdc-2: a person-scale cell's offset in [0, rounding)."""
    if rounding <= 1:
        return 0
    msg = iso_year.to_bytes(2, "big") + bytes([iso_week, kind, scale, stage]) + theme.encode("utf-8")
    h = hashlib.blake2b(msg, digest_size=8, key=key).digest()
    return int.from_bytes(h, "little") % rounding


def disclose_keyed(threshold, rounding, scale, raw, offset):
    """hls-sdc-2: u = raw + offset; withheld below threshold + rounding - 1,
    else rounded down to a multiple of rounding; other scales exact."""
    if scale != 0:
        return raw
    r = max(rounding, 1)
    u = raw + offset
    if u < threshold + r - 1:
        return None
    return u // r * r


def check_sdc(path, out):
    """docs/test-vectors/sdc.json: key, offsets, counts and the body."""
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    seed = bytes.fromhex(doc["seed"])
    key = sdc_key(seed)
    check(key.hex() == doc["key"], "sdc.json: key is not BLAKE2b-256(\"hls-sdc-2 key\", key = seed)")
    m = doc["method"]
    check(m["name"] == "hls-sdc-2", "sdc.json: method")
    y, w, t, r = doc["iso_year"], doc["iso_week"], m["threshold"], m["rounding"]
    cells = []
    for c in doc["cells"]:
        if c["scale"] == 0:
            o = sdc_offset(key, y, w, c["theme"], c["kind"], c["scale"], c["stage"], r)
            check(o == c["offset"], "sdc.json: %s/%d offset %d, want %d" % (c["theme"], c["stage"], c["offset"], o))
        else:
            o = 0
            check(c["offset"] is None, "sdc.json: an offset on a cell not at person scale")
        want = disclose_keyed(t, r, c["scale"], c["raw"], o)
        check(c["count"] == want, "sdc.json: %s/%d count %r, want %r" % (c["theme"], c["stage"], c["count"], want))
        cells.append([c["theme"], c["kind"], c["scale"], c["stage"], c["count"]])
    cells.sort(key=lambda c: (c[0].encode("utf-8"), c[1], c[2], c[3]))
    body = pack([y, w, ["hls-sdc-2", t, r], cells])
    check(body.hex() == doc["body"], "sdc.json: body is not the canonical digest of the cells")
    check(unpack(bytes.fromhex(doc["body"])) == [y, w, ["hls-sdc-2", t, r], cells], "sdc.json: body decodes")
    print("ok sdc.json: key, %d offsets, %d counts and the digest body (%d bytes)" % (
        sum(c["scale"] == 0 for c in doc["cells"]), len(doc["cells"]), len(body)), file=out)


def body_value(type_code, f):
    """The body as the schema lays it out (docs: envelope bodies)."""
    if type_code == 1:
        return [f["place"], f["region"], f["role"], list(f["addresses"])]
    if type_code == 2:
        m = f["method"]
        cells = []
        for c in f["cells"]:
            check(disclose(m["threshold"], m["rounding"], c["scale"], c["raw"]) == c["count"],
                  "digest cell %s: count %r is not the disclosed raw count %d" % (c["theme"], c["count"], c["raw"]))
            cells.append([c["theme"], c["kind"], c["scale"], c["stage"], c["count"]])
        keys = [(c[0].encode("utf-8"), c[1], c[2], c[3]) for c in cells]
        check(all(a < b for a, b in zip(keys, keys[1:])), "digest cells not strictly sorted by (theme bytes, kind, scale, stage)")
        return [f["iso_year"], f["iso_week"], [m["name"], m["threshold"], m["rounding"]], cells]
    if type_code == 3:
        return [f["iso_year"], f["iso_week"], f["title"], f["tried"], f["learnt"],
                [[t["slug"], t["kind"]] for t in f["themes"]], f["scale"], f["stage"]]
    if type_code == 4:
        return [f["target_seq"], f["reason"]]
    if type_code == 5:
        entries = [[bytes.fromhex(e["origin"]), e["target_seq"], e["state"]] for e in f["entries"]]
        check(all(e["state_name"] == ("erased", "never_held")[e["state"]] for e in f["entries"]),
              "receipt: a state name is not its number's")
        return entries
    if type_code == 6:
        if f["withdrawn"]:
            check(set(f) == {"subject", "withdrawn"}, "vouch: a withdrawal carries no claim")
            return [bytes.fromhex(f["subject"]), None]
        check(f["role_name"] == ("place", "partner")[f["role"]], "vouch: a role name is not its number's")
        return [bytes.fromhex(f["subject"]), [f["place"], f["region"], f["role"]]]
    if type_code == 7:
        return [bytes.fromhex(st["stub"]) for st in f["stubs"]]
    if type_code == 8:
        return [f["epoch"], bytes.fromhex(f["key_hash"]), [bytes.fromhex(e) for e in f["expelled"]],
                f["overlap_until_ms"]]
    if type_code == 9:
        return [bytes.fromhex(f["new_id"]), bytes.fromhex(f["new_sig"])]
    raise CheckFailed("unknown type %r" % type_code)


# --- openssl --------------------------------------------------------------------

class OpenSSL:
    def __init__(self, exe, workdir):
        self.exe = exe
        self.dir = workdir
        self.n = 0

    def file(self, data):
        self.n += 1
        path = os.path.join(self.dir, "f%d" % self.n)
        with open(path, "wb") as fh:
            fh.write(data)
        return path

    def run(self, *args):
        return subprocess.run([self.exe] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def public_key_of_seed(self, seed):
        key = self.file(ED25519_PKCS8_PREFIX + seed)
        out = os.path.join(self.dir, "pub%d.der" % self.n)
        r = self.run("pkey", "-inform", "DER", "-in", key, "-pubout", "-outform", "DER", "-out", out)
        check(r.returncode == 0, "openssl pkey: %s" % r.stderr.decode(errors="replace").strip())
        with open(out, "rb") as fh:
            der = fh.read()
        check(der[:len(ED25519_SPKI_PREFIX)] == ED25519_SPKI_PREFIX and len(der) == 44,
              "openssl pkey: unexpected public key encoding %s" % der.hex())
        return der[len(ED25519_SPKI_PREFIX):]

    def verify(self, public_key, msg, sig):
        key = self.file(ED25519_SPKI_PREFIX + public_key)
        r = self.run("pkeyutl", "-verify", "-pubin", "-inkey", key, "-keyform", "DER", "-rawin",
                     "-in", self.file(msg), "-sigfile", self.file(sig))
        return r.returncode == 0

    def sign(self, seed, msg):
        key = self.file(ED25519_PKCS8_PREFIX + seed)
        out = os.path.join(self.dir, "sig%d" % self.n)
        r = self.run("pkeyutl", "-sign", "-inkey", key, "-keyform", "DER", "-rawin", "-in", self.file(msg),
                     "-out", out)
        check(r.returncode == 0, "openssl pkeyutl -sign: %s" % r.stderr.decode(errors="replace").strip())
        with open(out, "rb") as fh:
            return fh.read()


# --- the checks -------------------------------------------------------------------

def split_envelope(data):
    """[header, sig, body] with the raw bytes of each part."""
    check(len(data) > 0 and data[0] == 0x93, "envelope: not a fixarray of 3")
    d = Decoder(data)
    d.pos = 1
    start = d.pos
    header = d.value()
    header_bytes = data[start:d.pos]
    sig = d.value()
    start = d.pos
    body = d.value()
    body_bytes = data[start:d.pos]
    check(d.pos == len(data), "envelope: trailing bytes")
    return header, header_bytes, sig, body, body_bytes


def check_vector(doc, v, prev_id, ossl, seed, public_key):
    name = v["name"]
    inp = v["input"]
    hx = {k: bytes.fromhex(v[k]) for k in ("body", "body_hash", "header", "signature", "envelope", "stub", "item_id")}
    tag = doc["signature_tag"].encode("ascii")

    # Body: our own encoding of the input fields, canonical, hashed.
    expect_body = body_value(inp["type"], inp["body"])
    check(pack(expect_body) == hx["body"], "%s: body is not the encoding of the input fields" % name)
    check(unpack(hx["body"]) == expect_body, "%s: body does not decode to the input fields" % name)
    check(blake2b_256(hx["body"]) == hx["body_hash"], "%s: body_hash" % name)

    # Envelope and stub: exact layout, and canonical re-encoding.
    header, header_bytes, sig, body, body_bytes = split_envelope(hx["envelope"])
    check(header_bytes == hx["header"], "%s: header bytes" % name)
    check(sig == hx["signature"] and isinstance(sig, bytes) and len(sig) == 64, "%s: signature bytes" % name)
    check(body_bytes == hx["body"] and body == expect_body, "%s: body inside the envelope" % name)
    check(pack([header, sig, body]) == hx["envelope"], "%s: envelope is not canonical" % name)
    check(pack(header) == hx["header"], "%s: header is not canonical" % name)
    check(hx["envelope"] == b"\x93" + hx["header"] + b"\xc4\x40" + hx["signature"] + hx["body"],
          "%s: envelope layout" % name)
    s_header, s_header_bytes, s_sig, s_body, _ = split_envelope(hx["stub"])
    check(s_header_bytes == hx["header"] and s_sig == sig and s_body is None, "%s: stub contents" % name)
    check(pack([s_header, s_sig, None]) == hx["stub"], "%s: stub is not canonical" % name)
    check(hx["stub"] == b"\x93" + hx["header"] + b"\xc4\x40" + hx["signature"] + b"\xc0", "%s: stub layout" % name)

    # Header fields.
    check(isinstance(header, list) and len(header) == 8, "%s: header is not a list of 8" % name)
    version, type_code, origin, seq, prev, timestamp, audience, body_hash = header
    check(version == doc["version"] == 1, "%s: version" % name)
    check(type_code == inp["type"] and type_code in (1, 2, 3, 4, 5, 6, 7, 8, 9), "%s: type" % name)
    check(origin == public_key, "%s: origin is not the seed's public key" % name)
    check(seq == inp["seq"] and seq >= 1, "%s: seq" % name)
    if seq == 1:
        check(prev is None and inp["prev"] is None and prev_id is None, "%s: seq 1 has no prev" % name)
    else:
        check(prev == prev_id and inp["prev"] == prev_id.hex(), "%s: prev is not the previous item id" % name)
    check(timestamp == inp["timestamp_ms"], "%s: timestamp" % name)
    check(audience == inp["audience"] and audience in (0, 1), "%s: audience" % name)
    check(audience == 0 or type_code == 3, "%s: only stories may go to peers only" % name)
    check(body_hash == hx["body_hash"], "%s: header body_hash" % name)
    if type_code == 4:
        check(body[0] < seq, "%s: tombstone target must be earlier" % name)
    check_body(type_code, seq, body, name)
    if type_code == 5:
        check(all(e[0] != public_key for e in body), "%s: a receipt names its own origin's item" % name)
    if type_code == 6:
        check(body[0] != public_key, "%s: a node vouches for itself" % name)
    if type_code == 7:
        check_fork_evidence(inp["body"], body, public_key, ossl, tag, name)
    if type_code == 8:
        rk = inp["body"]
        key = bytes.fromhex(rk["key"])
        check(hashlib.blake2b(key, digest_size=32, key=b"hlsd rekey key v1").digest() == body[1] ==
              bytes.fromhex(rk["key_hash"]), "%s: key_hash is not the keyed BLAKE2b-256 of the key" % name)
        check(body[0] == rk["epoch"] and body[3] == rk["overlap_until_ms"], "%s: epoch / overlap_until" % name)
        check([e.hex() for e in body[2]] == rk["expelled"], "%s: expelled" % name)
        check(public_key not in body[2], "%s: a steward expels itself" % name)
    if type_code == 9:
        # Section 4.9: the new key (of new_seed) signs "hlsd-successor-v1" ||
        # origin || new_id; it is not the origin.
        new_id, new_sig = body
        check(new_id != public_key, "%s: a key succeeds itself" % name)
        check(ossl.public_key_of_seed(bytes.fromhex(inp["body"]["new_seed"])) == new_id,
              "%s: new_id is not new_seed's key (openssl)" % name)
        smsg = b"hlsd-successor-v1" + public_key + new_id
        check(inp["body"]["signed_tag"] == "hlsd-successor-v1", "%s: signed_tag" % name)
        check(ossl.verify(new_id, smsg, new_sig), "%s: openssl does not verify new_sig" % name)
        check(not ossl.verify(new_id, b"hlsd-successor-v1" + new_id + public_key, new_sig),
              "%s: new_sig verifies with the keys swapped" % name)

    # Ids and signatures.
    check(blake2b_256(hx["header"], hx["signature"]) == hx["item_id"], "%s: item_id" % name)
    msg = tag + hx["header"]
    check(ossl.verify(public_key, msg, hx["signature"]), "%s: openssl does not verify the signature" % name)
    check(ossl.sign(seed, msg) == hx["signature"], "%s: openssl signs different bytes" % name)
    bad = bytearray(hx["signature"])
    bad[seq % 64] ^= 0x01
    check(not ossl.verify(public_key, msg, bytes(bad)), "%s: openssl verifies a corrupted signature" % name)
    check(not ossl.verify(public_key, msg + b"\x00", hx["signature"]), "%s: openssl verifies a longer message" % name)
    return hx["item_id"]


def check_fork_evidence(f, body, reporter, ossl, tag, name):
    """Section 4.7: two stubs of one other origin, each signed by it (openssl),
    at one seq with different item ids in ascending order."""
    origin = bytes.fromhex(f["origin"])
    check(ossl.public_key_of_seed(bytes.fromhex(f["origin_seed"])) == origin, "%s: origin is not its seed's" % name)
    check(origin != reporter, "%s: a node reports its own fork" % name)
    ids, seqs = [], []
    for i, stub in enumerate(body):
        what = "%s stub %d" % (name, i)
        header, header_bytes, sig, stub_body, _ = split_envelope(stub)
        check(stub_body is None, "%s: not a stub" % what)
        check(isinstance(header, list) and len(header) == 8 and header[2] == origin, "%s: not the origin's" % what)
        check(pack([header, sig, None]) == stub, "%s: not canonical" % what)
        check(ossl.verify(origin, tag + header_bytes, sig), "%s: openssl does not verify its signature" % what)
        item_id = blake2b_256(header_bytes, sig)
        check(item_id.hex() == f["stubs"][i]["item_id"], "%s: item_id" % what)
        ids.append(item_id)
        seqs.append(header[3])
    check(seqs[0] == seqs[1] == f["seq"], "%s: the stubs are not of one seq" % name)
    check(ids[0] < ids[1], "%s: the stubs are not in item id order (or the same item twice)" % name)


# --- gossip frames (docs/protocol.md sections 7 and 8) ------------------------------

VECTOR, ITEMS, ACK, WANT, BODIES = 16, 17, 18, 19, 20
GOSSIP_TYPES = {VECTOR: "VECTOR", ITEMS: "ITEMS", ACK: "ACK", WANT: "WANT", BODIES: "BODIES"}
MAX_FRAME_DEFAULT = 4 << 20      # section 7: network.max_frame, 4 MiB by default
MAX_FRAME_FLOOR = 64 << 10       # ... and never less than 64 KiB
ENTRIES_MAX = 1024               # section 8.1
WINDOW = 4                       # section 8.2 step 3: gossip.window
ENV_MAX_BYTES = 2097408          # section 3.4
BODY_MAX_BYTES = 2 << 20


def is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def is_bin(v, n=None):
    return isinstance(v, bytes) and (n is None or len(v) == n)


def check_text(v, what, lo, hi, free=False):
    """Section 4: valid UTF-8 (the decoder made it a str), no control
    characters; the free texts may hold tabs and line breaks."""
    check(isinstance(v, str), "%s is not a str" % what)
    n = len(v.encode("utf-8"))
    check(lo <= n <= hi, "%s: %d bytes, not %d-%d" % (what, n, lo, hi))
    allowed = "\t\r\n" if free else ""
    check(all(c in allowed or unicodedata.category(c) != "Cc" for c in v), "%s holds a control character" % what)


def check_slug(v, what):
    """data-model.md, Themes: NFC, lower case, no apostrophes, runs of other
    characters made one hyphen, none at either end, 1-64 bytes, at least one
    letter or digit."""
    check(isinstance(v, str) and 1 <= len(v.encode("utf-8")) <= 64, "%s: not a str of 1-64 bytes" % what)
    check(unicodedata.normalize("NFC", v) == v and v.lower() == v, "%s: not NFC lower case" % what)
    check(not v.startswith("-") and not v.endswith("-") and "--" not in v, "%s: hyphens" % what)
    check(all(c == "-" or unicodedata.category(c)[0] in "LNM" for c in v), "%s: a character a slug cannot hold" % what)
    check(any(unicodedata.category(c)[0] in "LN" for c in v), "%s: no letter or digit" % what)


def check_week(year, week, what):
    check(is_uint(year) and is_uint(week) and 1 <= week <= 53, "%s: iso_year/iso_week" % what)
    try:
        datetime.date.fromisocalendar(year, week, 1)
    except ValueError:
        raise CheckFailed("%s: %d-W%02d does not exist" % (what, year, week))


def check_address(a, what):
    """Section 4.1: HOST:PORT with an IPv4 address, [IPv6] or a DNS name."""
    check(isinstance(a, str) and ":" in a, "%s: %r is not HOST:PORT" % (what, a))
    host, port = a.rsplit(":", 1)
    check(port.isdigit() and 1 <= int(port) <= 65535 and str(int(port)) == port, "%s: port of %r" % (what, a))
    if host.startswith("["):
        check(host.endswith("]"), "%s: %r" % (what, a))
        check(isinstance(ipaddress.ip_address(host[1:-1]), ipaddress.IPv6Address), "%s: %r" % (what, a))
    elif re.fullmatch(r"[0-9.]+", host):
        check(isinstance(ipaddress.ip_address(host), ipaddress.IPv4Address), "%s: %r" % (what, a))
    else:
        label = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
        check(len(host) <= 253 and re.fullmatch(r"%s(\.%s)*" % (label, label), host), "%s: host of %r" % (what, a))


def check_body(type_code, seq, body, what):
    """The body schemas of section 4, read from the decoded value."""
    check(isinstance(body, list), "%s: body is not an array" % what)
    if type_code == 1:
        check(len(body) == 4, "%s: profile is not [place, region, role, addresses]" % what)
        check_text(body[0], what + " place", 1, 120)
        check_text(body[1], what + " region", 1, 120)
        check(body[2] in (0, 1) and is_uint(body[2]), "%s: role" % what)
        check(isinstance(body[3], list) and len(body[3]) <= 8, "%s: addresses" % what)
        for a in body[3]:
            check_address(a, what)
    elif type_code == 2:
        check(len(body) == 4, "%s: digest is not [iso_year, iso_week, method, cells]" % what)
        check_week(body[0], body[1], what)
        m = body[2]
        check(isinstance(m, list) and len(m) == 3 and m[0] == "hls-sdc-1" and is_uint(m[1]) and is_uint(m[2]),
              "%s: method is not [\"hls-sdc-1\", threshold, rounding]" % what)
        cells = body[3]
        check(isinstance(cells, list) and len(cells) <= 20000, "%s: cells" % what)
        for c in cells:
            check(isinstance(c, list) and len(c) == 5, "%s: cell is not [theme, kind, scale, stage, count]" % what)
            check_slug(c[0], what + " cell theme")
            check(is_uint(c[1]) and c[1] <= 3 and is_uint(c[2]) and c[2] <= 3 and is_uint(c[3]) and c[3] <= 5,
                  "%s: cell kind/scale/stage" % what)
            count = c[4]
            if c[2] == 0:   # person scale: withheld below threshold, else rounded
                check(count is None or (is_uint(count) and count >= m[1] and (m[2] <= 1 or count % m[2] == 0)),
                      "%s: person-scale count %r breaks hls-sdc-1 %d/%d" % (what, count, m[1], m[2]))
            else:           # other scales exact, never withheld
                check(is_uint(count), "%s: a non-person count must be exact" % what)
        keys = [(c[0].encode("utf-8"), c[1], c[2], c[3]) for c in cells]
        check(all(a < b for a, b in zip(keys, keys[1:])), "%s: cells not strictly sorted" % what)
    elif type_code == 3:
        check(len(body) == 8, "%s: story is not an array of 8" % what)
        check_week(body[0], body[1], what)
        check_text(body[2], what + " title", 1, 300)
        for i in (3, 4):
            if body[i] is not None:
                check_text(body[i], what + " tried/learnt", 1, 65536, free=True)
        check(isinstance(body[5], list) and len(body[5]) <= 32, "%s: themes" % what)
        for t in body[5]:
            check(isinstance(t, list) and len(t) == 2 and is_uint(t[1]) and t[1] <= 3, "%s: theme" % what)
            check_slug(t[0], what + " theme")
        check(len({t[0] for t in body[5]}) == len(body[5]), "%s: a slug twice" % what)
        check(is_uint(body[6]) and body[6] <= 3 and is_uint(body[7]) and body[7] <= 5, "%s: scale/stage" % what)
    elif type_code == 4:
        check(len(body) == 2 and is_uint(body[0]) and is_uint(body[1]), "%s: tombstone is not [target_seq, reason]" % what)
        check(1 <= body[0] < seq and body[1] <= 3, "%s: tombstone target %r / reason %r" % (what, body[0], body[1]))
    elif type_code == 5:
        check(1 <= len(body) <= 1024, "%s: a receipt has 1 to 1024 entries" % what)
        for e in body:
            check(isinstance(e, list) and len(e) == 3 and is_bin(e[0], 32) and is_uint(e[1]) and is_uint(e[2]),
                  "%s: entry is not [origin, target_seq, state]" % what)
            check(1 <= e[1] < 2**63 and e[2] <= 1, "%s: entry seq %r / state %r" % (what, e[1], e[2]))
        keys = [(e[0], e[1]) for e in body]
        check(all(a < b for a, b in zip(keys, keys[1:])), "%s: entries not strictly sorted by (origin, seq)" % what)
    elif type_code == 6:
        check(len(body) == 2 and is_bin(body[0], 32), "%s: vouch is not [subject, claim]" % what)
        if body[1] is not None:
            claim = body[1]
            check(isinstance(claim, list) and len(claim) == 3, "%s: claim is not [place, region, role]" % what)
            check_text(claim[0], what + " place", 1, 120)
            check_text(claim[1], what + " region", 1, 120)
            check(is_uint(claim[2]) and claim[2] <= 1, "%s: role %r" % (what, claim[2]))
    elif type_code == 7:
        check(len(body) == 2 and all(is_bin(b) and len(b) <= 256 for b in body),
              "%s: fork is not [stub_a, stub_b], each at most 256 bytes" % what)
    elif type_code == 8:
        check(len(body) == 4 and is_uint(body[0]) and body[0] >= 1 and is_bin(body[1], 32) and
              isinstance(body[2], list) and len(body[2]) <= 64 and all(is_bin(e, 32) for e in body[2]) and
              is_uint(body[3]), "%s: rekey is not [epoch >= 1, key_hash, expelled, overlap_until]" % what)
        check(all(a < b for a, b in zip(body[2], body[2][1:])), "%s: expelled not strictly ascending" % what)
    elif type_code == 9:
        check(len(body) == 2 and is_bin(body[0], 32) and is_bin(body[1], 64),
              "%s: successor is not [new_id (bin 32), new_sig (bin 64)]" % what)


class Envelope:
    """One envelope decoded and checked on its own (sections 3 and 4):
    canonical, header fields in range, body matching body_hash and its
    schema. The signature is checked by the caller (openssl)."""

    def __init__(self, data, what):
        check(len(data) <= ENV_MAX_BYTES, "%s: envelope over %d bytes" % (what, ENV_MAX_BYTES))
        header, header_bytes, sig, body, body_bytes = split_envelope(data)
        check(pack([header, sig, body]) == data, "%s: envelope is not canonical" % what)
        check(isinstance(header, list) and len(header) == 8, "%s: header is not an array of 8" % what)
        version, type_code, origin, seq, prev, timestamp, audience, body_hash = header
        check(version == 1, "%s: version %r" % (what, version))
        check(type_code in (1, 2, 3, 4) and is_uint(type_code), "%s: type %r" % (what, type_code))
        check(is_bin(origin, 32), "%s: origin is not bin 32" % what)
        check(is_uint(seq) and 1 <= seq <= (1 << 63) - 1, "%s: seq %r" % (what, seq))
        check(prev is None if seq == 1 else is_bin(prev, 32), "%s: prev must be nil exactly at seq 1" % what)
        check(is_uint(timestamp), "%s: timestamp" % what)
        check(audience in (0, 1) and is_uint(audience) and (audience == 0 or type_code == 3),
              "%s: audience %r for type %r" % (what, audience, type_code))
        check(is_bin(body_hash, 32), "%s: body_hash is not bin 32" % what)
        check(is_bin(sig, 64), "%s: signature is not bin 64" % what)
        if body is not None:
            check(len(body_bytes) <= BODY_MAX_BYTES, "%s: body too large" % what)
            check(blake2b_256(body_bytes) == body_hash, "%s: H(body) is not body_hash" % what)
            check_body(type_code, seq, body, what)
        self.data, self.header_bytes, self.sig = data, header_bytes, sig
        self.type, self.origin, self.seq, self.prev, self.audience = type_code, origin, seq, prev, audience
        self.body, self.body_bytes = body, body_bytes
        self.full = body is not None
        self.item_id = blake2b_256(header_bytes, sig)


def decode_frame(hexstr, what):
    """Section 7: a 4-byte big-endian length L, 1 <= L <= max_frame, then one
    canonical msgpack array whose first element is the frame type; section
    8.1: exactly one of the gossip shapes. Returns (type, fields)."""
    raw = bytes.fromhex(hexstr)
    check(len(raw) >= 4, "%s: shorter than the length prefix" % what)
    n = int.from_bytes(raw[:4], "big")
    check(n == len(raw) - 4, "%s: length prefix %d, payload %d bytes" % (what, n, len(raw) - 4))
    check(1 <= n <= MAX_FRAME_DEFAULT, "%s: length %d outside 1..max_frame" % (what, n))
    payload = raw[4:]
    v = unpack(payload)
    check(pack(v) == payload, "%s: payload is not canonical" % what)
    check(isinstance(v, list) and len(v) >= 1 and is_uint(v[0]), "%s: not an array starting with a uint" % what)
    t = v[0]
    check(t in GOSSIP_TYPES, "%s: frame type %r is not a gossip frame" % (what, t))
    name = "%s (%s)" % (what, GOSSIP_TYPES[t])
    if t in (VECTOR, BODIES):
        check(len(v) == 3 and isinstance(v[1], bool) and isinstance(v[2], list), "%s: shape" % name)
    else:
        check(len(v) == 2 and isinstance(v[1], list), "%s: shape" % name)
    lst = v[-1]
    check(len(lst) <= ENTRIES_MAX, "%s: over %d entries" % (name, ENTRIES_MAX))
    if t in (VECTOR, ACK):
        for e in lst:
            check(isinstance(e, list) and len(e) == 2 and is_bin(e[0], 32) and is_uint(e[1]),
                  "%s: entry is not [origin bin 32, head]" % name)
            check(t == ACK or e[1] >= 1, "%s: a VECTOR head must be >= 1" % name)
        if t == VECTOR:
            check(len({e[0] for e in lst}) == len(lst), "%s: an origin twice" % name)
    elif t == WANT:
        check(1 <= len(lst) and all(is_uint(s) and s >= 1 for s in lst), "%s: 1 to 1024 seqs" % name)
        check(all(a < b for a, b in zip(lst, lst[1:])), "%s: seqs not strictly ascending" % name)
    else:
        check(t == BODIES or len(lst) >= 1, "%s: ITEMS carries 1 to 1024 envelopes" % name)
        check(all(is_bin(e) for e in lst), "%s: an envelope is not a bin" % name)
        envs = [Envelope(e, "%s envelope %d" % (name, i)) for i, e in enumerate(lst)]
        if t == BODIES:
            check(all(e.full for e in envs), "%s: BODIES carries full envelopes" % name)
        else:   # runs: one origin, consecutive seqs linking; an origin has one run
            seen = set()
            for i, e in enumerate(envs):
                if i > 0 and envs[i - 1].origin == e.origin:
                    check(e.seq == envs[i - 1].seq + 1 and e.prev == envs[i - 1].item_id,
                          "%s: envelope %d does not link to the one before" % (name, i))
                else:
                    check(e.origin not in seen, "%s: an origin has two runs" % name)
                    seen.add(e.origin)
            for e in envs:   # section 8.3 step 7
                check(e.type != 4 or e.full, "%s: a tombstone without its body" % name)
        lst = envs
    return t, ([v[1]] if t in (VECTOR, BODIES) else []) + [lst]


def items_runs(envs):
    runs = []
    for e in envs:
        if runs and runs[-1][0] == e.origin:
            runs[-1][1].append(e)
        else:
            runs.append((e.origin, [e]))
    return runs


def check_session(frames, name):
    """The order rules of sections 8.1-8.6 for the frames of one scenario,
    as two sides see them: each ITEMS and BODIES frame is ACKed once, in
    order, by its receiver (an ACK of ITEMS: one entry per run, in run
    order; of BODIES: none); no ACK with nothing in flight; at most gossip.window frames
    unacknowledged; ITEMS only after the peer's complete VECTOR; BODIES
    only in answer to a WANT, of seqs asked for, in the order asked; no
    second WANT before the first is answered."""
    sides = {s: {"in_flight": [], "got_vector": False, "vector_open": False, "want": None}
             for s in ("A", "B")}
    for i, (frm, t, fields) in enumerate(frames):
        what = "%s frame %d from %s (%s)" % (name, i, frm, GOSSIP_TYPES[t])
        me, peer = sides[frm], sides["B" if frm == "A" else "A"]
        if t == VECTOR:
            complete = fields[0]
            check(not peer["got_vector"] or complete, "%s: a later VECTOR must be complete" % what)
            if complete:
                peer["got_vector"] = True
        elif t == ITEMS:
            check(me["got_vector"], "%s: ITEMS before the peer's complete vector" % what)
        if t in (ITEMS, BODIES):
            check(len(me["in_flight"]) < WINDOW, "%s: over the window" % what)
            me["in_flight"].append((t, fields))
        if t == ACK:
            check(peer["in_flight"], "%s: an ACK with nothing in flight" % what)
            ft, ff = peer["in_flight"].pop(0)
            if ft == BODIES:
                check(fields[0] == [], "%s: an ACK of BODIES has no entries" % what)
            else:
                runs = items_runs(ff[0])
                check(len(fields[0]) == len(runs), "%s: not one entry per run" % what)
                for (origin, head), (r_origin, r_envs) in zip(fields[0], runs):
                    check(origin == r_origin, "%s: entries not in run order" % what)
        if t == WANT:
            check(peer["want"] is None, "%s: a second WANT before the first is answered" % what)
            peer["want"] = list(fields[0])   # seqs the peer (the receiver) is asked for
        if t == BODIES:
            complete, envs = fields
            check(me["want"] is not None, "%s: BODIES nobody asked for" % what)
            for e in envs:
                check(e.seq in me["want"], "%s: seq %d was not asked for" % (what, e.seq))
                me["want"] = me["want"][me["want"].index(e.seq) + 1:]
            if complete:
                me["want"] = None
    for s, st in sides.items():
        check(not st["in_flight"], "%s: a frame from %s is never ACKed" % (name, s))
        check(st["want"] is None, "%s: a WANT to %s is never answered" % (name, s))


class SignatureCache:
    """openssl verifications, each (key, message, signature) once."""

    def __init__(self, ossl, tag):
        self.ossl, self.tag, self.done = ossl, tag, {}

    def verify(self, env):
        key = (env.origin, env.header_bytes, env.sig)
        if key not in self.done:
            self.done[key] = self.ossl.verify(env.origin, self.tag + env.header_bytes, env.sig)
        return self.done[key]


def gossip_expected(env_doc):
    """The frames each side must send in each scenario of gossip.json, built
    from its stated holdings, sections 8.1-8.4 and envelopes.json (whose
    envelopes are checked above): per sender, in order. In the text of
    gossip.json: A is the origin, B is A's direct peer.

    sync: A holds 1-4 (story 3 erased by tombstone 4), B nothing. Each sends
    its whole vector (B's is empty); A sends 1-4 in one run, the erased story
    as its stub (8.4: erased items are served as stubs, even to a direct
    peer), the others full; B ACKs with its head for A, now 4.
    want: both hold 1-3, B the peers story 3 as a stub. Each sends its
    vector; B, holding a peers stub of A's and in session with A, sends
    WANT [3] (8.2 step 1, 8.4); A, whose direct peer B is, answers with the
    full story in one complete BODIES; B ACKs it with no entries."""
    pk = bytes.fromhex(env_doc["public_key"])
    v = {x["input"]["seq"]: x for x in env_doc["vectors"]}
    full = {s: bytes.fromhex(v[s]["envelope"]) for s in v}
    stub = {s: bytes.fromhex(v[s]["stub"]) for s in v}
    check(sorted(v) == [1, 2, 3, 4] and v[3]["input"]["type"] == 3 and v[3]["input"]["audience"] == 1
          and v[4]["input"]["type"] == 4 and v[4]["input"]["body"]["target_seq"] == 3,
          "envelopes.json is not the chain gossip.json describes (story 3 to peers, tombstone 4 of it)")
    return {
        "sync": {
            "A": [[VECTOR, True, [[pk, 4]]], [ITEMS, [full[1], full[2], stub[3], full[4]]]],
            "B": [[VECTOR, True, []], [ACK, [[pk, 4]]]],
        },
        "want": {
            "A": [[VECTOR, True, [[pk, 3]]], [BODIES, True, [full[3]]]],
            "B": [[VECTOR, True, [[pk, 3]]], [WANT, [3]], [ACK, []]],
        },
    }


def check_gossip(doc, env_doc, sigs, out=None):
    """Every frame of gossip.json: framing and shape (section 7, 8.1), every
    envelope on its own (section 3, 4; signature by openssl), the order
    rules of one session (check_session), then byte for byte against the
    frames the scenario calls for (gossip_expected). CheckFailed messages
    start with the stage that failed: frame, signature, session, expected."""
    def stage(name, fn, *args):
        try:
            return fn(*args)
        except CheckFailed as e:
            raise CheckFailed("%s: %s" % (name, e))
        except (KeyError, ValueError, TypeError, IndexError, UnicodeDecodeError) as e:
            raise CheckFailed("%s: %s: %s" % (name, type(e).__name__, e))

    expected = stage("expected", gossip_expected, env_doc)
    scen = doc["scenarios"]
    check(sorted(scen) == sorted(expected), "frame: scenarios %s, not %s" % (sorted(scen), sorted(expected)))
    count = 0
    for name in sorted(scen):
        frames = []
        for i, f in enumerate(scen[name]):
            what = "%s frame %d" % (name, i)
            check(f.get("from") in ("A", "B") and sorted(f) == ["frame", "from"], "frame: %s: not {from, frame}" % what)
            t, fields = stage("frame", decode_frame, f["frame"], "%s from %s" % (what, f["from"]))
            if t in (ITEMS, BODIES):
                for j, e in enumerate(fields[-1]):
                    check(sigs.verify(e), "signature: %s envelope %d (seq %d): openssl does not verify it"
                          % (what, j, e.seq))
            frames.append((f["from"], t, fields))
        stage("session", check_session, frames, name)
        for side in ("A", "B"):
            got = [bytes.fromhex(f["frame"])[4:] for f in scen[name] if f["from"] == side]
            want = [pack(x) for x in expected[name][side]]
            check(len(got) == len(want), "expected: %s: %s sends %d frames, not %d" % (name, side, len(got), len(want)))
            for k, (g, w) in enumerate(zip(got, want)):
                check(g == w, "expected: %s: %s's frame %d is not %s (first difference at payload byte %d)" % (
                    name, side, k, GOSSIP_TYPES[w[1]], next(i for i in range(min(len(g), len(w)) + 1)
                                                          if i >= min(len(g), len(w)) or g[i] != w[i])))
        count += len(frames)
        if out:
            print("ok gossip %s: %s" % (name, ", ".join("%s %s %d bytes" % (frm, GOSSIP_TYPES[t], len(f["frame"]) // 2 - 4)
                                                      for (frm, t, _), f in zip(frames, scen[name]))), file=out)
    return count


def mutations(doc):
    """Copies of gossip.json, each with one change: every bit-flip position
    of every frame (one bit per byte, the bit moving with the offset), and
    dropping, duplicating, swapping or re-attributing whole frames."""
    for name in sorted(doc["scenarios"]):
        frames = doc["scenarios"][name]
        for i, f in enumerate(frames):
            raw = bytes.fromhex(f["frame"])
            for off in range(len(raw)):
                bad = bytearray(raw)
                bad[off] ^= 1 << (off % 8)
                m = json.loads(json.dumps(doc))
                m["scenarios"][name][i]["frame"] = bad.hex()
                yield "%s frame %d byte %d" % (name, i, off), m
            m = json.loads(json.dumps(doc))
            m["scenarios"][name][i]["from"] = "B" if f["from"] == "A" else "A"
            yield "%s frame %d from the other side" % (name, i), m
            m = json.loads(json.dumps(doc))
            del m["scenarios"][name][i]
            yield "%s frame %d dropped" % (name, i), m
            m = json.loads(json.dumps(doc))
            m["scenarios"][name].insert(i, dict(f))
            yield "%s frame %d twice" % (name, i), m
            # Swapping the two sides' opening VECTORs is a valid order (no
            # rule orders frames of different senders that do not answer
            # each other), so that swap is not a mutation.
            if i + 1 < len(frames) and not (f["from"] != frames[i + 1]["from"] and
                                            f["frame"][10:12] == frames[i + 1]["frame"][10:12] == "10"):
                m = json.loads(json.dumps(doc))
                fs = m["scenarios"][name]
                fs[i], fs[i + 1] = fs[i + 1], fs[i]
                yield "%s frames %d and %d swapped" % (name, i, i + 1), m


def self_test(env_path, env_doc, gossip_doc, gossip_path, sigs, ossl, seed, public_key):
    """Proves the checks can fail: every mutation of gossip.json must be
    refused, a mutated copy written to a file must make main() fail, and
    a byte flipped in each field of each envelope vector must be refused."""
    stages = {}
    n = 0
    for what, m in mutations(gossip_doc):
        n += 1
        try:
            check_gossip(m, env_doc, sigs)
        except CheckFailed as e:
            s = str(e).split(":", 1)[0]
            stages[s] = stages.get(s, 0) + 1
            continue
        raise CheckFailed("self-test: gossip.json with %s passes" % what)
    print("ok self-test: %d mutations of gossip.json refused (%s)" % (
        n, ", ".join("%d at %s" % (stages[s], s) for s in sorted(stages))))
    for v in env_doc["vectors"]:
        prev = None if v["input"]["prev"] is None else bytes.fromhex(v["input"]["prev"])
        for field in ("body", "body_hash", "header", "signature", "envelope", "stub", "item_id"):
            raw = bytearray(bytes.fromhex(v[field]))
            raw[len(raw) // 2] ^= 0x10
            m = json.loads(json.dumps(v))
            m[field] = raw.hex()
            try:
                check_vector(env_doc, m, prev, ossl, seed, public_key)
            except (CheckFailed, KeyError, ValueError, TypeError, IndexError, UnicodeDecodeError):
                continue
            raise CheckFailed("self-test: envelopes.json %s with %s mutated passes" % (v["name"], field))
    print("ok self-test: a byte flipped in each field of each envelope vector refused")
    with tempfile.TemporaryDirectory(prefix="hls-vectors-mut-") as tmp:
        raw = bytearray(open(gossip_path, "rb").read())
        key = b'"frame": "'
        at = raw.index(key, raw.index(b'"sync"', raw.index(b'"scenarios"'))) + len(key) + 8 + 20
        raw[at:at + 1] = b"1" if raw[at:at + 1] != b"1" else b"2"   # one hex digit of A's first frame
        copy = os.path.join(tmp, "gossip.json")
        with open(copy, "wb") as fh:
            fh.write(raw)
        r = subprocess.run([sys.executable, os.path.abspath(__file__), env_path, copy],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        check(r.returncode == 1 and b"FAILED" in r.stderr, "self-test: a copy with one hex digit changed passes")
        print("ok self-test: a copy of gossip.json with one hex digit changed fails: %s"
              % r.stderr.decode().strip().splitlines()[-1])


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    args = [a for a in argv[1:] if a != "--self-test"]
    selftest = len(args) < len(argv) - 1
    if len(args) > 2 or any(a.startswith("-") for a in args):
        print(__doc__.split("\n\n")[-1], file=sys.stderr)
        return 2
    path = args[0] if args else os.path.join(here, "..", "..", "docs", "test-vectors", "envelopes.json")
    gossip_path = args[1] if len(args) > 1 else os.path.join(os.path.dirname(path), "gossip.json")
    exe = shutil.which("openssl")
    if exe is None:
        print("check_vectors: openssl not found (needed to check Ed25519 signatures)", file=sys.stderr)
        return 1
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    with open(gossip_path, encoding="utf-8") as fh:
        gossip_doc = json.load(fh)
    try:
        seed = bytes.fromhex(doc["seed"])
        public_key = bytes.fromhex(doc["public_key"])
        check(len(seed) == 32 and len(public_key) == 32, "seed and public_key are 32 bytes")
        vectors = doc["vectors"]
        check([v["input"]["type"] for v in vectors] == [1, 2, 3, 4], "one vector of each type, in chain order")
        with tempfile.TemporaryDirectory(prefix="hls-vectors-") as tmp:
            ossl = OpenSSL(exe, tmp)
            check(ossl.public_key_of_seed(seed) == public_key, "public_key is not the seed's (openssl)")
            prev_id = None
            for i, v in enumerate(vectors):
                check(v["input"]["seq"] == i + 1, "vector %d: seq" % i)
                prev_id = check_vector(doc, v, prev_id, ossl, seed, public_key)
                print("ok %s (envelope %d bytes, stub %d bytes)" % (v["name"], len(v["envelope"]) // 2,
                                                                   len(v["stub"]) // 2))
            # Beside envelopes.json, the same chain goes on: receipt.json
            # (item 5, a receipt), vouch.json (items 6 and 7, a vouch and its
            # withdrawal), fork.json (item 8, a fork report), rekey.json
            # (item 9, a network key rotation), then successor.json (item
            # 10, the key's successor).
            seq = len(vectors)
            for file_name, type_codes in (("receipt.json", [5]), ("vouch.json", [6, 6]), ("fork.json", [7]),
                                          ("rekey.json", [8]), ("successor.json", [9])):
                extra_path = os.path.join(os.path.dirname(path), file_name)
                if not os.path.exists(extra_path):
                    break
                with open(extra_path, encoding="utf-8") as fh:
                    xdoc = json.load(fh)
                check(xdoc["seed"] == doc["seed"] and xdoc["public_key"] == doc["public_key"],
                      "%s is not of the same node" % file_name)
                check([v["input"]["type"] for v in xdoc["vectors"]] == type_codes, "%s: its items" % file_name)
                if file_name == "vouch.json":
                    check([v["input"]["body"]["withdrawn"] for v in xdoc["vectors"]] == [False, True],
                          "vouch.json: a vouch, then its withdrawal")
                for v in xdoc["vectors"]:
                    seq += 1
                    check(v["input"]["seq"] == seq, "%s: seq" % file_name)
                    prev_id = check_vector(xdoc, v, prev_id, ossl, seed, public_key)
                    print("ok %s (envelope %d bytes, stub %d bytes)" % (v["name"], len(v["envelope"]) // 2,
                                                                       len(v["stub"]) // 2))
            sigs = SignatureCache(ossl, doc["signature_tag"].encode("ascii"))
            frames = check_gossip(gossip_doc, doc, sigs, sys.stdout)
            check_sdc(os.path.join(os.path.dirname(path), "sdc.json"), sys.stdout)
            if selftest:
                self_test(path, doc, gossip_doc, gossip_path, sigs, ossl, seed, public_key)
    except (CheckFailed, KeyError, ValueError, TypeError, IndexError, UnicodeDecodeError) as e:
        print("check_vectors: FAILED: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 1
    print("check_vectors: %d envelope vectors and %d gossip frames checked%s with python %s and %s" % (
        len(vectors), frames, " (and the self-test passed)" if selftest else "", sys.version.split()[0],
        subprocess.run([exe, "version"], stdout=subprocess.PIPE).stdout.decode().strip()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
