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
  tls_client.py HOST PORT CAFILE relay
      one TLS connection as a pipe, for the shell tests' raw clients (what
      bash's /dev/tcp is in clear text): a first line "connected" once the
      handshake is done, then stdin goes out as it comes, each read as its
      own record, and what the server sends goes to stdout as it comes;
      exits when the server closes (stdin's end closes nothing).
  tls_client.py HOST PORT CAFILE hold N
      N TLS connections, each past its handshake, held open idle; prints
      "open N" once they are, and closes them all when stdin closes.
"""
import hashlib
import os
import selectors
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


def relay(s):
    """Copies stdin to s and s to stdout until the server closes."""
    sel = selectors.DefaultSelector()
    sel.register(0, selectors.EVENT_READ)
    sel.register(s, selectors.EVENT_READ)
    s.setblocking(False)
    stdin_open = True
    while True:
        ready = [key.fileobj for key, _ in sel.select()] if not s.pending() else [s]
        if 0 in ready and stdin_open:
            data = os.read(0, 65536)
            if not data:
                stdin_open = False
                sel.unregister(0)
            else:
                try:
                    s.setblocking(True)
                    s.sendall(data)
                    s.setblocking(False)
                except (ssl.SSLError, OSError):
                    stdin_open = False  # the server is gone: read what it said
                    sel.unregister(0)
        if s in ready:
            try:
                chunk = s.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                continue
            except (ssl.SSLError, OSError):
                return
            if not chunk:
                return
            os.write(1, chunk)


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
    elif mode == "relay":
        s = connect(host, port, cafile)
        os.write(1, b"connected\n")
        relay(s)
    elif mode == "hold":
        held = [connect(host, port, cafile) for _ in range(int(sys.argv[5]))]
        print("open", len(held), flush=True)
        sys.stdin.read()
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
