"""Drives the mock clearinghouse with CPython's xmlrpc.client, as a real
foreign client would. Usage: pyclient.py URL USERNAME API_KEY PASSWORD
Prints one JSON line {"checks": N, "failures": [...]} and exits 0 only if
every check passed."""
import json
import sys
import xmlrpc.client

url, username, api_key, password = sys.argv[1:5]
proxy = xmlrpc.client.ServerProxy(url)
auth = {"username": username, "api_key": api_key}
checks = 0
failures = []


def check(name, cond):
    global checks
    checks += 1
    if not cond:
        failures.append(name)


def fault_of(fn, *args):
    try:
        fn(*args)
    except xmlrpc.client.Fault as f:
        return f.faultCode, f.faultString
    return None, None


info = proxy.get_account_info(auth)
check("account info keys", sorted(info) == ["max_vessels", "user_affiliation", "user_name", "user_port"])
check("account info types", isinstance(info["user_port"], int) and isinstance(info["max_vessels"], int)
      and isinstance(info["user_name"], str) and isinstance(info["user_affiliation"], str))
check("account name", info["user_name"] == username)

vessels = proxy.acquire_resources(auth, {"rspec_type": "wan", "number_of_nodes": 2})
check("acquired two", len(vessels) == 2)
for v in vessels:
    check("infodict keys", sorted(v) == ["expires_in_seconds", "handle", "is_active", "node_id",
                                        "node_ip", "node_port", "vessel_id"])
    check("infodict types", isinstance(v["node_port"], int) and isinstance(v["is_active"], bool)
          and isinstance(v["expires_in_seconds"], int) and isinstance(v["handle"], str))
    check("handle format", v["handle"] == v["node_id"] + ":" + v["vessel_id"])
    check("four hours", 14390 <= v["expires_in_seconds"] <= 14400)
subnets = {v["node_ip"].rsplit(".", 1)[0] for v in vessels}
check("wan subnets distinct", len(subnets) == 2)

handles = [v["handle"] for v in vessels]
check("renew returns 0", proxy.renew_resources(auth, handles) == 0)
held = proxy.get_resource_info(auth)
check("held after renew", sorted(v["handle"] for v in held) == sorted(handles))
check("seven days", all(604790 <= v["expires_in_seconds"] <= 604800 for v in held))
check("release returns 0", proxy.release_resources(auth, handles) == 0)
check("nothing held", proxy.get_resource_info(auth) == [])

check("public key", isinstance(proxy.get_public_key(auth), str))
ct = proxy.get_encrypted_api_key(username)
check("encrypted key is decimal", isinstance(ct, str) and ct.isdigit())

code, text = fault_of(proxy.get_account_info, {"username": username, "api_key": "wrong"})
check("bad auth 101", (code, text) == (101, "User auth failed."))
code, text = fault_of(proxy.get_account_info, "not a dict")
check("auth not a dict 102", (code, text) == (102, "Auth dict must be a dictionary, not a <type 'str'>"))
code, text = fault_of(proxy.acquire_resources, auth, {"rspec_type": "random", "number_of_nodes": -10})
check("bad rspec 102", (code, text) == (102, "rspec has invalid values."))
code, text = fault_of(proxy.acquire_resources, auth, {"rspec_type": "random", "number_of_nodes": 11})
check("credits 103", code == 103)
code, text = fault_of(proxy.renew_resources, auth, [1])
check("renew int handle 102", (code, text) == (102, "Invalid data type for handle. Expected str, received <type 'int'>"))
code, text = fault_of(proxy.release_resources, auth, [])
check("release empty 102", (code, text) == (102, "The list of vessels cannot be empty."))
code, text = fault_of(proxy.get_account_info)
check("arity 100", (code, text) == (100, "Internal error while handling the xmlrpc request."))
code, text = fault_of(proxy.system.listMethods)
check("no introspection", code == 1 and "doesn't exist" in text)
code, text = fault_of(proxy.get_encrypted_api_key, "nobody_here")
check("unknown user 102", (code, text) == (102, "Username does not exist."))

new_key = proxy.regenerate_api_key({"username": username, "password": password})
check("new key", isinstance(new_key, str) and len(new_key) == 32 and new_key != api_key)
code, _ = fault_of(proxy.get_account_info, auth)
check("old key dead", code == 101)

print(json.dumps({"checks": checks, "failures": failures}))
sys.exit(1 if failures else 0)
