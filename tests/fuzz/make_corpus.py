#!/usr/bin/env python3
"""Write the seed corpora in tests/fuzz/corpus/ (run from anywhere).

Seeds are small, meaningful inputs: valid ones that reach deep into each
decoder and near-valid ones that stop at one check. The msgpack bytes are
written by hand here, in the layout hlsd's own encoders produce
(protocol/ctl.c hls_ctl_begin_request: {"v", "id", "cmd", "args"} in that
order; msgpack-c's packer always uses the shortest form), so no msgpack
package is needed. Control seeds are frame payloads: the 4-byte length
header hls_ctl_begin_request reserves is not included, because the daemon
decodes the payload after reading the header.

Only files this script names are (re)written; reproducers added by hand
(repro-*) are left alone. Re-run after changing a seed and commit the
result."""

import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


# --- a minimal msgpack encoder ---------------------------------------------

class Raw(bytes):
    """Bytes written as they are (for non-canonical or broken encodings)."""


class Bin(bytes):
    """A msgpack bin value."""


class OrderedMap(list):
    """A map as a list of (key, value) pairs, packed in the order given."""


def pack(v):
    if isinstance(v, Raw):
        return bytes(v)
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        return pack_int(v)
    if isinstance(v, float):
        return b"\xcb" + struct.pack(">d", v)
    if isinstance(v, str):
        return pack_str(v.encode("utf-8"))
    if isinstance(v, Bin):
        n = len(v)
        if n < 0x100:
            return b"\xc4" + bytes([n]) + v
        if n < 0x10000:
            return b"\xc5" + struct.pack(">H", n) + v
        return b"\xc6" + struct.pack(">I", n) + v
    if isinstance(v, (list, tuple)) and not isinstance(v, OrderedMap):
        return container(len(v), 0x90, 0xDC, 0xDD) + b"".join(pack(x) for x in v)
    if isinstance(v, (dict, OrderedMap)):
        items = list(v.items()) if isinstance(v, dict) else list(v)
        out = container(len(items), 0x80, 0xDE, 0xDF)
        for k, x in items:
            out += pack(k) + pack(x)
        return out
    raise TypeError(type(v))


def pack_int(n):
    if 0 <= n <= 0x7F:
        return bytes([n])
    if -32 <= n < 0:
        return struct.pack(">b", n)
    if n >= 0:
        for tag, fmt, top in ((0xCC, ">B", 0xFF), (0xCD, ">H", 0xFFFF), (0xCE, ">I", 0xFFFFFFFF)):
            if n <= top:
                return bytes([tag]) + struct.pack(fmt, n)
        return b"\xcf" + struct.pack(">Q", n)
    for tag, fmt, low in ((0xD0, ">b", -0x80), (0xD1, ">h", -0x8000), (0xD2, ">i", -0x80000000)):
        if n >= low:
            return bytes([tag]) + struct.pack(fmt, n)
    return b"\xd3" + struct.pack(">q", n)


def pack_str(b):
    n = len(b)
    if n < 32:
        return bytes([0xA0 | n]) + b
    if n < 0x100:
        return b"\xd9" + bytes([n]) + b
    if n < 0x10000:
        return b"\xda" + struct.pack(">H", n) + b
    return b"\xdb" + struct.pack(">I", n) + b


def container(n, fix, b16, b32):
    if n < 16:
        return bytes([fix | n])
    if n < 0x10000:
        return bytes([b16]) + struct.pack(">H", n)
    return bytes([b32]) + struct.pack(">I", n)


def canonical_map(d):
    """Keys sorted by their encoded bytes, as canonical form requires (a
    shorter fixstr key sorts first: its header byte is smaller). Nested
    maps are sorted too."""
    def canon(v):
        if isinstance(v, (dict, OrderedMap)):
            return canonical_map(v)
        if isinstance(v, list):
            return [canon(x) for x in v]
        return v
    items = d.items() if isinstance(d, dict) else list(d)
    return OrderedMap(sorted(((k, canon(x)) for k, x in items), key=lambda kv: pack(kv[0])))


def request(req_id, cmd, args):
    """A request payload laid out as hls_ctl_begin_request writes it."""
    return pack(OrderedMap([("v", 1), ("id", req_id), ("cmd", cmd), ("args", args)]))


# --- seeds -----------------------------------------------------------------

