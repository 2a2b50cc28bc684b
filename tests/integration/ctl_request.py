#!/usr/bin/env python3
"""One raw request on hlsd's control socket (docs/control.md).

    ctl_request.py SOCKET COMMAND [ARGS_JSON]

Sends {"v": 1, "id": 1, "cmd": COMMAND, "args": ARGS} and prints the
reply's result as JSON on stdout (exit 0), or "CODE: MESSAGE" on stderr
(exit 1). For commands hls has no verb for, such as test.clock.advance
on hlsd --test-clock. Standard library only: a minimal MessagePack coder
for what requests and replies hold (binary values come back as hex).
"""
import json
import socket
import struct
import sys


def enc(v):
    if v is None:
        return b"\xc0"
    if isinstance(v, bool):
        return b"\xc3" if v else b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 128:
            return bytes([v])
        if v >= 0:
            return b"\xcf" + struct.pack(">Q", v)
        return b"\xd3" + struct.pack(">q", v)
    if isinstance(v, str):
        b = v.encode()
        if len(b) < 32:
            return bytes([0xA0 | len(b)]) + b
        return b"\xdb" + struct.pack(">I", len(b)) + b
    if isinstance(v, list):
        return b"\xdd" + struct.pack(">I", len(v)) + b"".join(enc(x) for x in v)
    if isinstance(v, dict):
        return b"\xdf" + struct.pack(">I", len(v)) + b"".join(enc(k) + enc(x) for k, x in v.items())
    raise TypeError(v)


def dec(b, i):
    t = b[i]
    if t <= 0x7F:
        return t, i + 1
    if t >= 0xE0:
        return t - 0x100, i + 1
    if 0x80 <= t <= 0x8F or t in (0xDE, 0xDF):
        if t <= 0x8F:
            n, i = t & 0x0F, i + 1
        else:
            w = 2 if t == 0xDE else 4
            n, i = int.from_bytes(b[i + 1:i + 1 + w], "big"), i + 1 + w
        m = {}
        for _ in range(n):
            k, i = dec(b, i)
            m[k], i = dec(b, i)
        return m, i
    if 0x90 <= t <= 0x9F or t in (0xDC, 0xDD):
        if t <= 0x9F:
            n, i = t & 0x0F, i + 1
        else:
            w = 2 if t == 0xDC else 4
            n, i = int.from_bytes(b[i + 1:i + 1 + w], "big"), i + 1 + w
        a = []
        for _ in range(n):
            x, i = dec(b, i)
            a.append(x)
        return a, i
    if 0xA0 <= t <= 0xBF:
        n, i = t & 0x1F, i + 1
        return b[i:i + n].decode(), i + n
    if t in (0xD9, 0xDA, 0xDB, 0xC4, 0xC5, 0xC6):
        w = {0xD9: 1, 0xDA: 2, 0xDB: 4, 0xC4: 1, 0xC5: 2, 0xC6: 4}[t]
        n, i = int.from_bytes(b[i + 1:i + 1 + w], "big"), i + 1 + w
        if t >= 0xD9:
            return b[i:i + n].decode(), i + n
        return b[i:i + n].hex(), i + n
    if t == 0xC0:
        return None, i + 1
    if t in (0xC2, 0xC3):
        return t == 0xC3, i + 1
    if t in (0xCC, 0xCD, 0xCE, 0xCF, 0xD0, 0xD1, 0xD2, 0xD3):
        w = 1 << (t & 0x03)
        return int.from_bytes(b[i + 1:i + 1 + w], "big", signed=t >= 0xD0), i + 1 + w
    if t == 0xCA:
        return struct.unpack(">f", b[i + 1:i + 5])[0], i + 5
    if t == 0xCB:
        return struct.unpack(">d", b[i + 1:i + 9])[0], i + 9
    raise ValueError("unexpected MessagePack type 0x%02x" % t)


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    args = json.loads(sys.argv[3]) if len(sys.argv) == 4 else {}
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    req = enc({"v": 1, "id": 1, "cmd": sys.argv[2], "args": args})
    s.sendall(struct.pack(">I", len(req)) + req)

    def read(n):
        d = b""
        while len(d) < n:
            c = s.recv(n - len(d))
            if not c:
                raise EOFError("hlsd closed the connection")
            d += c
        return d

    while True:
        reply, _ = dec(read(struct.unpack(">I", read(4))[0]), 0)
        if "event" not in reply:
            break
    if not reply["ok"]:
        print(reply["error"]["code"] + ": " + reply["error"]["message"], file=sys.stderr)
        sys.exit(1)
    print(json.dumps(reply["result"]))


main()
