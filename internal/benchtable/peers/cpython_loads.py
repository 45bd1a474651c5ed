"""Times CPython's xmlrpc.client.loads on payload files, for row 2 of the
performance table.

Usage: python3 cpython_loads.py SECONDS FILE...

For each file it warms up, then calls loads in a loop for at least SECONDS
and prints one line: the file name and the mean nanoseconds per call.
"""

import sys
import time
import xmlrpc.client


def time_loads(data, seconds):
    xmlrpc.client.loads(data)  # warm up, and fail early on a bad payload
    calls, start = 0, time.perf_counter()
    while True:
        xmlrpc.client.loads(data)
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return elapsed / calls


def main():
    seconds = float(sys.argv[1])
    for path in sys.argv[2:]:
        with open(path, "rb") as f:
            data = f.read()
        print(path, int(time_loads(data, seconds) * 1e9))


if __name__ == "__main__":
    main()
