#!/usr/bin/env python3
"""Warms a fresh Tomcat the way a test suite's load would: SECONDS seconds (default 30) of GET
/orders.jsp from CONNECTIONS keep-alive clients (default 4), so that Jasper compiles the page and
the JIT compiles its hot paths. warmstart runs it with WARMSTART_HOST and WARMSTART_PORT set.
Prints the requests per second it saw, second by second. Needs only python3."""
import http.client
import os
import threading
import time

host = os.environ.get("WARMSTART_HOST", "127.0.0.1")
port = int(os.environ.get("WARMSTART_PORT", "8080"))
seconds = int(os.environ.get("SECONDS_OF_LOAD", "30"))
connections = int(os.environ.get("CONNECTIONS", "4"))
path = os.environ.get("WARMUP_PATH", "/orders.jsp")

start = time.monotonic()
counts = [0] * seconds
lock = threading.Lock()
errors = []


def client():
    conn = http.client.HTTPConnection(host, port, timeout=60)
    while True:
        elapsed = time.monotonic() - start
        if elapsed >= seconds:
            break
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {path}: HTTP {response.status}")
        except Exception as error:  # a warm-up that cannot reach its service fails loudly
            errors.append(error)
            break
        second = int(time.monotonic() - start)
        if second < seconds:
            with lock:
                counts[second] += 1
    conn.close()


threads = [threading.Thread(target=client) for _ in range(connections)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
if errors:
    raise SystemExit(f"warm-up failed: {errors[0]}")
print("requests/s by second:", " ".join(str(count) for count in counts))
