#!/usr/bin/env python3
"""Check docs/test-vectors/envelopes.json without hlsd's C code.

Uses only the Python standard library (a small msgpack decoder and
canonical encoder below, hashlib's BLAKE2b) and the openssl command line
for Ed25519. For every vector it checks that:

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

Usage: check_vectors.py [path/to/envelopes.json]. Exit status 0 when every
check passes, 1 otherwise (also when openssl is missing)."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

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
    check(type_code == inp["type"] and type_code in (1, 2, 3, 4), "%s: type" % name)
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


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    path = argv[1] if len(argv) > 1 else os.path.join(here, "..", "..", "docs", "test-vectors", "envelopes.json")
    exe = shutil.which("openssl")
    if exe is None:
        print("check_vectors: openssl not found (needed to check Ed25519 signatures)", file=sys.stderr)
        return 1
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
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
    except (CheckFailed, KeyError, ValueError, TypeError, IndexError, UnicodeDecodeError) as e:
        print("check_vectors: FAILED: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 1
    print("check_vectors: %d vectors checked with python %s and %s" % (
        len(vectors), sys.version.split()[0], subprocess.run([exe, "version"], stdout=subprocess.PIPE).stdout.decode().strip()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
