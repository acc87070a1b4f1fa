"""A mail server for Plait's digest tests (tests/e2e/digest.rs).

aiosmtpd on 127.0.0.1:PORT, requiring STARTTLS with the certificate and
key given ("starttls"), or offering no TLS at all ("plain"). Each message
it takes is written to OUT as JSON: whether it came over TLS, the
envelope, the headers the tests read, and the plain-text and HTML parts
decoded. Prints "ready" once listening; stops when its standard input
closes (the test ends or dies).

    python3 smtp_sink.py PORT CERT KEY OUT starttls|plain
"""

import email
import email.policy
import itertools
import json
import os
import ssl
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    """Writes each message to a file of its own."""

    def __init__(self, out):
        self.out = out
        self.count = itertools.count()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        plain = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        record = {
            "tls": session.ssl is not None,
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "content_type": message.get_content_type(),
            "subject": str(message["Subject"]),
            "to": str(message["To"]),
            "list_unsubscribe": str(message["List-Unsubscribe"]),
            "list_unsubscribe_post": str(message["List-Unsubscribe-Post"]),
            "text": plain.get_content() if plain is not None else None,
            "html": html.get_content() if html is not None else None,
        }
        name = os.path.join(self.out, "%d-%d.json" % (time.time_ns(), next(self.count)))
        with open(name + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(name + ".tmp", name)
        return "250 OK"


def main():
    port, cert, key, out, mode = sys.argv[1:6]
    if mode == "starttls":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        controller = Controller(
            Sink(out),
            hostname="127.0.0.1",
            port=int(port),
            tls_context=context,
            require_starttls=True,
        )
    else:
        controller = Controller(Sink(out), hostname="127.0.0.1", port=int(port))
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
