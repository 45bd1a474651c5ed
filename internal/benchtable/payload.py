"""Writes a get_resource_info answer for the performance table.

Usage: python3 payload.py VESSELS OUT.xml

The answer is what a CPython xmlrpc server, as the historical clearinghouse
was, puts on the wire: xmlrpc.client.dumps of a list of infodicts. The
vessels are made up from a fixed seed, so the same count always gives the
same bytes; xmlrpc/testdata/resource_info_{10,100,1000}.xml were written
with this script.
"""

import random
import sys
import xmlrpc.client

SEED = 20261208


def infodict(rng):
    # A node id is a Seattle public key, "<e> <n>" with a 1024-bit n.
    modulus = rng.getrandbits(1024) | (1 << 1023) | 1
    node_id = "65537 " + str(modulus)
    if rng.random() < 0.1:
        node_ip = "NAT$" + "%032x" % rng.getrandbits(128)
    else:
        node_ip = ".".join(str(rng.randint(lo, hi)) for lo, hi in ((1, 223), (0, 255), (0, 255), (1, 254)))
    vessel_id = "v%d" % rng.randint(1, 40)
    return {
        "node_id": node_id,
        "node_ip": node_ip,
        "node_port": 1224,
        "vessel_id": vessel_id,
        "handle": node_id + ":" + vessel_id,
        "is_active": rng.random() < 0.95,
        "expires_in_seconds": rng.randint(1, 7 * 24 * 3600),
    }


def main():
    count, path = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(SEED)
    vessels = [infodict(rng) for _ in range(count)]
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(xmlrpc.client.dumps((vessels,), methodresponse=True))


if __name__ == "__main__":
    main()
