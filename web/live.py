"""The app served by waitress in a background thread (for tests, measurements and benchmarks)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from flask import Flask


@dataclass
class BackgroundServer:
    """A running waitress server; `url` ends with '/'. Call `stop()` (or use it as a context manager)."""

    url: str
    port: int
    _server: object = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        """Close the listening socket and open connections, stop the workers, wait for the loop to end."""
        from waitress import wasyncore

        def close_everything() -> None:
            # Runs in the server's own loop thread (closing sockets from here would race its
            # select()); keep-alive connections from a browser are closed too, so the loop ends.
            wasyncore.close_all(self._server._map, ignore_all=True)

        self._server.trigger.pull_trigger(close_everything)
        self._server.task_dispatcher.shutdown()
        self._thread.join(timeout=10)

    def __enter__(self) -> BackgroundServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def serve_in_background(app: Flask, host: str = "127.0.0.1", port: int = 0,
                        threads: int = 4) -> BackgroundServer:
    """Serve `app` with waitress on `host:port` (0: a free port) from a daemon thread."""
    from waitress import create_server

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth" under test load
    server = create_server(app, host=host, port=port, threads=threads, ident="mnist-tfjs")
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    actual = server.effective_port
    return BackgroundServer(url=f"http://{host}:{actual}/", port=actual, _server=server, _thread=thread)
