#!/usr/bin/env python3
"""hls-sdc-2 from the outside, for the integration tests (no hlsd code).

  sdc.py publish HOME YEAR-Www THEME KIND SCALE STAGE THRESHOLD ROUNDING RAW
      What a node whose home is HOME publishes for RAW records in that cell
      (its key from HOME/secret.key): "withheld" or the count.

  sdc.py attack DB ORIGIN YEAR-Www THEME KIND STAGE TRUTHS
      Plays the differencing attacker of docs/consent.md on a receiver's
      store: it reads every version of ORIGIN's digest of that week that the
      receiver holds (DB is the receiver's hlsd.db; ORIGIN the origin's node
      id as hls prints it), takes the person-scale cell THEME/KIND/STAGE of
      each, and is told more than any receiver could know: TRUTHS, a JSON
      object {digest seq: [true count, stories the receiver holds]} for each
      version (so every change between versions is known exactly, and the
      stories are a floor). It tries every count and offset that explains
      every version and prints a JSON object: the versions it read (seq and
      what each said) and, for each, the counts still possible.

The rule (docs/protocol.md 4.2, docs/test-vectors/sdc.json) and the
msgpack decoding come from tests/unit/check_vectors.py, which uses only
Python's standard library."""

import base64
import importlib.util
import json
import os
import sqlite3
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("check_vectors", os.path.join(HERE, "..", "unit", "check_vectors.py"))
cv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cv)

KINDS = ["problem", "aspiration", "strength", "practice"]
SCALES = ["person", "organisation", "place", "country"]
STAGES = ["purpose", "understand", "co-design", "experiment", "reflect", "embed"]


def home_seed(home):
    with open(os.path.join(home, "secret.key"), encoding="ascii") as fh:
        lines = [l.strip() for l in fh if l.strip() and not l.startswith("#")]
    sk = base64.b64decode(lines[-1])
    assert len(sk) == 64
    return sk[:32]


def week(text):
    y, w = text.split("-W")
    return int(y), int(w)


def node_id_bytes(text):
    # "@<base64>.ed25519"
    return base64.b64decode(text.lstrip("@").split(".")[0])


def publish(argv):
    home, wk, theme, kind, scale, stage, threshold, rounding, raw = argv
    y, w = week(wk)
    k, sc, st = KINDS.index(kind), SCALES.index(scale), STAGES.index(stage)
    key = cv.sdc_key(home_seed(home))
    o = cv.sdc_offset(key, y, w, theme, k, sc, st, int(rounding)) if sc == 0 else 0
    v = cv.disclose_keyed(int(threshold), int(rounding), sc, int(raw), o)
    print("withheld" if v is None else v)


def attack(argv):
    db, origin, wk, theme, kind, stage, truths_json = argv
    y, w = week(wk)
    k, st = KINDS.index(kind), STAGES.index(stage)
    truths = {int(s): tuple(v) for s, v in json.loads(truths_json).items()}
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    rows = con.execute("SELECT seq, body FROM items WHERE origin=? AND type=2 AND body IS NOT NULL ORDER BY seq",
                       (node_id_bytes(origin),)).fetchall()
    con.close()
    versions = []  # (seq, method, view); view: None absent, "withheld", or a count
    for seq, body in rows:
        d = cv.unpack(bytes(body))
        if (d[0], d[1]) != (y, w):
            continue
        view = None
        for c in d[3]:
            if c[0] == theme and c[1] == k and c[2] == 0 and c[3] == st:
                view = "withheld" if c[4] is None else c[4]
        versions.append((seq, d[2], view))
    if not versions:
        print(json.dumps({"error": "no digest of that week"}))
        return 1
    for seq, _, _ in versions:
        if seq not in truths:
            print(json.dumps({"error": "no truth given for digest seq %d" % seq}))
            return 1
    name, threshold, rounding = versions[-1][1]
    if any(v[1] != [name, threshold, rounding] for v in versions) or name != "hls-sdc-2":
        print(json.dumps({"error": "methods differ or are not hls-sdc-2"}))
        return 1
    first_truth = truths[versions[0][0]][0]
    delta = [truths[seq][0] - first_truth for seq, _, _ in versions]
    floor = [truths[seq][1] for seq, _, _ in versions]
    possible = set()
    for first in range(0, 1000):
        for o in range(max(rounding, 1)):
            ok = True
            for (seq, _, view), dl, fl in zip(versions, delta, floor):
                raw = first + dl
                if raw < fl:
                    ok = False
                    break
                if raw == 0:
                    seen = None
                else:
                    v = cv.disclose_keyed(threshold, rounding, 0, raw, o)
                    seen = "withheld" if v is None else v
                if seen != view:
                    ok = False
                    break
            if ok:
                possible.add(first)
                break
    out = {"versions": [{"seq": seq, "cell": view, "true": truths[seq][0],
                         "possible": sorted(p + dl for p in possible)}
                        for (seq, _, view), dl in zip(versions, delta)]}
    print(json.dumps(out))
    return 0


def main(argv):
    if len(argv) == 11 and argv[1] == "publish":
        return publish(argv[2:]) or 0
    if len(argv) == 9 and argv[1] == "attack":
        return attack(argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
