#!/usr/bin/env python3
# Writes the seed corpus of fuzz_import_items (corpus/import_items/): the
# first byte picks the mode (fuzz_import_items.c). Files and requests are
# built from the test vectors' chain (docs/test-vectors/envelopes.json: a
# profile, a digest, a peers story and a tombstone erasing it); the
# fixture seeds select chains of gossip_fixture.h. Leaves repro-* files.
import json, os, sys
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'unit'))
import check_vectors as cv
OUT = os.path.join(ROOT, 'tests', 'fuzz', 'corpus', 'import_items')
doc = json.load(open(os.path.join(ROOT, 'docs', 'test-vectors', 'envelopes.json')))
V = [{k: bytes.fromhex(v[k]) for k in ('envelope', 'stub')} for v in doc['vectors']]
env = [v['envelope'] for v in V]
stub = [v['stub'] for v in V]

def pack_map(pairs):  # str keys in the given order (sorted: canonical)
    assert len(pairs) <= 15
    return bytes([0x80 | len(pairs)]) + b''.join(cv.pack(k) + v for k, v in pairs)

def request(envelopes, cmd='items.import'):
    args = pack_map([('envelopes', cv.pack(list(envelopes)))])
    return pack_map([('args', args), ('cmd', cv.pack(cmd)), ('id', cv.pack(1)), ('v', cv.pack(1))])

FILE, REQUEST, FIXTURE = b'\x00', b'\x01', b'\x02'
GFX_CHAINS = 6  # SELF PEER OTHER FORK NEW1 NEW2
def sel(chain, from_seq):
    return chain + GFX_CHAINS * (from_seq - 1)
files = {
    'file-chain': FILE + b''.join(env),
    'file-reversed-duplicate': FILE + env[3] + env[2] + env[1] + env[0] + env[1],
    'file-stubs': FILE + stub[0] + stub[1] + stub[2] + env[3],
    'file-tombstone-stub': FILE + b''.join(env[:3]) + stub[3],
    'file-truncated': FILE + env[0] + env[1][:-7],
    'file-garbage-after': FILE + env[0] + b'\x93\xc0\xc0\xc0',
    'file-gap': FILE + env[0] + env[2] + env[3],
    'file-not-envelopes': FILE + b'seq,origin\n1,abc\n',
    'request-chain': REQUEST + request(env),
    'request-twice-unordered': REQUEST + request([env[2], env[3], env[0], env[1], env[0]]),
    'request-empty': REQUEST + request([]),
    'request-not-bytes': REQUEST + request(['x']),
    'request-bad-envelope': REQUEST + request([env[0], env[1][:-1]]),
    'request-no-list': REQUEST + pack_map([('args', pack_map([])), ('cmd', cv.pack('items.import')),
                                           ('id', cv.pack(2)), ('v', cv.pack(1))]),
    # every fixture chain whole (OTHER has 10 items: two pairs)
    'fixture-all': FIXTURE + bytes([sel(0, 1), 7, sel(1, 1), 7, sel(2, 1), 7, sel(2, 9), 1, sel(4, 1), 7, sel(5, 1), 7]),
    'fixture-fork': FIXTURE + bytes([sel(2, 1), 4, sel(3, 1), 5]),
    'fixture-fork-successor': FIXTURE + bytes([sel(2, 1), 4, sel(3, 6), 0]),
    'fixture-bad-signature': FIXTURE + bytes([sel(2, 1), 7]),
    'fixture-stubs-then-bodies': FIXTURE + bytes([sel(1, 1), 0x83, sel(0, 1), 0x83, sel(1, 1), 7, sel(0, 1), 4]),
    'fixture-tombstone-stub': FIXTURE + bytes([sel(0, 1), 0x84]),
    'fixture-gap': FIXTURE + bytes([sel(0, 1), 1, sel(0, 4), 1]),
    'fixture-max-origins': FIXTURE + bytes([sel(0, 1), 0, sel(1, 1), 0, sel(2, 1), 0, sel(4, 1), 0, sel(5, 1), 0]),
}
os.makedirs(OUT, exist_ok=True)
for name in os.listdir(OUT):
    if not name.startswith('repro-') and name not in files:
        os.remove(os.path.join(OUT, name))
for name, data in files.items():
    open(os.path.join(OUT, name), 'wb').write(data)
print(len(files), 'files', sum(len(d) for d in files.values()), 'bytes')
