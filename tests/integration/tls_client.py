#!/usr/bin/env python3
"""A TLS client for test_tls.sh: what curl and openssl s_client cannot do.

  tls_client.py HOST PORT CAFILE send BYTES [WAIT]
      sends BYTES (backslash escapes: \\r\\n) over one TLS connection and prints
      what comes back until the server closes (then a last line "closed=1") or
      WAIT seconds pass ("closed=0").
  tls_client.py HOST PORT CAFILE keepalive GOFILE
      GET /healthz, prints the status and the certificate's SHA-256; waits for
      GOFILE to exist, then GET /healthz again on the same connection.
  tls_client.py HOST PORT - stall BYTES_HEX SECONDS
      a TCP connection that sends BYTES_HEX (a partial ClientHello, or
      nothing) and waits; prints the seconds until the server closed it, or
      "open" after SECONDS.
"""
import hashlib
import os
import socket
import ssl
import sys
import time


def connect(host, port, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    sock = socket.create_connection((host, int(port)), timeout=10)
    return ctx.wrap_socket(sock, server_hostname="localhost")


def read_answer(s):
    """One HTTP answer with a Content-Length body: (status, bytes)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            return None, buf
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(head.split(b" ")[1]), body


def main():
    host, port, cafile, mode = sys.argv[1:5]
    if mode == "send":
        data = sys.argv[5].encode().decode("unicode_escape").encode("latin-1")
        wait = float(sys.argv[6]) if len(sys.argv) > 6 else 5
        s = connect(host, port, cafile)
        s.sendall(data)
        s.settimeout(wait)
        out, closed = b"", 0
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    closed = 1
                    break
                out += chunk
        except (socket.timeout, ssl.SSLError, ConnectionError):
            pass
        sys.stdout.write(out.decode("latin-1"))
        print("\nclosed=%d" % closed)
    elif mode == "keepalive":
        gofile = sys.argv[5]
        s = connect(host, port, cafile)
        req = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
        s.sendall(req)
        status, _ = read_answer(s)
        fp = hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest().upper()
        print("first", status, fp, flush=True)
        deadline = time.time() + 60
        while not os.path.exists(gofile) and time.time() < deadline:
            time.sleep(0.05)
        s.sendall(req)
        status, _ = read_answer(s)
        print("second", status, flush=True)
    elif mode == "stall":
        data = bytes.fromhex(sys.argv[5])
        limit = float(sys.argv[6])
        s = socket.create_connection((host, int(port)), timeout=limit)
        start = time.time()
        if data:
            s.sendall(data)
        try:
            while s.recv(4096):
                pass
            print("%.1f" % (time.time() - start))
        except socket.timeout:
            print("open")
        except ConnectionError:
            print("%.1f" % (time.time() - start))


if __name__ == "__main__":
    main()
