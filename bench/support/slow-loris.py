#!/usr/bin/env python3
"""A slow-loris crowd for bench/ingress (LORIS=N): N connections to the ingress that each send a
webhook's request line and then one header line every INTERVAL seconds, never finishing the head,
for DURATION seconds, or until SIGTERM. A connection the server closes (the ingress's header timeout answers 408
and closes) is opened again at once, as an attacker would, so the crowd stays N strong. Loopback
only. Prints one line: how many connections it opened, how many the server closed, and how many
of those it answered 408 first.

    slow-loris.py HOST PORT COUNT DURATION [INTERVAL]
"""
import resource
import selectors
import signal
import socket
import sys
import time


def main():
    host, port, count, duration = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    interval = float(sys.argv[5]) if len(sys.argv) > 5 else 3.0
    if not host.startswith("127.") and host != "localhost":
        sys.exit("slow-loris: loopback addresses only")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 64), hard))
    selector = selectors.DefaultSelector()
    stats = {"opened": 0, "closed": 0, "answered_408": 0, "failed": 0}

    def open_one():
        try:
            sock = socket.create_connection((host, port), timeout=5)
            # The request line and the first header: a delivery that never finishes its head.
            sock.sendall(b"POST /webhooks/stripe HTTP/1.1\r\nHost: bench\r\n")
            sock.setblocking(False)
        except OSError:
            stats["failed"] += 1
            return
        stats["opened"] += 1
        selector.register(sock, selectors.EVENT_READ)

    for _ in range(count):
        open_one()
    end = time.monotonic() + duration

    def stop(*_):
        nonlocal end
        end = 0.0

    signal.signal(signal.SIGTERM, stop)
    next_header = time.monotonic() + interval
    header = 0
    while time.monotonic() < end:
        timeout = max(0.0, min(next_header, end) - time.monotonic())
        for key, _ in selector.select(timeout):
            sock = key.fileobj
            try:
                data = sock.recv(4096)
            except OSError:
                data = b""
            if data.startswith(b"HTTP/1.1 408"):
                stats["answered_408"] += 1
            # Whatever it answered, the server is done with this connection: open another.
            selector.unregister(sock)
            sock.close()
            stats["closed"] += 1
            open_one()
        if time.monotonic() >= next_header:
            header += 1
            line = b"X-Slow-%d: 1\r\n" % header
            for key in list(selector.get_map().values()):
                try:
                    key.fileobj.send(line)
                except OSError:
                    pass
            next_header += interval
    for key in list(selector.get_map().values()):
        key.fileobj.close()
    print("slow-loris: %d connections opened, %d closed by the server (%d after a 408), %d failed to open"
          % (stats["opened"], stats["closed"], stats["answered_408"], stats["failed"]))


if __name__ == "__main__":
    main()
