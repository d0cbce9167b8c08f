"""A service's FastAPI app under test: in-process (`running`) or over real HTTP (`serving`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["running", "serving"]


@contextmanager
def running(app: Any) -> Iterator[Any]:
    """A `TestClient` with the app's lifespan (relay, consumers) running in its own thread."""
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@contextmanager
def serving(app: Any, port: int | None = None) -> Iterator[str]:
    """Serve the app over real HTTP (uvicorn in a thread, lifespan included) on `port` (by default
    a free one); yields its base URL."""
    import threading

    import uvicorn

    from shared.kit.servers import free_port, wait_for_port

    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for_port(port, timeout=30)
        while not server.started:
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
