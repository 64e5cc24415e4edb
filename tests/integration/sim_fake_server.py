#!/usr/bin/env python3
"""A scripted check server for the simulator's own tests (stdlib only).

Not the product server: it answers the libfota2 check with a fixed package or
a fixed misbehaviour, so the simulator's classification, resume and loop
handling can be tested without the real server. Listens on 127.0.0.1, port
chosen by the kernel, and writes {"port": N} to --port-file once listening.

Modes:
  serve        version == --latest -> 404 {"code":27}; otherwise the package
               (200, or 206 for a Range whose If-Range matches the ETag);
               more than --max-deliveries complete packages to one imei ->
               403 {"code":40}
  close-early  close before sending anything            (libfota2 result 3)
  close-head   close inside the head                     (result 3)
  empty        200 with Content-Length: 0                (result 4)
  redirect     302 to another URL                        (result 4)
  hang         accept, read, never answer                (timeout: result 4)
  bighead      a head longer than any sane cap           (result 4)
  drip         like serve, but the body goes out in --drip-chunk pieces every
               --drip-interval seconds (keeps many downloads open at once,
               for capacity measurements)
"""
import argparse
import asyncio
import hashlib
import json
import os
import sys


def parse_query(target):
    q = target.split("?", 1)[1] if "?" in target else ""
    out = {}
    for part in q.split("&"):
        if "=" in part:
            k, v = part.split("=", 1)
            out.setdefault(k, v)
    return out


class Server:
    def __init__(self, args):
        self.args = args
        self.pkg = open(args.package, "rb").read() if args.package else b"x" * 1024
        self.etag = '"%s"' % hashlib.sha256(self.pkg).hexdigest()[:16]
        self.deliveries = {}
        self.requests = 0
        self.log = open(args.log, "a") if args.log else None

    async def handle(self, reader, writer):
        try:
            await self._handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass

    async def _handle(self, reader, writer):
        mode = self.args.mode
        if mode == "close-early":
            return
        head = await reader.readuntil(b"\r\n\r\n")
        self.requests += 1
        if self.log:
            self.log.write(json.dumps(head.decode("latin-1")) + "\n")
            self.log.flush()
        lines = head.decode("latin-1").split("\r\n")
        target = lines[0].split(" ")[1]
        hdrs = {}
        for ln in lines[1:]:
            if ":" in ln:
                k, v = ln.split(":", 1)
                hdrs[k.strip().lower()] = v.strip()
        if mode == "close-head":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Le")
            await writer.drain()
            return
        if mode == "empty":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            return
        if mode == "redirect":
            writer.write(b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/x\r\n"
                         b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            return
        if mode == "hang":
            await asyncio.sleep(3600)
            return
        if mode == "bighead":
            writer.write(b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"a" * 20000 + b"\r\n\r\n")
            await writer.drain()
            return
        q = parse_query(target)
        imei = q.get("imei", "?")
        version = q.get("version", "")
        if version == self.args.latest:
            await self.answer(writer, 404, 27)
            return
        if self.deliveries.get(imei, 0) >= self.args.max_deliveries:
            await self.answer(writer, 403, 40)
            return
        start = 0
        rng = hdrs.get("range", "")
        if rng.startswith("bytes=") and hdrs.get("if-range", self.etag) == self.etag:
            start = int(rng[6:].rstrip("-"))
        body = self.pkg[start:]
        extra = ""
        if self.args.announce:
            extra = "X-Openfota-Version: %s\r\n" % self.args.announce
        if start:
            status = "206 Partial Content"
            extra += "Content-Range: bytes %d-%d/%d\r\n" % (start, len(self.pkg) - 1, len(self.pkg))
        else:
            status = "200 OK"
        writer.write(("HTTP/1.1 %s\r\nContent-Length: %d\r\nETag: %s\r\nAccept-Ranges: bytes\r\n"
                      "Content-Type: application/octet-stream\r\n%sConnection: close\r\n\r\n"
                      % (status, len(body), self.etag, extra)).encode())
        view = memoryview(body)
        step = self.args.drip_chunk if mode == "drip" else 65536
        for off in range(0, len(body), step):
            writer.write(view[off:off + step])
            await writer.drain()
            if mode == "drip" and off + step < len(body):
                await asyncio.sleep(self.args.drip_interval)
        self.deliveries[imei] = self.deliveries.get(imei, 0) + 1

    async def answer(self, writer, status, code):
        body = json.dumps({"code": code, "msg": "scripted answer"}).encode()
        reason = {404: "Not Found", 403: "Forbidden"}[status]
        writer.write(("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                      "Connection: close\r\n\r\n" % (status, reason, len(body))).encode() + body)
        await writer.drain()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--mode", default="serve")
    ap.add_argument("--package")
    ap.add_argument("--latest", default="")
    ap.add_argument("--announce", default="")
    ap.add_argument("--max-deliveries", type=int, default=1 << 30)
    ap.add_argument("--log")
    ap.add_argument("--drip-chunk", type=int, default=1024)
    ap.add_argument("--drip-interval", type=float, default=0.5)
    args = ap.parse_args()
    srv = Server(args)
    server = await asyncio.start_server(srv.handle, "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"port": port, "pid": os.getpid()}, f)
    os.replace(tmp, args.port_file)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
