#!/usr/bin/env python3
"""Exit 0 when the websockets listener on 127.0.0.1:PORT answers an MQTT upgrade with 101.

Usage: ws_upgrade.py PORT
"""
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
          b"Sec-WebSocket-Protocol: mqtt\r\n\r\n")
line = s.recv(200).split(b"\r\n")[0]
sys.exit(0 if b" 101 " in line else f"websocket upgrade answered: {line!r}")
