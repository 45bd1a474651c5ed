#!/usr/bin/env python3
"""CPython's own XML-RPC client, as a foreign peer for interop_test.go.

Usage: pyclient.py URL EXT_URL

URL serves the validator1 and betty methods with multicall and
introspection and the default options; EXT_URL serves the same with i8,
nil and gzip responses enabled. The script runs the vectors of spec §8,
the randomised mode, and the fault, introspection, multicall, CR, nil, i8
and gzip checks, all with xmlrpc.client, and prints one JSON line on
stdout:

    {"checks": N, "failures": [...], "observations": {...}}

It exits 0 only when every check passed.
"""

import datetime
import json
import random
import sys
import traceback
import xmlrpc.client

STATES = [
    "Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado",
    "Connecticut", "Delaware", "Florida", "Georgia", "Hawaii", "Idaho",
    "Illinois", "Indiana", "Iowa", "Kansas", "Kentucky", "Louisiana", "Maine",
    "Maryland", "Massachusetts", "Michigan", "Minnesota", "Mississippi",
    "Missouri", "Montana", "Nebraska", "Nevada", "New Hampshire", "New Jersey",
    "New Mexico", "New York", "North Carolina", "North Dakota", "Ohio",
    "Oklahoma", "Oregon", "Pennsylvania", "Rhode Island", "South Carolina",
    "South Dakota", "Tennessee", "Texas", "Utah", "Vermont", "Virginia",
    "Washington", "West Virginia", "Wisconsin", "Wyoming",
]

RANDOM_SEED = 19980717
RANDOM_ROUNDS = 1000
RANDOM_BATCH = 100  # rounds per system.multicall request

V5_TIME = datetime.datetime(1998, 7, 17, 14, 8, 55)
V5_DATA = b"you can't read this!"


class Checker:
    def __init__(self):
        self.checks = 0
        self.failures = []
        self.observations = {}

    def fail(self, name, message):
        if len(self.failures) < 50:
            self.failures.append("%s: %s" % (name, message))

    def true(self, name, ok, message=""):
        self.checks += 1
        if not ok:
            self.fail(name, message or "check failed")

    def same(self, name, have, want):
        """Checks equal values of identical types, recursively."""
        self.checks += 1
        if not same(have, want):
            self.fail(name, "have %r, want %r" % (have, want))

    def call(self, name, fn, want):
        try:
            have = fn()
        except Exception as exc:
            self.checks += 1
            self.fail(name, "have %r, want %r" % (exc, want))
            return None
        self.same(name, have, want)
        return have

    def fault(self, name, fn, code, string=None):
        self.checks += 1
        try:
            have = fn()
        except xmlrpc.client.Fault as f:
            if f.faultCode != code or (string is not None and f.faultString != string):
                self.fail(name, "have fault %r %r, want fault %r %r"
                          % (f.faultCode, f.faultString, code, string))
            return
        except Exception as exc:
            self.fail(name, "have %r, want fault %r" % (exc, code))
            return
        self.fail(name, "have result %r, want fault %r" % (have, code))