FULL_RECORD = OrderedMap([
    ("title", "Walking groups cut GP visits"),
    ("scale", "place"),
    ("stage", "experiment"),
    ("date", "2025-03-14"),
    ("themes", ["problem:Loneliness", {"name": "Mental Health (Adults)", "kind": "aspiration"},
                "strength: Community Assets", "Older people\u2019s services"]),
    ("context", "Two estates with few\nshared spaces.\r\n\tIndented line."),
    ("tried", "Weekly walks led by volunteers."),
    ("happened", "Attendance grew from 6 to 40; caf\u00e9 owners joined in."),
    ("learnt", "Start small; let people own it. \u0928\u092e\u0938\u094d\u0924\u0947"),
    ("author_role", "community connector"),
    ("consent", "peers"),
    ("consent_by", "programme lead"),
    ("consent_purpose", "Share with peer places to compare approaches"),
    ("consent_expires", "2028-02-29"),
])


def mp_tree_seeds():
    s = {}
    sink = canonical_map({
        "nil": None, "t": True, "f": False,
        "u7": 0x7F, "u8": 0x80, "u8max": 0xFF, "u16": 0x100, "u32": 0x10000, "u64": 0x100000000,
        "n5": -32, "n8": -33, "n16": -129, "n32": -32769, "n64": -0x80000001,
        "s0": "", "s31": "x" * 31, "s32": "y" * 32, "utf8": "caf\u00e9 \u2603 \U0001f600",
        "b0": Bin(b""), "b3": Bin(b"\x00\xff\x10"),
        "arr": [1, [2, [3, []]], {}], "map": canonical_map({"a": 1, "b": {"c": None}}),
    })
    s["canon-kitchen-sink"] = pack(sink)
    s["canon-str16"] = pack("z" * 256)
    s["canon-bin16"] = pack(Bin(bytes(range(256)) * 1 + b"\x00"))
    s["canon-array16"] = pack(list(range(16)))
    s["canon-map16"] = pack(canonical_map({"k%02d" % i: i for i in range(16)}))
    s["canon-uint64-max"] = pack(2**64 - 1)
    s["canon-int64-min"] = pack(-2**63)
    deep = 0
    for _ in range(16):
        deep = [deep]
    s["canon-depth-16"] = pack(deep)
    s["canon-request-record-add"] = pack(canonical_map({
        "args": {"record": FULL_RECORD},
        "cmd": "record.add", "id": 1, "v": 1}))
    # Accepted leniently only.
    s["lenient-uint8-small"] = Raw(b"\xcc\x05")
    s["lenient-int8-positive"] = Raw(b"\xd0\x05")
    s["lenient-int64-small-negative"] = Raw(b"\xd3" + struct.pack(">q", -1))
    s["lenient-str8-short"] = Raw(b"\xd9\x03abc")
    s["lenient-str32-short"] = Raw(b"\xdb\x00\x00\x00\x02hi")
    s["lenient-array16-small"] = Raw(b"\xdc\x00\x02\x01\x02")
    s["lenient-map32-small"] = Raw(b"\xdf\x00\x00\x00\x01\xa1a\x01")
    s["lenient-keys-unsorted"] = pack(OrderedMap([("b", 1), ("a", 2)]))
    s["lenient-float32"] = Raw(b"\xca" + struct.pack(">f", 1.5))
    s["lenient-float64-nan"] = Raw(b"\xcb\x7f\xf8\x00\x00\x00\x00\x00\x01")
    s["lenient-bin16-small"] = Raw(b"\xc5\x00\x01\x00")
    # Refused in both modes.
    s["bad-duplicate-keys"] = pack(OrderedMap([("a", 1), ("a", 2)]))
    s["bad-duplicate-keys-big-map"] = pack(OrderedMap([("k%d" % (i % 9), i) for i in range(10)]))
    s["bad-key-not-string"] = Raw(b"\x81\x01\x02")
    s["bad-ext"] = Raw(b"\xd4\x01\x00")
    s["bad-c1"] = Raw(b"\xc1")
    s["bad-trailing"] = Raw(b"\xc0\xc0")
    s["bad-truncated-str"] = Raw(b"\xa5abc")
    s["bad-count-too-big"] = Raw(b"\xdd\xff\xff\xff\xff\x00")
    s["bad-invalid-utf8"] = Raw(b"\xa2\xc3\x28")
    deeper = [deep]
    s["bad-depth-17"] = pack(deeper)
    s["bad-too-many-values"] = pack([0] * 1001)
    s["bad-empty"] = Raw(b"")
    return s


