#!/usr/bin/python3
"""The latency of an emulated cluster's links (scripts/emulated-cluster.sh): every packet the
kernel routes into the tun device TUN is written back into it DELAY_US later, and the kernel then
routes it on to its destination. It stands in for tc netem, which some kernels lack (this
project's 6.18 VM kernel has tbf and htb but no netem). Packets leave in arrival order, all
delayed the same, so one queue suffices.

Usage: delay-line.py TUN DELAY_US ALIVE_FILE
Runs until ALIVE_FILE disappears (checked every second: the cluster was torn down) or it is
killed; it only ever reads and writes its own tun device in the cluster's own namespace.
"""
import collections
import fcntl
import os
import select
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    os.set_blocking(fd, False)
    return fd


def main(name, delay_us, alive_file):
    fd = open_tun(name)
    delay = int(delay_us) / 1e6
    queue = collections.deque()  # (time due, packet), in arrival order
    next_alive_check = 0.0
    while True:
        now = time.monotonic()
        if now >= next_alive_check:
            if not os.path.exists(alive_file):
                return
            next_alive_check = now + 1.0
        while queue and queue[0][0] <= now:
            os.write(fd, queue.popleft()[1])
        timeout = min(1.0, queue[0][0] - now) if queue else 1.0
        ready, _, _ = select.select([fd], [], [], max(0.0, timeout))
        if not ready:
            continue
        due = time.monotonic() + delay
        while True:
            try:
                queue.append((due, os.read(fd, 65536)))
            except BlockingIOError:
                break


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
