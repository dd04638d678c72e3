"""Bearer tokens for ``scald serve``'s write routes (acknowledgements, downtimes), kept hashed in one file.

Why a file of hashes: the web server must tell a token it issued from any other without being able to give one
away. A token is 32 random bytes (URL-safe base64), shown once by ``scald-monitor token add``; the file keeps
``NAME sha256:HEX`` lines, so reading it (a backup, a mis-set permission) reveals no usable token. A token's entropy
makes a plain SHA-256 enough (there is nothing to brute-force, unlike a password), and the comparison is
constant-time. The name is who writes when a request names no author, and what every write's log line shows.

The file is re-read when it changes (a new token works without restarting the server); a broken file keeps the
last good tokens and is logged once, so an editing mistake cannot lock everyone out or let anyone in.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import threading

__all__ = ["TokenFile", "TokenFileError", "hash_token", "is_token_name"]

log = logging.getLogger(__name__)

_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}", re.ASCII)
_LINE = re.compile(r"([A-Za-z0-9_.@-]{1,64})[ \t]+sha256:([0-9a-f]{64})", re.ASCII)
#: An Authorization header's token is at most this long (ours are 43 characters); longer ones are not hashed.
MAX_TOKEN = 256


class TokenFileError(ValueError):
    """The tokens file is unreadable or has a line that is not ``NAME sha256:HEX`` (message: FILE:LINE: problem)."""


def is_token_name(name: str) -> bool:
    return isinstance(name, str) and _NAME.fullmatch(name) is not None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _parse(path: str, text: str) -> dict[str, str]:
    """name -> hex digest, in file order."""
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _LINE.fullmatch(line)
        if m is None:
            raise TokenFileError(f"{path}:{number}: expected 'NAME sha256:HEX' (scald-monitor token add writes "
                                 "these lines)")
        if m.group(1) in out:
            raise TokenFileError(f"{path}:{number}: token name {m.group(1)!r} is given twice")
        out[m.group(1)] = m.group(2)
    return out


class TokenFile:
    """The tokens of one file: :meth:`verify` for the server, :meth:`add`/:meth:`remove` for the CLI."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self._lock = threading.Lock()
        self._ident: tuple | None = None
        self._tokens: dict[str, str] = {}
        self._bad: tuple | None = None
        self._logged: str | None = None

    def load(self) -> dict[str, str]:
        """Read the file now (raises :class:`TokenFileError`); what ``scald serve`` does before it starts."""
        try:
            with open(self.path, encoding="utf-8") as fh:
                st = os.fstat(fh.fileno())
                text = fh.read()
        except FileNotFoundError:
            raise TokenFileError(f"{self.path}: no such file (scald-monitor token add NAME creates it)") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise TokenFileError(f"{self.path}: cannot be read: {exc}") from None
        tokens = _parse(self.path, text)
        with self._lock:
            self._ident, self._tokens = (st.st_ino, st.st_size, st.st_mtime_ns), tokens
        return dict(tokens)

    def _refresh(self) -> None:
        try:
            st = os.stat(self.path)
        except OSError:
            st = None
        ident = None if st is None else (st.st_ino, st.st_size, st.st_mtime_ns)
        if ident is not None and ident in (self._ident, self._bad):
            return
        try:
            self.load()
        except TokenFileError as exc:
            if str(exc) != self._logged:  # once per problem, not once per request (a missing file has no ident)
                self._logged = str(exc)
                log.error("%s (the tokens read before stay in use)", exc)
            self._bad = ident
        else:
            self._logged = None

    def verify(self, token: str) -> str | None:
        """The name of ``token``'s entry, or None. Every entry is compared (constant time each), so the answer
        takes as long for a near miss as for a wild guess."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN:
            return None
        self._refresh()
        digest = hash_token(token)
        found = None
        for name, stored in self._tokens.items():
            if hmac.compare_digest(stored, digest):
                found = name
        return found

    def names(self) -> list[str]:
        return list(self.load())

    def add(self, name: str) -> str:
        """A new token for ``name`` (written hashed; a new file gets mode 0600); returns the token, the
        only time it is seen. Raises ValueError for a bad or taken name."""
        if not is_token_name(name):
            raise ValueError(f"token name {name!r}: 1 to 64 of A-Z a-z 0-9 _ . @ -")
        tokens = self._current()
        if name in tokens:
            raise ValueError(f"{self.path}: a token named {name!r} exists (token remove {name} first)")
        token = secrets.token_urlsafe(32)
        tokens[name] = hash_token(token)
        self._write(tokens)
        return token

    def remove(self, name: str) -> bool:
        tokens = self._current()
        if tokens.pop(name, None) is None:
            return False
        self._write(tokens)
        return True

    def _current(self) -> dict[str, str]:
        try:
            return self.load()
        except TokenFileError:
            if os.path.exists(self.path):
                raise
            return {}

    def _write(self, tokens: dict[str, str]) -> None:
        from ..atomic import write_atomic

        body = "# scald serve bearer tokens: NAME sha256:HEX (scald-monitor token add/remove)\n" + "".join(
            f"{name} sha256:{digest}\n" for name, digest in tokens.items())
        # a new file is the owner's alone; an existing one keeps the mode its owner gave it (say, group-readable
        # for a web server running as another user)
        write_atomic(self.path, body.encode("utf-8"), mode=None if os.path.exists(self.path) else 0o600)
        self.load()