def ctl_request_seeds():
    s = {}
    s["record-add-full"] = request(1, "record.add", OrderedMap([("record", FULL_RECORD)]))
    s["record-add-minimal"] = request(2, "record.add", OrderedMap([("record", OrderedMap([
        ("title", "Minimal"), ("scale", "person"), ("stage", "purpose")]))]))
    s["record-add-themes-string"] = request(3, "record.add", OrderedMap([("record", OrderedMap([
        ("title", "  Trimmed title  "), ("scale", "country"), ("stage", "co-design"),
        ("themes", "practice:Peer review; aspiration : Fair work ;;housing"),
        ("date", None), ("consent", ""), ("id", 99), ("created_at", "x")]))]))
    s["record-add-unknown-field"] = request(4, "record.add", OrderedMap([("record", OrderedMap([
        ("title", "T"), ("scale", "place"), ("stage", "embed"), ("colour", "blue")]))]))
    s["record-add-bad-enum"] = request(5, "record.add", OrderedMap([("record", OrderedMap([
        ("title", "T"), ("scale", "planet"), ("stage", "reflect")]))]))
    s["record-add-bad-date"] = request(6, "record.add", OrderedMap([("record", OrderedMap([
        ("title", "T"), ("scale", "place"), ("stage", "reflect"), ("date", "2023-02-29")]))]))
    s["record-add-title-too-long"] = request(7, "record.add", OrderedMap([("record", OrderedMap([
        ("title", "t" * 301), ("scale", "place"), ("stage", "reflect")]))]))
    s["record-add-consent-without-by"] = request(8, "record.add", OrderedMap([("record", OrderedMap([
        ("title", "T"), ("scale", "place"), ("stage", "reflect"), ("consent", "network")]))]))
    s["record-add-theme-conflict"] = request(9, "record.add", OrderedMap([("record", OrderedMap([
        ("title", "T"), ("scale", "place"), ("stage", "reflect"),
        ("themes", ["problem:Housing", "strength:housing"])]))]))
    s["record-add-control-char"] = request(10, "record.add", OrderedMap([("record", OrderedMap([
        ("title", "Tab\there"), ("scale", "place"), ("stage", "reflect"), ("learnt", "C1 \u0085")]))]))
    s["record-add-themes-nil"] = request(19, "record.add", OrderedMap([("record", OrderedMap([
        ("title", "T"), ("scale", "place"), ("stage", "reflect"), ("themes", None), ("learnt", None)]))]))
    s["record-add-33-themes"] = request(20, "record.add", OrderedMap([("record", OrderedMap([
        ("title", "T"), ("scale", "place"), ("stage", "reflect"),
        ("themes", ";".join("t%d" % i for i in range(33)))]))]))
    s["record-add-129-theme-items"] = request(21, "record.add", OrderedMap([("record", OrderedMap([
        ("title", "T"), ("scale", "place"), ("stage", "reflect"), ("themes", ["x"] * 129)]))]))
    s["record-add-theme-objects"] = request(22, "record.add", OrderedMap([("record", OrderedMap([
        ("title", "T"), ("scale", "place"), ("stage", "reflect"),
        ("themes", [OrderedMap([("name", "\u0915\u093f\u0924\u093e\u092c")]),
                    OrderedMap([("name", "Don\u2019t  Panic!"), ("kind", "strength")]),
                    OrderedMap([("name", "x"), ("colour", "red")])])]))]))
    s["record-edit"] = request(11, "record.edit", OrderedMap([("id", 5), ("set", OrderedMap([
        ("title", "New title"), ("date", None)]))]))
    s["record-list"] = request(12, "record.list", OrderedMap([
        ("scale", "place"), ("theme", "loneliness"), ("limit", 10), ("full", False)]))
    s["status"] = request(13, "status", None)
    s["import-rows"] = request(14, "import.rows", OrderedMap([("rows", [OrderedMap([
        ("line", 2), ("record", OrderedMap([("title", "Row"), ("scale", "place"), ("stage", "embed")]))])])]))
    s["bad-version-2"] = pack(OrderedMap([("v", 2), ("id", 15), ("cmd", "status"), ("args", None)]))
    s["bad-unknown-key"] = pack(OrderedMap([("v", 1), ("id", 16), ("cmd", "status"), ("extra", 1)]))
    s["bad-args-not-map"] = request(17, "status", [1, 2])
    s["bad-cmd-too-long"] = request(18, "c" * 64, None)
    s["bad-not-a-map"] = pack([1, "record.add"])
    # Replies, for hls_ctl_response_decode.
    s["reply-result"] = pack(OrderedMap([("id", 12), ("ok", True), ("result", [OrderedMap([
        ("id", 1), ("title", "T"), ("themes", [OrderedMap([("name", "housing"), ("kind", "problem")])])])])]))
    s["reply-error"] = pack(OrderedMap([("id", 4), ("ok", False), ("error", OrderedMap([
        ("code", "invalid_argument"), ("message", 'unknown field "colour"')]))]))
    s["reply-error-unknown-code"] = pack(OrderedMap([("id", 4), ("ok", False), ("error", OrderedMap([
        ("code", "no_such_code")]))]))
    s["reply-event"] = pack(OrderedMap([("id", 14), ("event", "progress"), ("data", OrderedMap([
        ("done", 2000), ("total", 5000)]))]))
    return s


