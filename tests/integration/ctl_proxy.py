#!/usr/bin/env python3
"""A control-socket proxy that loses the connection around import.commit.

    ctl_proxy.py LISTEN_SOCKET HLSD_SOCKET MODE [HOLD_MS]

Listens on LISTEN_SOCKET (a data directory's hlsd.sock, for hls --home)
and relays every connection to HLSD_SOCKET frame by frame (4-byte
big-endian length, then the payload; docs/control.md). MODE says what
happens to the first import.commit that passes:

  drop-reply       hlsd gets it and commits; its reply is dropped and the
                   client's connection closed, as when hlsd stops between
                   the transaction and the reply. Later connections are
                   relayed as usual.
  drop-reply-exit  the same, then the proxy stops listening and exits, so
                   the client cannot reach hlsd again.
  drop-commit      hlsd never gets it: the client's connection is closed
                   (hlsd drops the staged rows).
  hold-reply       the reply is held back HOLD_MS, then relayed: hlsd is
                   slow to answer.

Only what hls sends is parsed: a request is import.commit if its payload
holds the msgpack strings "cmd" and "import.commit" (fixstr, as msgpack-c
packs them). Each connection gets two threads; this is a test fixture.
"""
import os
import socket
import sys
import threading
import time

COMMIT = b"\xa3cmd\xadimport.commit"


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def read_frame(sock):
    header = read_exact(sock, 4)
    if header is None:
        return None
    payload = read_exact(sock, int.from_bytes(header, "big"))
    return None if payload is None else header + payload


class Proxy:
    def __init__(self, listen_path, target_path, mode, hold_ms):
        self.target_path = target_path
        self.mode = mode
        self.hold_s = hold_ms / 1000.0
        self.fired = False  # the one commit this proxy interferes with
        self.lock = threading.Lock()
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(listen_path)
        os.chmod(listen_path, 0o600)
        self.listen_path = listen_path
        self.server.listen(16)

    def serve(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return  # closed by drop-reply-exit
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target_path)
            conn = {"client": client, "upstream": upstream, "commit_sent": False, "closed": False}
            threading.Thread(target=self.to_hlsd, args=(conn,), daemon=True).start()
            threading.Thread(target=self.to_client, args=(conn,), daemon=True).start()

    def close(self, conn):
        with self.lock:
            if conn["closed"]:
                return
            conn["closed"] = True
        for key in ("client", "upstream"):
            try:
                conn[key].shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn[key].close()

    def take(self):
        """True once: for the first commit seen."""
        with self.lock:
            if self.fired:
                return False
            self.fired = True
            return True

    def to_hlsd(self, conn):
        while True:
            frame = read_frame(conn["client"])
            if frame is None:
                break
            if COMMIT in frame and self.take():
                if self.mode == "drop-commit":
                    break
                conn["commit_sent"] = True
            try:
                conn["upstream"].sendall(frame)
            except OSError:
                break
        self.close(conn)

    def to_client(self, conn):
        while True:
            frame = read_frame(conn["upstream"])
            if frame is None:
                break
            if conn["commit_sent"]:
                # Replies come in request order and hls sends the commit
                # alone: this frame is its reply.
                conn["commit_sent"] = False
                if self.mode == "hold-reply":
                    time.sleep(self.hold_s)  # the slow hlsd this mode stands for
                else:
                    if self.mode == "drop-reply-exit":
                        self.server.close()
                        os.unlink(self.listen_path)
                    break
            try:
                conn["client"].sendall(frame)
            except OSError:
                break
        self.close(conn)
        if self.mode == "drop-reply-exit" and self.fired:
            os._exit(0)


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    mode = sys.argv[3]
    if mode not in ("drop-reply", "drop-reply-exit", "drop-commit", "hold-reply"):
        sys.exit("unknown mode " + mode)
    hold_ms = int(sys.argv[4]) if len(sys.argv) == 5 else 0
    Proxy(sys.argv[1], sys.argv[2], mode, hold_ms).serve()


if __name__ == "__main__":
    main()
