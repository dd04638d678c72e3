"""A real SMTP server (aiosmtpd, in a thread) on 127.0.0.1, for the e-mail notification tests.

``stop()``/``start()`` simulate an outage on the same port. ``refuse`` makes it answer RCPT with that SMTP reply
(e.g. ``"451 4.3.0 try later"`` or ``"550 5.1.1 no such user"``); ``users`` turns on AUTH LOGIN/PLAIN without TLS
(loopback only).
"""
from __future__ import annotations

import email
import email.policy

from procs import free_port


class SMTPServer:
    def __init__(self, users: dict[str, str] | None = None) -> None:
        self.host, self.port = "127.0.0.1", free_port()
        self.messages: list = []  # aiosmtpd envelopes
        self.refuse: str | None = None
        self.users = users
        self.logins: list[str] = []
        self._controller = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        server = self

        class Handler:
            async def handle_RCPT(self, srv, session, envelope, address, rcpt_options):
                if server.refuse:
                    return server.refuse
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, srv, session, envelope):
                server.messages.append(envelope)
                return "250 OK"

        def authenticator(srv, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword) and server.users is not None
                  and server.users.get(auth_data.login.decode()) == auth_data.password.decode())
            if ok:
                server.logins.append(auth_data.login.decode())
            return AuthResult(success=ok, handled=False)  # handled=False: the server answers 235 or 535

        kw = {}
        if self.users is not None:
            kw = dict(authenticator=authenticator, auth_require_tls=False, auth_required=True)
        self._controller = Controller(Handler(), hostname=self.host, port=self.port, **kw)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def parsed(self) -> list:
        return [email.message_from_bytes(e.original_content, policy=email.policy.default) for e in self.messages]