def same(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def stooges(moe, larry, curly):
    return {"moe": moe, "larry": larry, "curly": curly}


def items(n):
    return ["item%03d" % i for i in range(1, n + 1)]


def calendar():
    cal = {y: {m: {d: {} for d in ("01", "02")} for m in ("03", "04", "05")}
           for y in ("1999", "2000", "2001")}
    cal["2000"]["04"]["01"] = stooges(100, -5, 7)
    return cal


def counts(lt, gt, amp, apos, quot):
    return {"ctLeftAngleBrackets": lt, "ctRightAngleBrackets": gt,
            "ctAmpersands": amp, "ctApostrophes": apos, "ctQuotes": quot}


def times(n):
    return {"times10": n * 10, "times100": n * 100, "times1000": n * 1000}


def vectors():
    """V1 to V8b of spec §8: (name, method, args, want)."""
    v1 = [stooges(1, 2, 3), stooges(-4, 5, -6), stooges(7, 8, 9)]
    v1b = [stooges(1, 2, 3), dict(stooges(-4, 5, -6), extra="x"), stooges(7, 8, 9)]
    v4 = {"substruct0": stooges(1, 2, 3), "name": "a&b<c>",
          "list": [1, "two", 3.5, True], "empty": {}}
    v5 = [-42, True, "x<y&z", -12.214, V5_TIME, V5_DATA]
    return [
        ("V1", "validator1.arrayOfStructsTest", (v1,), 6),
        ("V1b", "validator1.arrayOfStructsTest", (v1b,), 6),
        ("V1c", "validator1.arrayOfStructsTest", ([],), 0),
        ("V2", "validator1.countTheEntities", ("<<>'\"&&&x'\"\"<",), counts(3, 1, 3, 2, 3)),
        ("V2b", "validator1.countTheEntities", ("",), counts(0, 0, 0, 0, 0)),
        ("V3", "validator1.easyStructTest", (stooges(12, 34, 56),), 102),
        ("V4", "validator1.echoStructTest", (v4,), v4),
        ("V5", "validator1.manyTypesTest", tuple(v5), v5),
        ("V6", "validator1.moderateSizeArrayCheck", (items(150),), "item001item150"),
        ("V6b/100", "validator1.moderateSizeArrayCheck", (items(100),), "item001item100"),
        ("V6b/200", "validator1.moderateSizeArrayCheck", (items(200),), "item001item200"),
        ("V7", "validator1.nestedStructTest", (calendar(),), 102),
        ("V8", "validator1.simpleStructReturnTest", (7,), times(7)),
        ("V8b", "validator1.simpleStructReturnTest", (-2147483,), times(-2147483)),
    ]


def call(proxy, method, *args):
    return getattr(proxy, method)(*args)


class RecordingTransport(xmlrpc.client.Transport):
    """Remembers the Content-Encoding of the last response."""

    last_encoding = None

    def parse_response(self, response):
        self.last_encoding = response.getheader("Content-Encoding")
        return super().parse_response(response)


def check_vectors(ck, proxy, ext, url):
    for name, method, args, want in vectors():
        ck.call(name, lambda: call(proxy, method, *args), want)

    # V5 again without use_builtin_types: the wrapper classes come back.
    plain = xmlrpc.client.ServerProxy(url)
    have = ck.call("V5/wrappers", lambda: plain.validator1.manyTypesTest(
        -42, True, "x<y&z", -12.214, V5_TIME, V5_DATA),
        [-42, True, "x<y&z", -12.214,
         xmlrpc.client.DateTime("19980717T14:08:55"), xmlrpc.client.Binary(V5_DATA)])
    if have is not None:
        ck.observations["V5 types, default ServerProxy"] = ", ".join(type(v).__name__ for v in have)
    have = call(proxy, "validator1.manyTypesTest", -42, True, "x<y&z", -12.214, V5_TIME, V5_DATA)
    ck.observations["V5 types, use_builtin_types"] = ", ".join(type(v).__name__ for v in have)

    # V8c: 2147484000 does not fit in an i4.
    ck.fault("V8c/default", lambda: proxy.validator1.simpleStructReturnTest(2147484),
             -32603, "internal error")
    have = ck.call("V8c/i8", lambda: ext.validator1.simpleStructReturnTest(2147484), times(2147484))
    if have is not None:
        ck.observations["V8c with I8: times1000"] = "%s %r" % (type(have["times1000"]).__name__, have["times1000"])


def check_betty(ck, proxy):
    ck.call("getStateName(41)", lambda: proxy.examples.getStateName(41), "South Dakota")
    ck.call("getStateName(23)", lambda: proxy.examples.getStateName(23), "Minnesota")
    ck.call("getStateNames CR", lambda: proxy.examples.getStateNames(12, 22, 32, 42),
            "Idaho\rMichigan\rNew York\rTennessee")
    mc = xmlrpc.client.MultiCall(proxy)
    for n in range(1, 51):
        mc.examples.getStateName(n)
    ck.call("all 50 states", lambda: list(mc()), STATES)
    ck.fault("getStateName(900)", lambda: proxy.examples.getStateName(900), -32602)


def check_faults(ck, proxy):
    ck.fault("unknown method", lambda: proxy.no.such.method(), -32601,
             "method not found: no.such.method")
    ck.fault("easyStructTest wrong type", lambda: proxy.validator1.easyStructTest("x"), -32602)
    ck.fault("manyTypesTest five params",
             lambda: proxy.validator1.manyTypesTest(-42, True, "x", -12.214, V5_TIME), -32602)
    ck.fault("moderateSizeArrayCheck 99 items",
             lambda: proxy.validator1.moderateSizeArrayCheck(items(99)), -32602)
    ck.fault("nestedStructTest no day", lambda: proxy.validator1.nestedStructTest({}), -32602)


def check_introspection(ck, proxy):
    ck.call("system.listMethods", lambda: proxy.system.listMethods(), [
        "examples.getStateName", "examples.getStateNames",
        "system.listMethods", "system.methodHelp", "system.methodSignature", "system.multicall",
        "validator1.arrayOfStructsTest", "validator1.countTheEntities", "validator1.easyStructTest",
        "validator1.echoStructTest", "validator1.manyTypesTest", "validator1.moderateSizeArrayCheck",
        "validator1.nestedStructTest", "validator1.simpleStructReturnTest",
    ])
    ck.call("system.methodHelp", lambda: proxy.system.methodHelp("validator1.easyStructTest"),
            "Returns moe + larry + curly.")
    ck.call("system.methodSignature", lambda: proxy.system.methodSignature("validator1.manyTypesTest"),
            [["array", "int", "boolean", "string", "double", "dateTime.iso8601", "base64"]])
    ck.call("system.methodSignature undef", lambda: proxy.system.methodSignature("examples.getStateNames"),
            "undef")
    ck.fault("system.methodHelp unknown", lambda: proxy.system.methodHelp("no.such.method"), -32601)


def check_multicall(ck, proxy):
    entries = [
        {"methodName": "examples.getStateName", "params": [41]},
        {"methodName": "no.such.method", "params": []},
        {"methodName": "examples.getStateName", "params": [900]},
        {"methodName": "validator1.easyStructTest", "params": [stooges(12, 34, 56)]},
        {"methodName": "system.multicall", "params": [[]]},
    ]
    try:
        have = proxy.system.multicall(entries)
    except Exception as exc:
        ck.true("system.multicall", False, "have %r" % exc)
        return
    ck.true("system.multicall length", len(have) == 5, "have %r" % (have,))
    if len(have) == 5:
        ck.same("system.multicall[0]", have[0], ["South Dakota"])
        ck.same("system.multicall[1]", have[1],
                {"faultCode": -32601, "faultString": "method not found: no.such.method"})
        ck.true("system.multicall[2]", isinstance(have[2], dict) and have[2].get("faultCode") == -32602,
                "have %r" % (have[2],))
        ck.same("system.multicall[3]", have[3], [102])
        ck.true("system.multicall[4] recursion", isinstance(have[4], dict) and have[4].get("faultCode") == -32600,
                "have %r" % (have[4],))
    ck.call("system.multicall empty", lambda: proxy.system.multicall([]), [])
    ck.fault("system.multicall not an array", lambda: proxy.system.multicall("x"), -32602)

    # The same through the MultiCall helper, which raises the faults.
    mc = xmlrpc.client.MultiCall(proxy)
    mc.examples.getStateName(23)
    mc.no.such.method()
    results = mc()
    ck.call("MultiCall[0]", lambda: results[0], "Minnesota")
    ck.fault("MultiCall[1]", lambda: results[1], -32601)


def check_cr_nil_i8_gzip(ck, proxy, ext, ext_transport, url, ext_url):
    # CPython writes CR raw; XML normalises a raw CR to LF at the Go
    # server, which then sends LF back.
    have = call(proxy, "validator1.echoStructTest", {"s": "a\rb"})
    ck.same("CR sent by CPython", have, {"s": "a\nb"})
    ck.observations["CR sent by CPython arrives as"] = repr(have["s"])

    # nil: only with allow_none on the client; the Go server echoes it
    # only when built WithServerAllowNil.
    nil_proxy = xmlrpc.client.ServerProxy(ext_url, use_builtin_types=True, allow_none=True)
    ck.call("nil echo", lambda: nil_proxy.validator1.echoStructTest({"n": None, "x": 1}), {"n": None, "x": 1})
    nil_default = xmlrpc.client.ServerProxy(url, use_builtin_types=True, allow_none=True)
    ck.fault("nil without AllowNil", lambda: nil_default.validator1.echoStructTest({"n": None}),
             -32603, "internal error")
    try:
        proxy.validator1.echoStructTest({"n": None})
        ck.true("None refused by default", False, "sent None without allow_none")
    except TypeError as exc:
        ck.true("None refused by default", True)
        ck.observations["CPython sending None by default"] = "%s: %s" % (type(exc).__name__, exc)

    # i8: CPython never sends an integer beyond 32 bits.
    try:
        proxy.validator1.simpleStructReturnTest(2 ** 31)
        ck.true("2**31 refused", False, "sent 2**31")
    except OverflowError as exc:
        ck.true("2**31 refused", True)
        ck.observations["CPython sending 2**31"] = "%s: %s" % (type(exc).__name__, exc)

    # gzip: the extension server compresses large responses.
    big = {"k%03d" % i: "value %d" % i for i in range(200)}
    ck.call("gzip echo", lambda: ext.validator1.echoStructTest(big), big)
    ck.same("gzip used", ext_transport.last_encoding, "gzip")


def check_encodings(ck, url):
    """What CPython writes that the Go server must read, or reject."""
    proxy = xmlrpc.client.ServerProxy(url, use_builtin_types=True)
    # repr() of a float may have an exponent; Go sends it back without.
    odd = {"tiny": 1e-07, "huge": 1e16, "neg": -2.5e-300, "text": "caf\u00e9 \u2603 \U0001d11e", "empty": ""}
    ck.call("exponents and UTF-8", lambda: proxy.validator1.echoStructTest(odd), odd)
    # A gzip-compressed request body.
    gz = xmlrpc.client.Transport(use_builtin_types=True)
    gz.encode_threshold = 0
    gzproxy = xmlrpc.client.ServerProxy(url, transport=gz, use_builtin_types=True)
    ck.call("gzip request", lambda: gzproxy.validator1.easyStructTest(stooges(12, 34, 56)), 102)
    # A declared ISO-8859-1 document, with characters outside Latin-1
    # written by CPython as character references.
    latin = xmlrpc.client.ServerProxy(url, use_builtin_types=True, encoding="iso-8859-1")
    text = "caf\u00e9 \u20ac \U0001d11e"
    ck.call("ISO-8859-1 request", lambda: latin.validator1.countTheEntities(text + "<&>"),
            counts(1, 1, 1, 0, 0))
    ck.call("ISO-8859-1 echo", lambda: latin.validator1.echoStructTest({"s": text}), {"s": text})
    # CPython writes what the Go server must refuse: inf (not a number
    # XML-RPC knows) and a raw control character (not XML).
    ck.fault("inf refused", lambda: proxy.validator1.echoStructTest({"x": float("inf")}), -32600)
    ck.fault("control character refused", lambda: proxy.validator1.echoStructTest({"x": "a\x01b"}), -32700)


def random_round(rng, now):
    """One round of the randomised mode: (method, args, want) per method."""
    round_ = []
    structs = [stooges(rng.randrange(1000), rng.randrange(1000), rng.randrange(1000)) for _ in range(20)]
    round_.append(("validator1.arrayOfStructsTest", (structs,), sum(s["curly"] for s in structs)))

    text = "".join(rng.choice("0123456789<>&'\"") for _ in range(100))
    round_.append(("validator1.countTheEntities", (text,),
                   counts(text.count("<"), text.count(">"), text.count("&"),
                          text.count("'"), text.count('"'))))

    s = stooges(rng.randrange(1000), rng.randrange(1000), rng.randrange(1000))
    round_.append(("validator1.easyStructTest", (s,), s["moe"] + s["larry"] + s["curly"]))
    s = stooges(rng.randrange(1000), rng.randrange(1000), rng.randrange(1000))
    round_.append(("validator1.echoStructTest", (s,), s))

    many = [
        rng.randrange(-1000000, 1000001),
        rng.random() < 0.5,
        "".join(rng.choice("abcXYZ <>&'\"\t\n") for _ in range(rng.randrange(40))),
        rng.randrange(-10000, 10001) / 2,
        now,
        bytes(rng.randrange(256) for _ in range(rng.randrange(80))),
    ]
    round_.append(("validator1.manyTypesTest", tuple(many), many))

    arr = ["%05d" % rng.randrange(100000) for _ in range(rng.randint(100, 200))]
    round_.append(("validator1.moderateSizeArrayCheck", (arr,), arr[0] + arr[-1]))

    cal = {}
    for y in ("2000", "2001"):
        cal[y] = {}
        for m in ("03", "04"):
            cal[y][m] = {}
            for d in ("01", "02", "03", "04", "05"):
                cal[y][m][d] = stooges(rng.randint(-100, 100), rng.randint(-100, 100), rng.randint(-100, 100))
    day = cal["2000"]["04"]["01"]
    round_.append(("validator1.nestedStructTest", (cal,), day["moe"] + day["larry"] + day["curly"]))

    k = rng.randrange(1000)
    round_.append(("validator1.simpleStructReturnTest", (k,), times(k)))
    return round_


def check_random(ck, proxy):
    rng = random.Random(RANDOM_SEED)
    done = 0
    for first in range(0, RANDOM_ROUNDS, RANDOM_BATCH):
        now = datetime.datetime.now().replace(microsecond=0)
        calls = []
        for _ in range(min(RANDOM_BATCH, RANDOM_ROUNDS - first)):
            calls.extend(random_round(rng, now))
        mc = xmlrpc.client.MultiCall(proxy)
        for method, args, _ in calls:
            call(mc, method, *args)
        results = mc()
        for i, (method, args, want) in enumerate(calls):
            ck.call("random round %d %s" % (first + i // 8, method), lambda: results[i], want)
            done += 1
    ck.true("random calls", done == RANDOM_ROUNDS * 8, "ran %d calls" % done)


def main():
    if len(sys.argv) != 3:
        print("usage: pyclient.py URL EXT_URL", file=sys.stderr)
        return 2
    url, ext_url = sys.argv[1], sys.argv[2]
    ck = Checker()
    proxy = xmlrpc.client.ServerProxy(url, use_builtin_types=True)
    ext_transport = RecordingTransport(use_builtin_types=True)
    ext = xmlrpc.client.ServerProxy(ext_url, transport=ext_transport, use_builtin_types=True)
    for step in (lambda: check_vectors(ck, proxy, ext, url),
                 lambda: check_betty(ck, proxy),
                 lambda: check_faults(ck, proxy),
                 lambda: check_introspection(ck, proxy),
                 lambda: check_multicall(ck, proxy),
                 lambda: check_cr_nil_i8_gzip(ck, proxy, ext, ext_transport, url, ext_url),
                 lambda: check_encodings(ck, url),
                 lambda: check_random(ck, proxy)):
        try:
            step()
        except Exception:
            ck.checks += 1
            ck.fail("unexpected exception", traceback.format_exc())
    print(json.dumps({"checks": ck.checks, "failures": ck.failures,
                      "observations": ck.observations}, sort_keys=True))
    return 1 if ck.failures else 0


if __name__ == "__main__":
    sys.exit(main())
