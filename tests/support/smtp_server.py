"""A real SMTP server for the escalation tests (aiosmtpd, on loopback).

Usage: smtp_server.py OUT_DIR REFUSE_FIRST
Prints the port it listens on, then serves until killed. Every accepted
message is written to OUT_DIR as NNNN.eml (the envelope's recipients in an
X-Envelope-To line first); the first REFUSE_FIRST messages are refused with
a temporary error (451), as a busy server does.
"""

import pathlib
import signal
import socket
import sys

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, out: pathlib.Path, refuse: int):
        self.out = out
        self.refuse = refuse
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refuse > 0:
            self.refuse -= 1
            return "451 4.3.0 Temporary failure, try again later"
        self.count += 1
        tmp = self.out / f".{self.count:04}.tmp"
        head = "X-Envelope-To: " + ",".join(envelope.rcpt_tos) + "\r\n"
        tmp.write_bytes(head.encode() + envelope.original_content)
        tmp.rename(self.out / f"{self.count:04}.eml")
        return "250 2.0.0 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    controller = Controller(
        Handler(out, int(sys.argv[2])), hostname="127.0.0.1", port=port
    )
    controller.start()
    print(port, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.pause()


if __name__ == "__main__":
    main()
