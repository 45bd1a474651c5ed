"""A Seattle node manager client written from the protocol brief alone.

Usage: nmpeer.py ADDR VESSEL NODEKEY PUBKEY PRIVKEY OTHERPUB OTHERPRIV

It drives the node manager at ADDR ("ip:port") for VESSEL, whose node key
is NODEKEY, as the user with the key pair PUBKEY ("e n") and PRIVKEY
("d p q"); OTHERPUB/OTHERPRIV is a key the vessel does not know. It checks
each reply against the text the original node manager gives, and prints
one JSON line: {"Checks": n, "Failures": [...]}.

Nothing here comes from the original code: framing, the signed trailer,
SHA-1 and textbook RSA with pow() are built from the description.
"""

import hashlib
import json
import socket
import sys
import time

NTP_OFFSET = 2208988800  # seconds from 1900-01-01 to 1970-01-01


def frame(payload):
    """Session framing: the length in decimal, a newline, the bytes."""
    return str(len(payload)).encode() + b"\n" + payload


def read_frame(sock):
    header = b""
    while not header.endswith(b"\n"):
        c = sock.recv(1)
        if not c:
            raise EOFError("connection closed in the header")
        header += c
        if len(header) > 21:
            raise ValueError("header too long")
    size = int(header[:-1])
    body = b""
    while len(body) < size:
        chunk = sock.recv(size - len(body))
        if not chunk:
            raise EOFError("connection closed in the body")
        body += chunk
    return body


def exchange(addr, payload):
    """One request, one reply, one connection."""
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        sock.sendall(frame(payload))
        return read_frame(sock)


class Key:
    def __init__(self, pub, priv):
        self.e, self.n = (int(x) for x in pub.split())
        d, p, q = (int(x) for x in priv.split())
        assert p * q == self.n, "the private key does not match"
        self.d = d
        self.pub = pub

    def sign(self, text):
        """Seattle's raw RSA over SHA-1: each block of the digest, behind a
        0x01 byte, raised to d modulo n; each result after a space."""
        digest = hashlib.sha1(text).digest()
        block = (self.n.bit_length() - 1) // 8 - 1
        out = ""
        for i in range(0, len(digest), block):
            m = int.from_bytes(b"\x01" + digest[i:i + block], "big")
            out += " " + str(pow(m, self.d, self.n))
        return out


class Signer:
    def __init__(self, key, vessel, node_key):
        self.key = key
        self.vessel = vessel
        self.node_key = node_key
        self.last = 0.0

    def now(self):
        t = time.time() + NTP_OFFSET
        if t <= self.last:
            t = self.last + 0.001
        self.last = t
        return t

    def request(self, call, *args, ts=None, exp=None, dest=None, seq="None"):
        """call|vessel|args..., then the trailer: \\n!pub!ts!exp!seq!dest!sig,
        the signature covering everything before its own '!'."""
        if ts is None:
            ts = self.now()
        if exp is None:
            exp = ts + 3600
        if dest is None:
            dest = self.node_key
        body = "|".join((call, self.vessel) + args).encode("latin-1")
        signed = body + ("\n!%s!%s!%s!%s!%s" % (self.key.pub, repr(ts), repr(exp), seq, dest)).encode()
        return signed + b"!" + self.key.sign(signed).encode()


