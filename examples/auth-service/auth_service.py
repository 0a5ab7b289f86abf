#!/usr/bin/env python3
"""Example HTTP auth service for mosq-auth's http backend (Python 3 standard library only).

It speaks both contracts the backend can use:

- auth-plug: form POST /auth, /superuser, /acl (fields username, password, topic, acc, clientid);
- go-auth:   JSON POST /getuser, /superuser, /aclcheck (same field names).

Either path set accepts either body (and GET with a query string). Answers are
200 "ok" (allow) or 403 "denied" (deny), which works with http_response_mode
status and text.

Rules:
- users and passwords come from a mosquitto_passwd file ($7$ = PBKDF2-HMAC-SHA512);
- users named with --superusers pass every ACL check;
- everyone else may publish and subscribe only to topics that begin with "<username>/".

Passwords are never logged. Run:

    python3 examples/auth-service/auth_service.py --users FILE --port 8000

Make a password line (the password is read from the terminal or stdin):

    python3 examples/auth-service/auth_service.py --hash alice >> users
"""

import argparse
import base64
import getpass
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote_to_bytes

# mosquitto_passwd's defaults for $7$ in 2.0: 101 iterations, 12-byte salt, 64-byte key.
HASH_ITERATIONS = 101
SALT_BYTES = 12
MAX_BODY = 64 * 1024


def hash_password(password: bytes, iterations: int = HASH_ITERATIONS) -> str:
    """A $7$ hash as mosquitto_passwd writes it."""
    salt = os.urandom(SALT_BYTES)
    key = hashlib.pbkdf2_hmac("sha512", password, salt, iterations)
    return "$7${}${}${}".format(
        iterations, base64.b64encode(salt).decode(), base64.b64encode(key).decode()
    )


def check_password(stored: str, password: bytes) -> bool:
    """True if `password` matches a $7$ hash (constant-time compare)."""
    parts = stored.split("$")
    # "", "7", iterations, salt, key
    if len(parts) != 5 or parts[0] != "" or parts[1] != "7":
        return False
    try:
        iterations = int(parts[2])
        salt = base64.b64decode(parts[3], validate=True)
        key = base64.b64decode(parts[4], validate=True)
    except ValueError:
        return False
    if iterations < 1 or iterations > 10_000_000 or not key:
        return False
    got = hashlib.pbkdf2_hmac("sha512", password, salt, iterations, dklen=len(key))
    return hmac.compare_digest(got, key)


class Users:
    """The users file, re-read when it changes."""

    def __init__(self, path: str):
        self.path = path
        self.lock = threading.Lock()
        self.mtime = None
        self.hashes = {}
        self.reload()

    def reload(self):
        try:
            mtime = os.stat(self.path).st_mtime_ns
        except OSError as e:
            print(f"auth-service: cannot read {self.path}: {e}", file=sys.stderr)
            return
        with self.lock:
            if mtime == self.mtime:
                return
            hashes = {}
            with open(self.path, encoding="utf-8") as f:
                for lineno, line in enumerate(f, 1):
                    line = line.strip()
                    if not line or line.startswith("#"):
                        continue
                    user, sep, hashed = line.partition(":")
                    if not sep or not hashed.startswith("$7$"):
                        print(
                            f"auth-service: {self.path}:{lineno}: expected user:$7$... (skipped)",
                            file=sys.stderr,
                        )
                        continue
                    hashes[user] = hashed
            self.hashes = hashes
            self.mtime = mtime
            print(f"auth-service: loaded {len(hashes)} users from {self.path}", file=sys.stderr)

    def check(self, user: str, password: bytes) -> bool:
        self.reload()
        with self.lock:
            stored = self.hashes.get(user)
        if stored is None or not password:
            return False
        return check_password(stored, password)


def parse_form(text: bytes) -> dict:
    """Form fields as bytes (passwords may be any bytes)."""
    fields = {}
    for pair in text.split(b"&"):
        if not pair:
            continue
        key, _, value = pair.partition(b"=")
        key = unquote_to_bytes(key.replace(b"+", b" ")).decode("utf-8", "replace")
        fields[key] = unquote_to_bytes(value.replace(b"+", b" "))
    return fields


def parse_json(body: bytes) -> dict:
    data = json.loads(body.decode("utf-8"))
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    fields = {}
    for key, value in data.items():
        if value is None:
            value = ""
        fields[str(key)] = str(value).encode("utf-8")
    return fields


def topic_allowed(user: str, topic: str) -> bool:
    """Users may use topics (and subscription filters) under "<username>/" only."""
    if not user or any(c in user for c in "+#/"):
        return False
    return topic.startswith(user + "/")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the plugin reuses its connection
    server_version = "mosq-auth-example"
    users: Users = None
    superusers: frozenset = frozenset()

    def do_POST(self):
        self.handle_check()

    do_PUT = do_POST

    def do_GET(self):
        self.handle_check()

    def handle_check(self):
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            self.answer(413, b"too large")
            return
        body = self.rfile.read(length) if length else b""
        try:
            if self.headers.get("Content-Type", "").startswith("application/json"):
                fields = parse_json(body)
            else:
                fields = parse_form(body if body else query.encode("latin-1"))
        except (ValueError, UnicodeDecodeError):
            self.answer(400, b"bad request")
            return

        user = fields.get("username", b"").decode("utf-8", "replace")
        if path in ("/auth", "/getuser"):
            allowed = self.users.check(user, fields.get("password", b""))
            what = "auth"
        elif path == "/superuser":
            allowed = user in self.superusers
            what = "superuser"
        elif path in ("/acl", "/aclcheck"):
            topic = fields.get("topic", b"").decode("utf-8", "replace")
            allowed = topic_allowed(user, topic)
            what = f"acl acc={fields.get('acc', b'').decode('ascii', 'replace')} topic={topic!r}"
        else:
            self.answer(404, b"not found")
            return
        # Never log the password.
        self.log_message("%s user=%r -> %s", what, user, "allow" if allowed else "deny")
        if allowed:
            # Let the plugin cache an allow for a minute; denials use its own setting.
            self.answer(200, b"ok", cache="max-age=60")
        else:
            self.answer(403, b"denied")

    def answer(self, status: int, body: bytes, cache: str = None):
        self.send_response_only(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        if cache:
            self.send_header("Cache-Control", cache)
        self.end_headers()
        self.wfile.write(body)

    def log_request(self, code="-", size="-"):
        # The default line includes the query string, which may carry a password (GET).
        pass

    def log_message(self, fmt, *args):
        sys.stderr.write(
            "%s auth-service: %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), fmt % args)
        )


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--users", help="password file (user:$7$... lines, as mosquitto_passwd writes)")
    p.add_argument("--superusers", default="", help="comma-separated superuser names")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--hash", metavar="USER", help="print a user:$7$... line and exit")
    args = p.parse_args()

    if args.hash:
        if sys.stdin.isatty():
            password = getpass.getpass("Password: ")
        else:
            password = sys.stdin.readline().rstrip("\n")
        print(f"{args.hash}:{hash_password(password.encode('utf-8'))}")
        return
    if not args.users:
        p.error("--users FILE is required")

    Handler.users = Users(args.users)
    Handler.superusers = frozenset(s.strip() for s in args.superusers.split(",") if s.strip())
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print(f"auth-service: listening on http://{args.host}:{args.port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
