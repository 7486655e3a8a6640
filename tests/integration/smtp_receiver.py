#!/usr/bin/env python3
"""An SMTP server on loopback for the email tests (aiosmtpd).

smtp_receiver.py PORT LOG [--tls CERT KEY] [--auth USER:PASSWORD]

Writes one JSON line per message to LOG: the envelope sender and
recipients, the login used, whether the session was TLS, and the message.
--tls offers STARTTLS (and requires it); --auth requires that login.
"""
import argparse, json, ssl, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("log")
ap.add_argument("--tls", nargs=2)
ap.add_argument("--auth")
args = ap.parse_args()


def login(session):
    who = getattr(session, "auth_data", None)
    return who.decode() if isinstance(who, bytes) else who


class Handler:
    async def handle_DATA(self, server, session, envelope):
        entry = {"from": envelope.mail_from, "to": envelope.rcpt_tos,
                 "login": login(session),
                 "tls": session.ssl is not None,
                 "data": envelope.content.decode("utf-8", "replace")}
        with open(args.log, "a") as f:
            f.write(json.dumps(entry) + "\n")
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    if isinstance(auth_data, LoginPassword):
        if args.auth == auth_data.login.decode() + ":" + auth_data.password.decode():
            return AuthResult(success=True, auth_data=auth_data.login)
    return AuthResult(success=False, handled=False)


kw = {}
if args.tls:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(args.tls[0], args.tls[1])
    kw.update(tls_context=ctx, require_starttls=True)
if args.auth:
    kw.update(authenticator=authenticator, auth_required=True, auth_require_tls=bool(args.tls))
ctl = Controller(Handler(), hostname="127.0.0.1", port=args.port, **kw)
ctl.start()
print("ready", flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    ctl.stop()