def main():
    addr, vessel, node_key, pub, priv, other_pub, other_priv = sys.argv[1:8]
    user = Signer(Key(pub, priv), vessel, node_key)
    stranger = Signer(Key(other_pub, other_priv), vessel, node_key)
    checks = 0
    failures = []

    def check(what, have, want=None, contains=None):
        nonlocal checks
        checks += 1
        ok = (want is None or have == want) and all(c in have for c in (contains or []))
        if not ok:
            failures.append("%s: have %r, want %r %r" % (what, have[:300], want, contains))

    def say(payload):
        return exchange(addr, payload)

    # Public calls, unsigned.
    check("GetVessels", say(b"GetVessels"), contains=[
        b"Nodekey: " + node_key.encode() + b"\n", b"UserKey: " + pub.encode() + b"\n", b"Name: " + vessel.encode() + b"\n"])
    check("GetVessels ends", say(b"GetVessels")[-9:], b"\n\nSuccess")  # the body keeps its last newline
    check("GetVesselResources", say(("GetVesselResources|" + vessel).encode()), contains=[b"resource connport ", b"\nSuccess"])
    check("GetOffcutResources", say(b"GetOffcutResources"), contains=[b"resource cpu .002\n"])
    check("unknown call", say(b"Frobnicate|" + vessel.encode()), b"Unknown Call\nError")

    # The user's work, signed.
    program = "log('hello|world')\n"
    check("upload", say(user.request("AddFileToVessel", "hello.r2py", program)), b"\nSuccess")
    check("list", say(user.request("ListFilesInVessel")), b"hello.r2py\nSuccess")
    check("retrieve", say(user.request("RetrieveFileFromVessel", "hello.r2py")), program.encode() + b"\nSuccess")
    check("retrieve missing", say(user.request("RetrieveFileFromVessel", "nothing.txt")), b"Error, File Not Found\nError")
    check("delete missing", say(user.request("DeleteFileInVessel", "nothing.txt")), b"File not found\nError")
    check("start", say(user.request("StartVesselEx", "repyV2", "hello.r2py arg")), b"Started\nSuccess")
    check("status", say(b"GetVessels"), contains=[b"Status: Started\n"])
    check("log", say(user.request("ReadVesselLog")), contains=[
        b"=" * 40 + b"\nRunning program: hello.r2py\nArguments: ['arg']\n", b"\nSuccess"])
    check("stop", say(user.request("StopVessel")), b"Stopped\nSuccess")
    check("stop again", say(user.request("StopVessel")), b"Cannot stop vessel with status 'Stopped'\nError")
    check("reset", say(user.request("ResetVessel")), b"\nSuccess")
    check("list after reset", say(user.request("ListFilesInVessel")), b"\nSuccess")
    check("status after reset", say(b"GetVessels"), contains=[b"Status: Fresh\n"])

    # Python 2's 12-digit timestamps are read the same way.
    t = round(user.now() + 1, 2)
    user.last = t
    py2 = user.request("ListFilesInVessel", ts=t, exp=t + 3600)
    check("Python 2 timestamp", say(py2), b"\nSuccess")

    # The refusals, with the original's texts.
    now = user.now()
    expired = user.request("ListFilesInVessel", ts=now - 7200, exp=now - 3600)
    check("expired", say(expired), b"Bad Signature on '" + expired + b"'\nError")
    same = user.now()
    check("first at a time", say(user.request("ListFilesInVessel", ts=same)), b"\nSuccess")
    check("same time again", say(user.request("ReadVesselLog", ts=same)), b"Signature problem: Timestamps match\nError")
    check("earlier time", say(user.request("ReadVesselLog", ts=same - 1)), b"Signature problem: Timestamps out of order\nError")
    check("wrong destination", say(user.request("ListFilesInVessel", dest="65537 3233")),
          b"Signature problem: Not destined for this node Not destined for this node\nError")
    check("destination list", say(user.request("ListFilesInVessel", dest="65537 3233:" + node_key)), b"\nSuccess")
    check("any destination", say(user.request("ListFilesInVessel", dest="None")), b"\nSuccess")
    check("wrong key", say(stranger.request("ListFilesInVessel", ts=user.now())), b"Insufficient Permissions\nError")
    good = user.request("AddFileToVessel", "a.txt", "original")
    tampered = good.replace(b"original", b"Original")
    check("tampered body", say(tampered), b"Bad Signature on '" + tampered + b"'\nError")
    check("unknown vessel", say(Signer(user.key, "v999", node_key).request("ListFilesInVessel")), b"Unknown Vessel\nError")
    check("owner call", say(user.request("ChangeOwnerInformation", "mine")), b"Insufficient Permissions\nError")
    check("bad sequence", say(user.request("ListFilesInVessel", seq="tag:5")),
          b"Signature problem: Invalid sequence transition\nError")
    check("no expiration", say(user.request("ListFilesInVessel", exp="None")), b"Internal Error\nError")

    print(json.dumps({"Checks": checks, "Failures": failures}))


if __name__ == "__main__":
    main()
