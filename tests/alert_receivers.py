"""Real alert receivers on loopback: an SMTP server speaking EHLO/STARTTLS/AUTH/DATA, and an
HTTP server taking webhook posts. Each records what it received."""

from __future__ import annotations

import base64
import json
import socketserver
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made by the openssl command."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


class SmtpServer(socketserver.ThreadingTCPServer):
    """Accepts mail only after STARTTLS and AUTH PLAIN with `user`/`password`; `messages` holds each DATA.

    With `offers_starttls=False` it is a server that cannot encrypt: it offers AUTH PLAIN in the clear
    and records in `plain_logins` every AUTH command sent to it."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, cert: Path, key: Path, user: str, password: str, offers_starttls: bool = True):
        super().__init__(("127.0.0.1", 0), _SmtpSession)
        self.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.tls.load_cert_chain(cert, key)
        self.user, self.password, self.offers_starttls = user, password, offers_starttls
        self.messages: list[str] = []
        self.plain_logins: list[str] = []
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server_address[1]


class _SmtpSession(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        server: SmtpServer = self.server  # type: ignore[assignment]
        connection, tls, authenticated = self.connection, False, False
        reader = connection.makefile("rb")

        def reply(line: str) -> None:
            connection.sendall(line.encode() + b"\r\n")

        reply("220 127.0.0.1 test SMTP")
        while line := reader.readline():
            command = line.decode().strip()
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                reply("250-127.0.0.1")
                reply("250 AUTH PLAIN" if tls or not server.offers_starttls else "250 STARTTLS")
            elif verb == "STARTTLS" and not server.offers_starttls:
                reply("502 command not implemented")
            elif verb == "STARTTLS":
                reply("220 go ahead")
                connection = server.tls.wrap_socket(connection, server_side=True)
                reader, tls = connection.makefile("rb"), True
            elif verb == "AUTH" and not tls:
                server.plain_logins.append(command)
                reply("535 not over plain text")
            elif verb == "AUTH":
                _, user, password = base64.b64decode(command.split()[2]).split(b"\0")
                authenticated = (user.decode(), password.decode()) == (server.user, server.password)
                reply("235 ok" if authenticated else "535 bad credentials")
            elif verb in ("MAIL", "RCPT"):
                reply("250 ok" if authenticated else "530 authenticate first")
            elif verb == "DATA":
                reply("354 end with .")
                lines = []
                while (data := reader.readline()) not in (b".\r\n", b""):
                    lines.append(data.decode())
                server.messages.append("".join(lines))
                reply("250 queued")
            elif verb == "QUIT":
                reply("221 bye")
                return
            else:
                reply("250 ok")


class WebhookReceiver(ThreadingHTTPServer):
    """Takes POSTs on any path; `messages` holds each JSON body."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _WebhookHandler)
        self.messages: list[dict] = []
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class _WebhookHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.server.messages.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""
