#!/usr/bin/env python3
"""HTTPS test server for device_tls: mutual TLS against a test CA.

usage: tls_server.py DIR   (DIR holds ca.crt server.crt server.key)
Writes its port to DIR/port, answers every request "200 TLSPKG", exits when stdin closes.
"""
import os, socket, ssl, sys, threading

d = sys.argv[1]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(os.path.join(d, "server.crt"), os.path.join(d, "server.key"))
ctx.verify_mode = ssl.CERT_REQUIRED
ctx.load_verify_locations(os.path.join(d, "ca.crt"))
ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0))
ls.listen(8)
with open(os.path.join(d, "port.tmp"), "w") as f:
    f.write(str(ls.getsockname()[1]))
os.rename(os.path.join(d, "port.tmp"), os.path.join(d, "port"))
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
while True:
    c, _ = ls.accept()
    c.settimeout(5)
    try:
        s = ctx.wrap_socket(c, server_side=True)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nTLSPKG")
        s.close()
    except Exception:
        c.close()
