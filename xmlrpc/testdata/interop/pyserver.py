#!/usr/bin/env python3
"""CPython's own XML-RPC server, as a foreign peer for interop_test.go.

Serves UserLand's validator1 suite, the "betty" examples, system.multicall
and introspection with the standard library's SimpleXMLRPCServer, on
127.0.0.1 and a port the kernel picks. The port is printed on stdout as one
line once the socket is listening. The server exits when stdin reaches EOF,
so it cannot outlive the test process that started it, however that ends.

Only two things differ from a stock server, both opt-in per value:

* examples.getStateNames returns a CRString, which is written with every CR
  as &#13;. CPython writes a plain str's CR raw, and XML line-end
  normalisation turns a raw CR into LF at the receiver, so a stock CPython
  server cannot deliver CR. interop.stateNamesRawCR returns the same text as
  a plain str to show that loss.
* interop.* methods exist only to probe CPython's own behaviour (nil, i8).
"""

import os
import sys
import threading
import xmlrpc.client
from xmlrpc.server import SimpleXMLRPCServer

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


class CRString(str):
    """A str that the marshaller writes with CR escaped as &#13;."""


def _dump_cr_string(marshaller, value, write):
    write("<value><string>")
    write(xmlrpc.client.escape(value).replace("\r", "&#13;"))
    write("</string></value>\n")


# Adds a type to the table; plain str keeps CPython's stock encoding.
xmlrpc.client.Marshaller.dispatch[CRString] = _dump_cr_string


def array_of_structs_test(structs):
    """Returns the sum of the curly members of an array of structs."""
    return sum(s["curly"] for s in structs)


def count_the_entities(text):
    """Counts the <, >, &, ' and " characters in a string."""
    return {
        "ctLeftAngleBrackets": text.count("<"),
        "ctRightAngleBrackets": text.count(">"),
        "ctAmpersands": text.count("&"),
        "ctApostrophes": text.count("'"),
        "ctQuotes": text.count('"'),
    }


def easy_struct_test(s):
    """Returns moe + larry + curly."""
    return s["moe"] + s["larry"] + s["curly"]


def echo_struct_test(s):
    """Returns its struct parameter unchanged."""
    return s


def many_types_test(number, boolean, string, double, date_time, data):
    """Returns its six parameters as an array."""
    return [number, boolean, string, double, date_time, data]


def moderate_size_array_check(items):
    """Returns the first element concatenated with the last."""
    return items[0] + items[-1]


def nested_struct_test(calendar):
    """Returns moe + larry + curly of calendar["2000"]["04"]["01"]."""
    day = calendar["2000"]["04"]["01"]
    return day["moe"] + day["larry"] + day["curly"]


def simple_struct_return_test(n):
    """Returns n times 10, 100 and 1000."""
    return {"times10": n * 10, "times100": n * 100, "times1000": n * 1000}


def _state(n):
    if not 1 <= n <= len(STATES):
        raise ValueError("no state number %d" % n)
    return STATES[n - 1]


def get_state_name(n):
    """Returns the name of US state number n (1-50, alphabetical)."""
    return _state(n)


def get_state_names(*numbers):
    """Returns the names of the given states joined by CR."""
    return CRString("\r".join(_state(n) for n in numbers))


def state_names_raw_cr(*numbers):
    """Like examples.getStateNames, but encoded the stock CPython way."""
    return "\r".join(_state(n) for n in numbers)


def echo(value):
    """Returns its parameter unchanged."""
    return value


def _exit_on_stdin_eof():
    sys.stdin.buffer.read()
    os._exit(0)


def main():
    server = SimpleXMLRPCServer(
        ("127.0.0.1", 0),
        logRequests=False,
        allow_none=True,
        use_builtin_types=True,
    )
    server.register_introspection_functions()
    server.register_multicall_functions()
    for name, fn in [
        ("validator1.arrayOfStructsTest", array_of_structs_test),
        ("validator1.countTheEntities", count_the_entities),
        ("validator1.easyStructTest", easy_struct_test),
        ("validator1.echoStructTest", echo_struct_test),
        ("validator1.manyTypesTest", many_types_test),
        ("validator1.moderateSizeArrayCheck", moderate_size_array_check),
        ("validator1.nestedStructTest", nested_struct_test),
        ("validator1.simpleStructReturnTest", simple_struct_return_test),
        ("examples.getStateName", get_state_name),
        ("examples.getStateNames", get_state_names),
        ("interop.stateNamesRawCR", state_names_raw_cr),
        ("interop.echo", echo),
    ]:
        server.register_function(fn, name)
    threading.Thread(target=_exit_on_stdin_eof, daemon=True).start()
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