CSV_HEADER = "title,scale,stage,date,themes,context,tried,happened,learnt,author_role,consent,consent_by\n"


def csv_import_seeds():
    s = {}
    s["good-bom-multiline.csv"] = (
        "\ufeff" + CSV_HEADER
        + 'Walking groups,place,experiment,2025-03-14,"problem:Loneliness; strength:Parks",'
          '"Two estates,\nfew shared spaces","Weekly walks","Grew to 40","Start small",'
          'connector,peers,programme lead\n'
        + 'Caf\u00e9 chats,person,reflect,,aspiration:Belonging,,,,,,,\n'
        + '"Quoted ""title""",organisation,co-design,2024-12-01,,"Line one\n\nLine three",,,,,private,\n'
    ).encode("utf-8")
    s["good-crlf.csv"] = (
        "Title,Scale,Stage\r\nOne,place,purpose\r\nTwo,country,embed\r\n\r\n,,\r\n").encode()
    s["good-minimal.csv"] = b"title,scale,stage\nT,place,purpose"
    s["good-all-columns.csv"] = (
        "title,scale,stage,date,themes,context,tried,happened,learnt,author_role,consent,"
        "consent_by,consent_purpose,consent_expires\n"
        "All,place,understand,2025-01-31,practice:Peer review,c,t,h,l,lead,network,board,"
        "Compare across places,2030-12-31\n").encode()
    s["bad-rows.csv"] = (
        CSV_HEADER
        + "Too few cells,place,purpose\n"
        + "Bad scale,planet,purpose,,,,,,,,,\n"
        + "Bad date,place,purpose,2023-02-29,,,,,,,,\n"
        + "Consent no by,place,purpose,,,,,,,,network,\n"
        + ",place,purpose,,,,,,,,,\n"
        + "Good one,place,purpose,,,,,,,,,\n").encode()
    s["bad-quote-in-field.csv"] = b'title,scale,stage\nA "quoted" word,place,purpose\n'
    s["bad-text-after-quote.csv"] = b'title,scale,stage\n"closed"x,place,purpose\n'
    s["bad-unclosed-quote.csv"] = b'title,scale,stage\n"never closed,place,purpose\nmore\n'
    s["bad-unknown-column.csv"] = b"title,scale,stage,colour\nT,place,purpose,blue\n"
    s["bad-duplicate-column.csv"] = b"title,scale,stage,Title\nT,place,purpose,T\n"
    s["bad-missing-required.csv"] = b"title,date\nT,2025-01-01\n"
    s["bad-too-many-columns.csv"] = (",".join(["title"] * 65) + "\n").encode()
    s["bad-too-many-cells.csv"] = ("title,scale,stage\n" + ",".join(["x"] * 70) + "\n").encode()
    s["bad-empty.csv"] = b""
    s["bad-blank-lines-only.csv"] = b"\r\n\n\r\n"
    s["header-only.csv"] = b"title,scale,stage\n"
    s["cr-only-line-ends.csv"] = b"title,scale,stage\rOne,place,purpose\rTwo,place,embed\r"
    # One row more than a batch (HLS_IMPORT_BATCH_ROWS = 2000), to cross the
    # batch boundary. fuzz_csv_import makes the first hand-over fail for
    # odd-sized inputs: one seed of each parity.
    rows = "title,scale,stage\n" + "".join("%d,place,embed\n" % (i % 10) for i in range(2001))
    assert len(rows) % 2 == 0
    s["good-2001-rows.csv"] = rows.encode()
    s["send-fails-2001-rows.csv"] = (rows + "\n").encode()
    s["bad-control-and-utf8.csv"] = b"title,scale,stage,learnt\nT\x01,place,purpose,ok\nU,place,purpose,\xc3\x28\n"
    return s


