#!/usr/bin/env python3
"""Plays systemd's side of sd_notify(3) for test_notify.sh.

    notify_listen.py NOTIFY_SOCKET LOG HLS HOME

Binds an AF_UNIX datagram socket at NOTIFY_SOCKET (the path given to hlsd
in $NOTIFY_SOCKET) and appends one JSON object a line to LOG for every
datagram: {"fields": {"READY": "1", "STATUS": "..."}}. On READY=1 it
checks at once, before it reads the next datagram, that hls can talk to
the node: "control" is the result of connecting to HOME/hlsd.sock right
after the datagram arrived ("ok" or the errno name), and "status_rc" and
"listening_on" those of 'hls --home HOME --json status' run next. Runs until
killed.
"""
import errno
import json
import os
import socket
import subprocess
import sys


def main():
    path, log, hls, home = sys.argv[1:5]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    with open(log, "a", buffering=1) as out:
        while True:
            data = sock.recv(65536).decode("utf-8", "replace")
            fields = dict(line.split("=", 1) for line in data.split("\n") if "=" in line)
            entry = {"fields": fields}
            if fields.get("READY") == "1":
                ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    ctl.connect(os.path.join(home, "hlsd.sock"))
                    entry["control"] = "ok"
                except OSError as e:
                    entry["control"] = errno.errorcode.get(e.errno, str(e.errno))
                finally:
                    ctl.close()
                r = subprocess.run([hls, "--home", home, "--json", "status"], capture_output=True, text=True)
                entry["status_rc"] = r.returncode
                try:
                    entry["listening_on"] = json.loads(r.stdout).get("listening_on")
                except ValueError:
                    entry["listening_on"] = None
            out.write(json.dumps(entry) + "\n")


if __name__ == "__main__":
    main()
