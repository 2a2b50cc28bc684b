#!/usr/bin/env python3
# Writes the seed corpus of fuzz_envelope (corpus/envelope/) from the test
# vectors: the vector envelopes, stubs and bodies, and edits named for what
# they break. Needs openssl (to sign edited headers).
import json, os, sys, tempfile, shutil
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'unit'))
import check_vectors as cv
OUT = os.path.join(ROOT, 'tests', 'fuzz', 'corpus', 'envelope')
doc = json.load(open(os.path.join(ROOT, 'docs', 'test-vectors', 'envelopes.json')))
seed = bytes.fromhex(doc['seed']); pk = bytes.fromhex(doc['public_key'])
tag = doc['signature_tag'].encode()
V = {v['name']: {k: bytes.fromhex(v[k]) for k in ('body','header','signature','envelope','stub','item_id')} for v in doc['vectors']}
files = {}
# The receipt of receipt.json (item 5 of the same chain).
rdoc = json.load(open(os.path.join(ROOT, 'docs', 'test-vectors', 'receipt.json')))
V.update({v['name']: {k: bytes.fromhex(v[k]) for k in ('body','header','signature','envelope','stub','item_id')} for v in rdoc['vectors']})
# The vouch and its withdrawal of vouch.json (items 6 and 7).
vdoc = json.load(open(os.path.join(ROOT, 'docs', 'test-vectors', 'vouch.json')))
for n, v in zip(('vouch', 'vouch-withdrawn'), vdoc['vectors']):
    V[n] = {k: bytes.fromhex(v[k]) for k in ('body','header','signature','envelope','stub','item_id')}
# The fork report of fork.json (item 8 of the same chain).
fdoc = json.load(open(os.path.join(ROOT, 'docs', 'test-vectors', 'fork.json')))
V.update({v['name']: {k: bytes.fromhex(v[k]) for k in ('body','header','signature','envelope','stub','item_id')} for v in fdoc['vectors']})
# The rekey of rekey.json (item 9).
kdoc = json.load(open(os.path.join(ROOT, 'docs', 'test-vectors', 'rekey.json')))
V.update({v['name']: {k: bytes.fromhex(v[k]) for k in ('body','header','signature','envelope','stub','item_id')} for v in kdoc['vectors']})
# The successor of successor.json (item 10 of the same chain).
sdoc = json.load(open(os.path.join(ROOT, 'docs', 'test-vectors', 'successor.json')))
V.update({v['name']: {k: bytes.fromhex(v[k]) for k in ('body','header','signature','envelope','stub','item_id')} for v in sdoc['vectors']})
for n, v in V.items():
    files['env-' + n] = v['envelope']
    files['stub-' + n] = v['stub']
    files['body-' + n] = v['body']
tmp = tempfile.mkdtemp()
ossl = cv.OpenSSL(shutil.which('openssl'), tmp)
def envelope(header_list, body, sign=True):
    hb = cv.pack(header_list)
    sig = ossl.sign(seed, tag + hb) if sign else bytes(64)
    return b'\x93' + hb + b'\xc4\x40' + sig + (body if body is not None else b'\xc0')
def header(type_, seq, prev, ts, aud, body):
    return [1, type_, pk, seq, prev, ts, aud, cv.blake2b_256(body)]
def flip(b, i, m=1):
    b = bytearray(b); b[i] ^= m; return bytes(b)
