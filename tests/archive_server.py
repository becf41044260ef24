"""A local HTTP file server on 127.0.0.1 for download tests, and tar archives built from folders.

The server supports ``Range: bytes=N-`` (206 with Content-Range, 416 past the end), can ignore
Range (answering 200 with the whole file), and can drop the connection after a number of bytes
on its next few requests. Every request's path and Range header are recorded.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class ServerState:
    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    honour_range: bool = True
    drops: int = 0  # how many of the next requests are cut short
    drop_after: int = 0  # bytes of the body sent before a cut


class ArchiveServer:
    """Serves ``state.files`` (path -> bytes) at ``url(path)``."""

    def __init__(self, state: ServerState, port: int) -> None:
        self.state = state
        self.port = port

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def add(self, path: str, data: bytes) -> str:
        """Serve ``data`` at ``path``; returns its URL."""
        self.state.files[path] = data
        return self.url(path)


def _handler(state: ServerState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - silence the access log
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path.lstrip("/")
            range_header = self.headers.get("Range")
            state.requests.append((path, range_header))
            if path not in state.files:
                self.send_error(404)
                return
            body = state.files[path]
            start = 0
            if range_header and state.honour_range:
                start = int(range_header.removeprefix("bytes=").split("-")[0])
                if start >= len(body):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            payload = body[start:]
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if state.drops > 0:
                state.drops -= 1
                self.wfile.write(payload[: state.drop_after])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(payload)

    return Handler


@contextmanager
def serve() -> Iterator[ArchiveServer]:
    """A running server on an ephemeral port of 127.0.0.1, stopped on exit."""
    state = ServerState()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield ArchiveServer(state, httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def tar_folder(folder: Path, arcname: str, compression: str = "") -> bytes:
    """``folder`` packed as a tar (``compression`` ``gz`` for .tar.gz) under the top-level ``arcname``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=f"w:{compression}") as tar:
        tar.add(folder, arcname=arcname)
    return buffer.getvalue()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()
