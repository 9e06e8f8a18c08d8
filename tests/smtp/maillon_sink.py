"""An SMTP sink for Maillon's e-mail tests, run by aiosmtpd:

    python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c maillon_sink.Sink FOLDER [REFUSED ...]

Every accepted message is written whole to FOLDER as one .eml file (written to a temporary
name, then renamed). A recipient listed in REFUSED gets 550 at RCPT TO (a bounced address).
While a file named `tempfail` exists in FOLDER, every message gets 451 at DATA.
"""

import os
import uuid


class Sink:
    def __init__(self, folder, refused):
        self.folder = folder
        self.refused = set(address.lower() for address in refused)

    @classmethod
    def from_cli(cls, parser, *args):
        if not args:
            parser.error("give the folder where messages are written")
        return cls(args[0], args[1:])

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refused:
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if os.path.exists(os.path.join(self.folder, "tempfail")):
            return "451 4.3.0 try again later"
        name = uuid.uuid4().hex
        partial = os.path.join(self.folder, name + ".part")
        with open(partial, "wb") as out:
            out.write(b"X-Envelope-To: " + ", ".join(envelope.rcpt_tos).encode() + b"\r\n")
            out.write(envelope.original_content or envelope.content)
            out.flush()
            os.fsync(out.fileno())
        os.rename(partial, os.path.join(self.folder, name + ".eml"))
        return "250 OK"
