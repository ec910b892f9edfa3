#!/usr/bin/env python3
"""Slow clients against a running console: the server's peak RSS, and whether a real request
is still served while they hold (or wait for) its connections.

    cargo build --features admin --example admin_console
    target/debug/examples/admin_console --listen 127.0.0.1:18080 --store /tmp/console-bench &
    python3 benches/slow_clients.py --pid $! --port 18080 --clients 20000 --seconds 40

Each slow client connects and sends half a request (no blank line after its headers), then
nothing. The clients are spread over processes of 9,000 descriptors each (a process may hold
20,000 here). The server's RSS is sampled from /proc every half second; `curl /login` is run
every 5 seconds and its status and time printed.
"""

import argparse
import multiprocessing
import os
import selectors
import socket
import subprocess
import time

HALF_SENT = b"GET /login HTTP/1.1\r\nHost: console.example\r\nUser-Agent: slow"
PER_PROCESS = 9000


def slow_clients(port, count, seconds, results):
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
        sockets.append(sock)
    selector = selectors.DefaultSelector()
    for sock in sockets:
        selector.register(sock, selectors.EVENT_WRITE)
    sent = closed = 0
    deadline = time.time() + seconds
    while time.time() < deadline:
        for key, events in selector.select(timeout=0.5):
            sock = key.fileobj
            if events & selectors.EVENT_WRITE:
                try:
                    sock.send(HALF_SENT)
                    sent += 1
                except OSError:
                    pass
                selector.modify(sock, selectors.EVENT_READ)
            else:
                try:
                    data = sock.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    closed += 1
                    selector.unregister(sock)
    results.put((sent, closed))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--clients", type=int, default=20000)
    parser.add_argument("--seconds", type=int, default=40)
    arguments = parser.parse_args()

    before = rss_kib(arguments.pid)
    results = multiprocessing.Queue()
    workers = []
    left = arguments.clients
    while left > 0:
        count = min(left, PER_PROCESS)
        left -= count
        worker = multiprocessing.Process(
            target=slow_clients, args=(arguments.port, count, arguments.seconds, results)
        )
        worker.start()
        workers.append(worker)
    peak = before
    start = time.time()
    next_probe = start + 2
    probes = []
    while time.time() - start < arguments.seconds:
        peak = max(peak, rss_kib(arguments.pid))
        if time.time() >= next_probe:
            next_probe += 5
            probe = subprocess.Popen(
                ["curl", "-s", "-o", "/dev/null", "-m", "60", "-w", "%{http_code} %{time_total}",
                 f"http://127.0.0.1:{arguments.port}/login"],
                stdout=subprocess.PIPE, text=True,
            )
            probes.append((time.time() - start, probe))
        time.sleep(0.5)
    for started, probe in probes:
        out, _ = probe.communicate()
        print(f"curl /login started at t={started:5.1f}s: status and seconds {out or 'failed'}")
    sent = closed = 0
    for _ in workers:
        s, c = results.get()
        sent += s
        closed += c
    for worker in workers:
        worker.join()
    print(f"clients={arguments.clients} sent half a request={sent} closed by the server={closed}")
    print(f"server RSS before={before / 1024:.1f} MiB peak={peak / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
