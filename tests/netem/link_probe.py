#!/usr/bin/python3
"""Measures one emulated link: the one-way time of a small message and the rate of a large one,
between two ranks' addresses in their node namespaces (tests/netem/emulated_cluster_test.sh).

Usage: link_probe.py recv ADDRESS PORT      (in the receiving node's namespace)
       link_probe.py send SOURCE ADDRESS PORT BYTES   (in the sending node's namespace)
The sender prints `latency_s=... rate_bytes_per_s=...`. Both sides use one connection, a fixed
number of bytes and timeouts: the probe always ends.
"""
import socket
import sys
import time

TIMEOUT_S = 60
SMALL = 64
ROUNDS = 3


def receive_exactly(conn, count):
    got = 0
    while got < count:
        chunk = conn.recv(min(1 << 20, count - got))
        if not chunk:
            raise SystemExit("link_probe: connection closed early")
        got += len(chunk)


def receiver(address, port):
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((address, int(port)))
    server.listen(1)
    server.settimeout(TIMEOUT_S)
    conn, _ = server.accept()
    conn.settimeout(TIMEOUT_S)
    header = conn.recv(32).split(b" ")  # "<bytes> " then payloads, each answered by one byte
    size = int(header[0])
    for _ in range(ROUNDS):
        receive_exactly(conn, SMALL)
        conn.sendall(b"k")
    receive_exactly(conn, size)
    conn.sendall(b"k")


def sender(source, address, port, size):
    size = int(size)
    conn = socket.create_connection((address, int(port)), timeout=TIMEOUT_S, source_address=(source, 0))
    conn.sendall(f"{size} ".ljust(32).encode())
    round_trips = []
    for _ in range(ROUNDS):  # the first warms the connection (window, routes)
        start = time.monotonic()
        conn.sendall(b"s" * SMALL)
        conn.recv(1)
        round_trips.append(time.monotonic() - start)
    start = time.monotonic()
    conn.sendall(b"x" * size)
    conn.recv(1)
    elapsed = time.monotonic() - start
    latency = min(round_trips[1:]) / 2
    # The large message took one latency to arrive and one for the answer to come back.
    print(f"latency_s={latency:.4f} rate_bytes_per_s={size / max(1e-9, elapsed - 2 * latency):.0f}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "recv":
        receiver(*sys.argv[2:])
    elif len(sys.argv) == 6 and sys.argv[1] == "send":
        sender(*sys.argv[2:])
    else:
        sys.exit(__doc__)