CONF_GOOD = """\
# hlsd configuration.
[node]
place = Gateshead Council
region = North East
role = place

[network]
listen = 0.0.0.0:7420

[log]
level = debug

[limits]
max_text_bytes = 32KiB
control_max_frame = 1MiB
control_max_clients = 16
control_request_timeout = 2m

[store]
synchronous = normal
"""


def config_seeds():
    s = {}
    s["good.conf"] = CONF_GOOD.encode()
    s["good-minimal.conf"] = b"[node]\nplace = Leeds\nregion = Yorkshire\n"
    s["good-ipv6-partner.conf"] = (
        "\ufeff; partner node\n[node]\nplace = What Works Centre ; inline comment\nregion = UK\n"
        "role = partner\n[network]\nlisten = [::1]:0\n[limits]\ncontrol_request_timeout = 1500ms\n"
        "max_text_bytes = 256\n").encode()
    s["good-init-style.conf"] = (
        "# Options that differ from their default are set.\n\n[node]\n\n# Name of this place.\n"
        "place = Caf\u00e9 Place\n\nregion = South\n\n#role = place\n\n[network]\n\n#listen = 0.0.0.0:7420\n"
        "\n[log]\n\n#level = info\n").encode()
    s["bad-unknown-option.conf"] = b"[node]\nplace = A\nregion = B\ncolour = blue\n"
    s["bad-unknown-section.conf"] = b"[nodes]\nplace = A\n"
    s["bad-no-section.conf"] = b"place = A\n"
    s["bad-out-of-range.conf"] = b"[node]\nplace = A\nregion = B\n[limits]\nmax_text_bytes = 1GiB\n"
    s["bad-size-unit.conf"] = b"[limits]\ncontrol_max_frame = 64 KB\n"
    s["bad-duration.conf"] = b"[limits]\ncontrol_request_timeout = -5s\n"
    s["bad-int-overflow.conf"] = b"[limits]\ncontrol_max_clients = 99999999999999999999\n"
    s["bad-enum.conf"] = b"[log]\nlevel = verbose\n"
    s["bad-listen.conf"] = b"[network]\nlisten = example.org:7420\n"
    s["bad-syntax.conf"] = b"[node\nplace A\n"
    s["bad-missing-region.conf"] = b"[node]\nplace = A\n"
    s["bad-long-line.conf"] = ("[node]\nplace = " + "p" * 300 + "\nregion = R\n").encode()
    s["bad-control-char.conf"] = b"[node]\nplace = A\x01B\nregion = R\n"
    s["multiline-continuation.conf"] = b"[node]\nplace = First\n  Second\nregion = R\n"
    return s


def cursor_seeds():
    """The "after" of places, stories and items: [kind selector] + text
    (protocol/cursor.h: base64url without padding of a kind byte and the
    key, big-endian)."""
    import base64

    def text(kind, body):
        return base64.urlsafe_b64encode(bytes([kind]) + body).rstrip(b"=")

    origin = bytes(range(1, 33))
    s = {}
    s["items"] = b"\x00" + text(1, origin + struct.pack(">Q", 42))
    s["items-seq0"] = b"\x00" + text(1, origin + struct.pack(">Q", 0))
    s["items-seq-top"] = b"\x00" + text(1, origin + struct.pack(">Q", 2 ** 63))
    s["items-short"] = b"\x00" + text(1, origin + struct.pack(">Q", 42))[:-2]
    s["stories"] = b"\x01" + text(2, struct.pack(">Q", 1772400000000) + origin + struct.pack(">Q", 7))
    s["stories-as-items"] = b"\x00" + text(2, struct.pack(">Q", 1772400000000) + origin + struct.pack(">Q", 7))
    s["places"] = b"\x02" + text(3, origin + "bårford borough".encode())
    s["places-no-profile"] = b"\x02" + text(3, origin + b"\xff")
    s["places-longest"] = b"\x02" + text(3, origin + b"k" * 384)
    s["places-too-long"] = b"\x02" + text(3, origin + b"k" * 385)
    s["padded"] = b"\x00" + text(1, origin + struct.pack(">Q", 42)) + b"="
    s["standard-alphabet"] = b"\x02" + base64.b64encode(bytes([3]) + origin + b"\xfb\xff")
    s["junk"] = b"\x01not a cursor!"
    return s


