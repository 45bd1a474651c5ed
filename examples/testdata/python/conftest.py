"""A pytest fixture that runs the mock Seattle Clearinghouse for one test.

The fixture starts the mockclearinghouse binary ($MOCKCLEARINGHOUSE, or
the one on PATH) with a fault profile, waits for its credentials file and
yields the endpoint and the demo account. At teardown it stops the mock
with SIGTERM, reads the behaviour report and fails the test if the mock
saw the client misbehave (a leak, a duplicate acquisition, ...).
"""
import json
import os
import signal
import subprocess
import time
from types import SimpleNamespace

import pytest

MOCK = os.environ.get("MOCKCLEARINGHOUSE", "mockclearinghouse")


@pytest.fixture
def clearinghouse(request, tmp_path):
    """The mock, with the fault profile given by indirect parametrization."""
    faults = getattr(request, "param", "")
    creds, report = tmp_path / "creds.json", tmp_path / "report.json"
    with open(tmp_path / "mock.log", "w") as log:
        mock = subprocess.Popen(
            [MOCK, "-addr", "127.0.0.1:0", "-faults-spec", faults,
             "-creds-out", creds, "-report-out", report],
            stdout=log, stderr=log)
    try:
        for _ in range(200):
            if creds.exists() or mock.poll() is not None:
                break
            time.sleep(0.05)
        assert creds.exists(), f"the mock did not start: {(tmp_path / 'mock.log').read_text()}"
        endpoint = json.loads(creds.read_text())
        account = endpoint["accounts"][0]
        yield SimpleNamespace(
            url=endpoint["url"],
            auth={"username": account["username"], "api_key": account["api_key"]})
    finally:
        mock.send_signal(signal.SIGTERM)
        mock.wait(timeout=15)
    findings = json.loads(report.read_text())["findings"]
    if findings:
        pytest.fail("the mock's behaviour report: " +
                    "; ".join(f"{f['kind']}: {f['message']}" for f in findings))
