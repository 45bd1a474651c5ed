"""An acquisition whose answer is lost may have happened: look, then decide."""
import http.client
import xml.parsers.expat
import xmlrpc.client

import pytest


class OneShotTransport(xmlrpc.client.Transport):
    """Send each call once.

    xmlrpc.client.Transport sends a call again, silently, when the
    connection is reset or closed before the answer: an acquire_resources
    whose answer was lost would acquire twice.
    """

    def request(self, host, handler, request_body, verbose=False):
        return self.single_request(host, handler, request_body, verbose)


def acquire_carefully(proxy, auth, rspec_type, n):
    """Acquire n vessels, once, whatever happens to the answer."""
    def handles():
        return {v["handle"] for v in proxy.get_resource_info(auth)}

    before = handles()
    request = {"rspec_type": rspec_type, "number_of_nodes": n}
    try:
        return [v["handle"] for v in proxy.acquire_resources(auth, request)]
    except xmlrpc.client.Fault:
        raise  # the clearinghouse said no: nothing was acquired
    except (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError,
            xml.parsers.expat.ExpatError):  # a reset, an HTTP error, an answer cut short
        fresh = handles() - before  # no whole answer: it may have been applied
        if len(fresh) == n:
            return sorted(fresh)
        if fresh:
            raise RuntimeError(f"{len(fresh)} new vessels, {n} asked for")
        return [v["handle"] for v in proxy.acquire_resources(auth, request)]


@pytest.mark.parametrize("clearinghouse", [
    "acquire_resources:reset_after,next=1",   # applied, then the answer is lost
    "acquire_resources:reset_before,next=1",  # lost before it is applied
    "acquire_resources:truncate,next=1",      # applied, the answer cut short
    "acquire_resources:unavailable,next=1",   # 503: not applied
], indirect=True)
def test_acquire_survives_a_reset(clearinghouse):
    proxy = xmlrpc.client.ServerProxy(clearinghouse.url, transport=OneShotTransport())
    auth = clearinghouse.auth
    vessels = acquire_carefully(proxy, auth, "wan", 2)
    held = {v["handle"] for v in proxy.get_resource_info(auth)}
    assert len(vessels) == 2 and held == set(vessels)
    proxy.release_resources(auth, vessels)