def invite_seeds():
    """Invite codes and the REDEEM / REDEEMED payloads (protocol/invite.h,
    docs/protocol.md 7.1): [0 code | 1 REDEEM | 2 REDEEMED] + the input.
    The code's check is BLAKE2b-256 (hashlib), its first 4 bytes."""
    import base64
    import hashlib

    def code(addr=b"192.0.2.10:7420", ver=1):
        b = bytes([ver]) + bytes(range(32)) + bytes(range(32, 64)) + bytes(range(64, 96)) + bytes([len(addr)]) + addr
        b += hashlib.blake2b(b, digest_size=32).digest()[:4]
        return b"hls1-" + base64.urlsafe_b64encode(b).rstrip(b"=")

    secret = bytes(range(64, 96))
    s = {}
    s["code-vector"] = b"\x00" + code()
    s["code-ipv6"] = b"\x00" + code(b"[2001:db8::1]:7420")
    s["code-name-padded"] = b"\x00 " + code(b"council.example.org:7420") + b"\n"
    s["code-version2"] = b"\x00" + code(ver=2)
    s["code-bad-address"] = b"\x00" + code(b"192.0.2.10:0")
    s["code-truncated"] = b"\x00" + code()[:60]
    s["code-bad-char"] = b"\x00" + code().replace(b"A", b"+", 1)
    s["code-network-key"] = b"\x00q3rm0Yw6AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    s["redeem"] = b"\x01\x93\x08\xc4\x20" + secret + b"\xb1198.51.100.7:7420"
    s["redeem-no-address"] = b"\x01\x93\x08\xc4\x20" + secret + b"\xa0"
    s["redeem-short-secret"] = b"\x01\x93\x08\xc4\x1f" + secret[:31] + b"\xa0"
    s["redeemed-spent"] = b"\x02\x92\x09\x02"
    s["redeemed-ok"] = b"\x02\x92\x09\x00"
    s["redeemed-trailing"] = b"\x02\x92\x09\x00\x00"
    s["redeemed-stewards"] = b"\x02\x93\x09\x00\x92\xc4\x20" + secret + b"\xc4\x20" + bytes(32)
    s["redeemed-stewards-short"] = b"\x02\x93\x09\x00\x91\xc4\x1f" + secret[:31]
    return s


def patfilter_seeds():
    """The args of patterns, feed.subscribe and patterns.summary, as the
    daemon takes them (fuzz_patfilter.c): one msgpack map."""
    s = {}
    s["empty"] = pack({})
    s["all-keys"] = pack(OrderedMap([
        ("signal", ["spread", "together"]), ("theme", ["problem:housing", "Damp"]), ("kind", "problem"),
        ("scale", ["person", "place"]), ("region", "North"), ("place", ["Place 03", "place 02"]),
        ("since", "2024-W10"), ("until", "2024-12-31"), ("min_places", 2), ("min_strength", 11.4),
        ("vouched", True), ("all", True)]))
    s["week"] = pack({"week": "2024-W52"})
    s["week-53-of-52"] = pack({"week": "2024-W53", "since": "2020-W53"})
    s["day-not-real"] = pack({"since": "2024-02-30"})
    s["year-out"] = pack({"since": "1850-01-01", "week": "2024-W-1"})
    s["strength-int"] = pack({"min_strength": 4})
    s["strength-nan"] = pack({"min_strength": Raw(b"\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00")})
    s["theme-long"] = pack({"theme": "a" * 300})
    s["theme-kind-unknown"] = pack({"theme": "hobby:knitting"})
    s["signal-bad"] = pack({"signal": "sideways"})
    s["types-wrong"] = pack({"signal": 3, "min_places": "2", "vouched": "yes"})
    s["many-values"] = pack({"region": ["R%d" % i for i in range(20)]})
    s["not-a-map"] = pack(["theme", "housing"])
    return s


def write(name, seeds):
    d = os.path.join(CORPUS, name)
    os.makedirs(d, exist_ok=True)
    for fname, data in sorted(seeds.items()):
        with open(os.path.join(d, fname), "wb") as f:
            f.write(bytes(data))
    return len(seeds)


def main():
    total = 0
    for name, seeds in (("mp_tree", mp_tree_seeds()), ("ctl_request", ctl_request_seeds()),
                        ("csv_import", csv_import_seeds()), ("config", config_seeds()),
                        ("cursor", cursor_seeds()), ("invite", invite_seeds()),
                        ("patfilter", patfilter_seeds())):
        total += write(name, seeds)
    print("wrote %d seeds under %s" % (total, CORPUS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