st = V['story']; dg = V['digest']; pr = V['profile']; tb = V['tombstone']
files['bad-sig-story'] = flip(st['envelope'], 1 + len(st['header']) + 2 + 10)
files['bad-body-hash-digest'] = flip(dg['envelope'], len(dg['envelope']) - 3)
files['bad-trailing-profile'] = pr['envelope'] + b'\x00'
files['bad-truncated-story'] = st['envelope'][:-10]
h = tb['header']; assert h[37] == 4
files['bad-seq-uint8-tombstone'] = b'\x93' + h[:37] + b'\xcc\x04' + h[38:] + b'\xc4\x40' + tb['signature'] + tb['body']
files['bad-version-2-profile'] = flip(pr['envelope'], 2, 0x03)
h = dg['header']; ai = len(h) - 35; assert h[ai] == 0
files['bad-peers-audience-digest'] = b'\x93' + h[:ai] + b'\x01' + h[ai+1:] + b'\xc4\x40' + dg['signature'] + dg['body']
b = cv.pack([2021, 53, 'Pilot', None, None, [], 2, 3])
files['bad-story-2021-w53'] = envelope(header(3, 1, None, 1771232400000, 0, b), b)
b = cv.pack([9, 0])
files['bad-tombstone-target-later'] = envelope(header(4, 4, V['story']['item_id'], 1771243200000, 0, b), b)
body = cv.unpack(dg['body'])
cells = body[3]
files['body-bad-digest-unsorted'] = cv.pack(body[:3] + [[cells[1], cells[0]] + cells[2:]])
files['body-bad-digest-repeated'] = cv.pack(body[:3] + [[cells[0], cells[0]] + cells[1:]])
files['body-bad-digest-method'] = cv.pack(body[:2] + [['hls-sdc-9', 10, 5]] + body[3:])
files['body-digest-keyed'] = bytes.fromhex(json.load(open(os.path.join(ROOT, 'docs', 'test-vectors', 'sdc.json')))['body'])
sb = st['body']; assert sb[5] == 0xb5
files['body-bad-story-title-str8'] = sb[:5] + b'\xd9\x15' + sb[6:]
files['body-bad-profile-9-addresses'] = cv.pack(['Leeds', 'Yorkshire', 0, ['192.0.2.%d:7420' % i for i in range(9)]])
h = cv.unpack(pr['header']); h[4] = bytes(32)
files['bad-stub-prev-at-seq-1'] = envelope(h, None, sign=False)
b = cv.pack([2026, 7, 'Minimal story', None, None, [], 0, 0])
files['env-story-minimal'] = envelope(header(3, 1, None, 0, 0, b), b)
b = cv.pack([2020, 53, ['hls-sdc-1', 0, 1], []])
files['env-digest-empty-2020-w53'] = envelope(header(2, 2, bytes(range(32)), 2**63 - 1, 0, b), b)
rb = cv.unpack(V['receipt']['body'])
files['body-bad-receipt-unsorted'] = cv.pack([rb[1], rb[0]] + rb[2:])
files['body-bad-receipt-repeated'] = cv.pack([rb[0], rb[0]] + rb[1:])
files['body-bad-receipt-state-2'] = cv.pack([[rb[0][0], rb[0][1], 2]] + rb[1:])
files['body-bad-receipt-empty'] = cv.pack([])
files['body-bad-receipt-origin-31'] = cv.pack([[rb[0][0][:31], rb[0][1], 0]])
files['body-receipt-max-seq'] = cv.pack([[rb[0][0], 2**63 - 1, 1]])
fa, fb = cv.unpack(V['fork']['body'])
files['body-bad-fork-same-twice'] = cv.pack([fa, fa])
files['body-bad-fork-reversed'] = cv.pack([fb, fa])
files['body-bad-fork-one-stub'] = cv.pack([fa])
files['body-bad-fork-bad-sig'] = cv.pack([fa, fb[:-10] + bytes([fb[-10] ^ 1]) + fb[-9:]])
files['body-bad-fork-two-origins'] = cv.pack([fa, V['receipt']['stub']])
files['body-bad-fork-full-envelope'] = cv.pack([fa, V['tombstone']['envelope']])
vb = cv.unpack(V['vouch']['body'])
files['body-bad-vouch-role-2'] = cv.pack([vb[0], vb[1][:2] + [2]])
files['body-bad-vouch-flat'] = cv.pack([vb[0]] + vb[1])
files['body-bad-vouch-subject-31'] = cv.pack([vb[0][:31], None])
files['body-bad-vouch-empty-place'] = cv.pack([vb[0], [''] + vb[1][1:]])
b = cv.pack([pk, vb[1]])
files['bad-vouch-self'] = envelope(header(6, 8, V['vouch-withdrawn']['item_id'], 1771257600000, 0, b), b)
kb = cv.unpack(V['rekey']['body'])
files['body-bad-rekey-epoch-0'] = cv.pack([0] + kb[1:])
files['body-bad-rekey-hash-31'] = cv.pack([kb[0], kb[1][:31]] + kb[2:])
files['body-bad-rekey-expelled-twice'] = cv.pack(kb[:2] + [[kb[2][0], kb[2][0]], kb[3]])
files['body-bad-rekey-expelled-unsorted'] = cv.pack(kb[:2] + [[bytes([0xff] * 32), kb[2][0]], kb[3]])
files['body-bad-rekey-no-overlap'] = cv.pack(kb[:3])
files['body-rekey-none-expelled'] = cv.pack(kb[:2] + [[], kb[3]])
b = cv.pack(kb[:2] + [[pk], kb[3]])
files['bad-rekey-expels-itself'] = envelope(header(8, 9, V['fork']['item_id'], 1771264800000, 0, b), b)
h = cv.unpack(V['rekey']['header']); h[6] = 1
files['bad-rekey-peers-audience'] = envelope(h, V['rekey']['body'])
sn, ss = cv.unpack(V['successor']['body'])
files['body-bad-successor-id-31'] = cv.pack([sn[:31], ss])
files['body-bad-successor-sig-63'] = cv.pack([sn, ss[:63]])
files['body-bad-successor-three'] = cv.pack([sn, ss, None])
files['body-bad-successor-flat-sig'] = cv.pack([sn] + [ss[:32], ss[32:]])
b = cv.pack([sn, flip(ss, 5)])
files['bad-successor-new-sig-flipped'] = envelope(header(9, 10, V['rekey']['item_id'], 1771268400000, 0, b), b)
b = cv.pack([pk, ossl.sign(seed, b'hlsd-successor-v1' + pk + pk)])
files['bad-successor-self'] = envelope(header(9, 10, V['rekey']['item_id'], 1771268400000, 0, b), b)
files['bad-successor-peers-audience'] = envelope(header(9, 10, V['rekey']['item_id'], 1771268400000, 1, V['successor']['body']),
                                                 V['successor']['body'])
for name, data in files.items():
    open(os.path.join(OUT, name), 'wb').write(data)
print(len(files), 'files', sum(len(d) for d in files.values()), 'bytes')
shutil.rmtree(tmp)
