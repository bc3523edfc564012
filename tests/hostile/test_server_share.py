"""The connection cap is shared between clients: one client holding or reopening many connections (idle, or
stuck in a request) never locks the others out; it only ever sheds its own (issue 37)."""

from __future__ import annotations

import socket
import threading

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from tests.hostile.conftest import closed_by_server, live  # noqa: E402

CAP = 20


class Hoarder:
    """One client keeping ``count`` connections open to (host, port) from ``source``, reopening each one the
    server closes at once (before any deadline could), each after sending ``opening`` (nothing: idle; a request's
    headers and the start of a body that never ends: stuck in a request)."""

    def __init__(self, address, count: int, source: str = "127.0.0.1", opening: bytes = b"") -> None:
        self.address, self.count, self.source, self.opening = address, count, source, opening
        self.socks: list[socket.socket] = []
        self.reopened = 0
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self.hold, daemon=True)

    def connect(self) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=10, source_address=(self.source, 0))
        if self.opening:
            sock.sendall(self.opening)
        return sock

    def hold(self) -> None:
        self.socks = [self.connect() for _ in range(self.count)]
        self.ready.set()
        while not self.stop.wait(0.01):
            for i, sock in enumerate(self.socks):
                if closed_by_server(sock):
                    sock.close()
                    self.socks[i] = self.connect()
                    self.reopened += 1

    def __enter__(self) -> Hoarder:
        self.thread.start()
        assert self.ready.wait(60), "the hoarder could not open its connections"
        return self

    def wait_until_reopened(self, n: int) -> None:
        """Until the server has closed ``n`` of them and they were opened again: the server is full."""
        for _ in range(6000):
            if self.reopened >= n:
                return
            self.stop.wait(0.01)
        pytest.fail(f"the server closed only {self.reopened} of the hoarder's connections")

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(30)
        for sock in self.socks:
            sock.close()


def fresh_requests(address, n: int, source: str = "127.0.0.1") -> list[int]:
    """``n`` requests of a well-behaved client, each on a new connection (the hardest case: it must get in)."""
    host, port = address
    codes = []
    for _ in range(n):
        transport = httpx.HTTPTransport(local_address=source, retries=0)
        with httpx.Client(transport=transport, timeout=30) as client:
            try:
                codes.append(client.get(f"http://{host}:{port}/health").status_code)
            except httpx.TransportError as exc:  # closed on arrival: the lock-out
                codes.append(type(exc).__name__)
    return codes


STUCK = (  # a request's headers and the start of a body that never comes
    b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n0123"
)


@pytest.mark.parametrize("opening", [b"", STUCK], ids=["idle", "stuck in a request"])
def test_a_client_reopening_connections_never_locks_out_another(stub_app, opening):
    """Twice the cap of connections from one address, each reopened the moment the server closes it (idle ones,
    or ones stuck in a request: the heaviest client's longest stalled request is shed): another address is
    served every time. Before, the 0 of 60 requests served of issue 37."""
    server = live(stub_app(), header_timeout=60.0, max_connections=CAP)
    with server as address, Hoarder(address, 2 * CAP, opening=opening) as hoarder:
        hoarder.wait_until_reopened(CAP)
        assert fresh_requests(address, 10, source="127.0.0.2") == [200] * 10


def test_a_client_of_the_same_address_still_gets_in(stub_app):
    """No address tells this client from the hoarder: the hoarder sheds its own connections that waited longest,
    so a newcomer gets in unless the hoarder opens a whole cap's worth of connections before the newcomer's
    request arrives. In order, without threads: the newcomer connects, the hoarder opens CAP - 2 more, and the
    newcomer's request is answered."""
    with live(stub_app(), header_timeout=60.0, max_connections=CAP) as (host, port):
        hoarded = [socket.create_connection((host, port)) for _ in range(2 * CAP)]
        newcomer = socket.create_connection((host, port), timeout=30)
        hoarded += [socket.create_connection((host, port)) for _ in range(CAP - 2)]
        shed = 0
        for _ in range(
            6000
        ):  # until the server has shed all it must (it keeps CAP of them, the newcomer's one)
            shed = sum(closed_by_server(sock) for sock in hoarded)
            if shed >= 2 * CAP - 1:
                break
            threading.Event().wait(0.01)
        assert shed == 2 * CAP - 1 and not closed_by_server(newcomer)
        newcomer.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert newcomer.recv(1024).startswith(b"HTTP/1.1 200")
        for sock in [newcomer, *hoarded]:
            sock.close()


def test_the_server_sheds_the_heaviest_clients_longest_idle_connection():
    from types import SimpleNamespace

    from mnistlab.serve.server import connection_to_shed

    def connection(client, active, busy=False, closing=False):
        transport = SimpleNamespace(is_closing=lambda: closing)
        return SimpleNamespace(client_key=client, last_active=active, in_request=busy, transport=transport)

    heavy = [connection("a", t, busy=t < 3) for t in range(6)]  # a: 6 connections, 0..2 in a request
    light = [connection("b", 10), connection("b", 11)]
    new = connection("b", 12)
    everyone = [*heavy, *light, new]
    assert connection_to_shed(new, everyone, 9) is None, "not over the cap"
    assert connection_to_shed(new, everyone, 8) is heavy[3], "a's longest idle one, not b's"
    only_busy = [connection("a", t, busy=True) for t in range(4)]
    assert connection_to_shed(new, [*only_busy, new], 4) is only_busy[0], "a's longest stalled request"
    own = [connection("b", t, busy=True) for t in range(3)]
    assert connection_to_shed(new, [*own, new], 3) is own[0], "b's own, never another's"
    closing = [connection("a", t, closing=True) for t in range(5)]
    assert connection_to_shed(new, [*closing, *light, new], 3) is None, "those closing already count for none"
    alone = connection("c", 1)
    assert connection_to_shed(alone, [alone], 0) is alone


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("10.1.2.3", "10.1.2.3"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),  # the same /64: the same client
        ("::ffff:10.1.2.3", "10.1.2.3"),
        (None, None),
    ],
)
def test_clients_are_told_apart_by_address_and_ipv6_by_their_64(host, key):
    from mnistlab.serve.server import client_key

    assert client_key(host) == key
