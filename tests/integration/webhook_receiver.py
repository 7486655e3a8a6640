#!/usr/bin/env python3
"""A webhook receiver on loopback for the notification tests.

webhook_receiver.py PORTFILE LOG [--fail N] [--hang] [--secret FILE] [--port P]

Listens on 127.0.0.1 (port P, else a free one written to PORTFILE), and logs
one JSON line per request to LOG: the time, the Standard Webhooks headers,
whether the signature verifies against the secret, the status answered and
the body. Answers 503 to the first N requests, never answers with --hang,
else 200.
"""
import argparse, base64, hashlib, hmac, json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("portfile")
ap.add_argument("log")
ap.add_argument("--fail", type=int, default=0)
ap.add_argument("--hang", action="store_true")
ap.add_argument("--secret")
ap.add_argument("--port", type=int, default=0)
args = ap.parse_args()

key = None
if args.secret:
    raw = open(args.secret, "rb").read().strip()
    key = base64.b64decode(raw[6:]) if raw.startswith(b"whsec_") else raw

lock = threading.Lock()
count = 0


def verified(msg_id, ts, body, sigs):
    if key is None or not msg_id or not ts or not sigs:
        return False
    mac = hmac.new(key, msg_id.encode() + b"." + ts.encode() + b"." + body, hashlib.sha256)
    want = "v1," + base64.b64encode(mac.digest()).decode()
    return any(hmac.compare_digest(want, s) for s in sigs.split(" "))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            count += 1
            n = count
        if args.hang:
            time.sleep(3600)
            return
        status = 503 if n <= args.fail else 200
        h = self.headers
        entry = {"t": time.time(), "path": self.path, "status": status, "id": h.get("webhook-id"),
                 "timestamp": h.get("webhook-timestamp"), "signature": h.get("webhook-signature"),
                 "verified": verified(h.get("webhook-id"), h.get("webhook-timestamp"), body,
                                      h.get("webhook-signature")),
                 "headers": {k.lower(): v for k, v in h.items()}}
        try:
            entry["body"] = json.loads(body)
        except ValueError:
            entry["body"] = body.decode("utf-8", "replace")
        with lock, open(args.log, "a") as f:
            f.write(json.dumps(entry) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
srv.daemon_threads = True
with open(args.portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.replace(args.portfile + ".tmp", args.portfile)
srv.serve_forever()
