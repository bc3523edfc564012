"""``mnistlab serve``: the web app under uvicorn, with the limits a server on a network needs.

uvicorn closes a keep-alive connection that stays quiet, but not one that never sends a byte or sends its headers
one byte at a time: 1,100 such sockets exhausted the common 1,024 open-file limit and every real request failed.
Here every connection must deliver a request's headers within :data:`HEADER_TIMEOUT_S` of opening (or of its
previous answer), at most :data:`MAX_CONNECTIONS` connections are open at once, and the process's open-file limit
is raised to its hard limit. A body must arrive within ``BODY_TIMEOUT_S`` (:mod:`mnistlab.serve.web`).

The cap is shared fairly: a connection that would pass it closes one connection of the client holding the most
(by address; an IPv6 client by its /64 network), the one waiting longest for a request of its own first, a
stalled request of that client only when all of its connections are in one. Refusing the newcomer instead let
one client, reopening a few hundred idle connections before their deadline, lock every other client out; now such
a client only ever sheds its own, and a client of the same address as an attacker still gets in, because the
attacker's connections have waited longer than its own new one.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from mnistlab.errors import MnistlabError
from mnistlab.serve.app import create_app, create_review_app
from mnistlab.serve.dependencies import MAX_UPLOAD_BYTES
from mnistlab.serve.web import LOOPBACK_HOSTS

HEADER_TIMEOUT_S = 10.0  # from connecting (or the last answer) to a request's complete headers
KEEP_ALIVE_S = 5.0  # uvicorn's default: an idle keep-alive connection is closed after this
MAX_CONNECTIONS = 500  # open at once; the rest are closed on arrival (well under the usual 1,024 files)


def guarded_protocol(header_timeout: float = HEADER_TIMEOUT_S, max_connections: int = MAX_CONNECTIONS):
    """uvicorn's httptools protocol with a deadline for each request's headers and a cap on open connections,
    shared fairly between clients (:func:`connection_to_shed`)."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    activity = itertools.count()  # an order of events: which connection was active least recently

    class GuardedHttp(HttpToolsProtocol):
        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._deadline = None
            self.client_key = client_key(self.client[0] if self.client else None)
            self.last_active = next(activity)
            if len(self.connections) > max_connections:  # cheap test first: the scan is for a full server
                victim = connection_to_shed(self, self.connections, max_connections)
                if victim is not None:
                    victim.transport.close()
                    if victim is self:
                        return
            self._arm()

        @property
        def in_request(self) -> bool:
            """Between a request's complete headers and its answer (a connection waiting for headers is idle)."""
            return self.cycle is not None and not self.cycle.response_complete

        def _arm(self) -> None:
            self._deadline = self.loop.call_later(header_timeout, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            if not self.transport.is_closing():
                self.transport.close()

        def on_headers_complete(self) -> None:
            self._disarm()
            self.last_active = next(activity)
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self.last_active = next(activity)
            if not self.transport.is_closing():
                self._disarm()
                self._arm()  # the next request's headers have the same deadline (a byte at a time is not enough)

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

    return GuardedHttp


def client_key(host: str | None) -> str | None:
    """Whose connection it is, for the fair share of the connection cap: the IPv4 address, or the /64 network of
    an IPv6 one (a single host commonly has a whole /64 to choose addresses from).

    Examples
    --------
    >>> client_key("192.168.1.5"), client_key("2001:db8::1"), client_key("::ffff:10.0.0.1")
    ('192.168.1.5', '2001:db8::/64', '10.0.0.1')
    """
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:  # a Unix socket, or no address known
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def connection_to_shed(new, connections, max_connections: int):
    """The connection to close when ``new`` makes more than ``max_connections`` open ones (None when it does
    not, counting none already closing): one of the client holding the most, the one idle (waiting for a request)
    longest, else the one whose request began earliest; ``new`` itself only when it is that client's only one.

    Each connection has ``client_key``, ``last_active`` (an increasing count), ``in_request`` and ``transport``.

    Examples
    --------
    >>> from types import SimpleNamespace as C
    >>> open_ = lambda: C(is_closing=lambda: False)
    >>> a1, a2 = (C(client_key="a", last_active=t, in_request=False, transport=open_()) for t in (1, 2))
    >>> b = C(client_key="b", last_active=3, in_request=False, transport=open_())
    >>> connection_to_shed(b, [a1, a2, b], 2) is a1
    True
    """
    live = [c for c in connections if not c.transport.is_closing()]
    if len(live) <= max_connections:
        return None
    held = Counter(c.client_key for c in live)
    most = max(held.values())
    candidates = [c for c in live if held[c.client_key] == most and c is not new] or [new]
    return min(candidates, key=lambda c: (c.in_request, c.last_active))


def _raise_file_limit() -> None:
    """The soft open-file limit up to the hard one: connections, not a default of 1,024, set the ceiling."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or hard > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536) if hard > 0 else soft, hard))
    except (ImportError, ValueError, OSError):  # not on this platform, or not allowed: keep the limit
        pass


def default_hosts(host: str) -> list[str]:
    """The Host names accepted when serving on ``host``: the loopback names, plus ``host`` itself when it is a
    specific address; any name on a wildcard address (0.0.0.0, ::), where the server cannot know its names
    (give them with ``allowed_hosts``).

    Examples
    --------
    >>> default_hosts("0.0.0.0"), default_hosts("192.168.1.5")[-1]
    (['*'], '192.168.1.5')
    """
    try:
        if ipaddress.ip_address(host).is_unspecified:
            return ["*"]
    except ValueError:  # a name such as "localhost" or "myhost.lan"
        pass
    return [*LOOPBACK_HOSTS, f"[{host}]" if ":" in host else host]


def serve(
    run: str | Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    onnx: bool | None = None,
    trust: bool = False,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    ready: Callable[[str], None] | None = None,
    allowed_hosts: list[str] | None = None,
) -> None:
    """Load the run, bind ``host:port`` (0 picks a free port) and serve until interrupted. ``ready`` is called
    with the address once the socket is bound (the command line prints it). ``allowed_hosts``: the Host names
    accepted (:func:`default_hosts` when None).

    Examples
    --------
    >>> serve("runs/cnn-mnist", port=0, ready=print)  # doctest: +SKIP
    http://127.0.0.1:41023
    """
    app = create_app(run, onnx, trust, max_upload_bytes, allowed_hosts or default_hosts(host))
    run_app(app, host, port, ready)


def review(
    data: str | Path,
    findings: str | Path,
    decisions: str | Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    ready: Callable[[str], None] | None = None,
    allowed_hosts: list[str] | None = None,
) -> None:
    """Serve the review page (:func:`mnistlab.serve.app.create_review_app`) for ``data``, its health
    ``findings`` and the ``decisions`` file, until interrupted.

    Examples
    --------
    >>> review("mnist", "reports/health/findings.csv", "review.jsonl", port=0, ready=print)  # doctest: +SKIP
    http://127.0.0.1:41023
    """
    app = create_review_app(data, findings, decisions, allowed_hosts or default_hosts(host))
    run_app(app, host, port, ready)


def run_app(app, host: str, port: int, ready: Callable[[str], None] | None) -> None:
    """Bind ``host:port`` (0 picks a free port), call ``ready`` with the address, and serve ``app`` under uvicorn
    with the guarded protocol until interrupted."""
    import socket

    import uvicorn

    if not 0 <= port <= 65535:
        raise MnistlabError(f"port={port}; expected 0..65535")
    try:
        sock = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except OSError as exc:
        raise MnistlabError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another `port` or `host`"
        ) from None
    _raise_file_limit()
    bound = sock.getsockname()[1]
    if ready:
        ready(f"http://{f'[{host}]' if ':' in host else host}:{bound}")
    config = uvicorn.Config(
        app,
        http=guarded_protocol(),
        log_level="warning",
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_S,
        timeout_graceful_shutdown=5,
    )
    uvicorn.Server(config).run(sockets=[sock])
