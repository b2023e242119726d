"""A chat server on 127.0.0.1 that answers as OpenAI's and Ollama's APIs do, from replies a
test sets: the providers' real clients talk to it over a real socket, so their own
exception types reach ytqa (only the network is stood in for)."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def sse(text: str, model: str = "test-model") -> bytes:
    """A streamed OpenAI chat completion of ``text``, a word a chunk."""
    words = [w + " " for w in text.split(" ")]
    words[-1] = words[-1][:-1]
    events = []
    for word in words:
        chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model,
                 "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
        events.append(f"data: {json.dumps(chunk)}\n\n")
    done = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    events += [f"data: {json.dumps(done)}\n\n", "data: [DONE]\n\n"]
    return "".join(events).encode()


class Reply:
    def __init__(self, status=200, body: bytes | dict = b"", content_type="application/json",
                 delay=0.0, headers=None):
        self.status = status
        self.body = json.dumps(body).encode() if isinstance(body, dict) else body
        self.content_type = content_type
        self.delay = delay
        self.headers = headers or {}


class ChatServer:
    """``reply(request_json) -> Reply``; ``requests`` keeps what the clients sent."""

    def __init__(self, reply):
        self.reply = reply
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                request["_path"] = self.path
                request["_authorization"] = self.headers.get("Authorization")
                server.requests.append(request)
                answer = server.reply(request)
                time.sleep(answer.delay)
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def closed_port() -> int:
    """A port nothing listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
