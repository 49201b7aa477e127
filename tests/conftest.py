"""Shared pytest fixtures.

AWS: ``moto_endpoint`` starts moto's server on a free loopback port once per test session;
``aws_session`` is a ``boto3.Session`` with dummy credentials whose every client goes to it
(never to real AWS, never reading ~/.aws credentials); ``moto_reset`` empties moto's state.
"""

from __future__ import annotations

import logging
import urllib.request

import pytest

MOTO_REGION = "us-east-1"


@pytest.fixture(scope="session")
def moto_endpoint():
    """URL of a moto server (``http://127.0.0.1:<port>``) running for the whole session."""
    pytest.importorskip("moto.server")
    pytest.importorskip("boto3")
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def aws_session(moto_endpoint):
    """A ``boto3.Session`` (us-east-1, dummy credentials) whose clients all talk to moto."""
    from trailkit.aws.session import get_session

    return get_session(
        region=MOTO_REGION,
        endpoint_url=moto_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
    )


def moto_post(endpoint: str, path: str, body: bytes = b"") -> bytes:
    """POST to moto's control API (``/moto-api/...``)."""
    req = urllib.request.Request(
        endpoint + path, data=body, method="POST", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback only
        return resp.read()


@pytest.fixture
def moto_api(moto_endpoint):
    """``moto_api(path, body=b"")`` POSTs to the session's moto control API."""
    return lambda path, body=b"": moto_post(moto_endpoint, path, body)


@pytest.fixture
def moto_reset(moto_endpoint):
    """Start the test with an empty moto (all services, all accounts and regions)."""
    moto_post(moto_endpoint, "/moto-api/reset")
    return moto_endpoint


@pytest.fixture(scope="session")
def sample_events():
    """All events in ``data/samples`` (``trailkit.read_events``), read once per session.

    Skips the test when the samples have not been generated yet.
    """
    from pathlib import Path

    import trailkit

    root = Path(__file__).resolve().parents[1] / "data" / "samples"
    if not root.is_dir() or not any(p.is_file() and p.name != ".gitkeep" for p in root.rglob("*")):
        pytest.skip("data/samples is empty: generate the samples first (trailkit.samples)")
    return trailkit.read_events(root, progress=False, cache=False)
