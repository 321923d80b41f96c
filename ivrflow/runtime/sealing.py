"""Sealing secure values in snapshots: AES-256-GCM, bound to their call, flow and variable.

A sealed value is `v2.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`:

- **AES-GCM** (the `cryptography` package), a fresh 96-bit nonce per value, a 128-bit tag;
- **associated data** = the call id, the flow's content hash and the variable's name, so a
  sealed CVV moved into the card number's field, into another call's snapshot or into another
  flow's fails to open — as does any change to a byte;
- **keys** are 256-bit: given raw (`raw:<base64>` or `hex:<64 hex digits>`), or derived from a
  secret text with HKDF-SHA-256 (a passphrase in an environment variable is not a key);
- **rotation**: a `Keyring` seals with its first key and opens with any of them, found by the
  key id written in the value. Add the new key first, keep the old one until the calls sealed
  with it are over (the session TTL), then drop it.

Values sealed by ivrflow before this format (a SHA-256 keystream with a truncated HMAC, no
binding) are refused with a `SnapshotError` saying so: such a call cannot be continued, so
drain the workers (or let those calls end) before upgrading. docs/operations.md says how.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import re
from collections.abc import Iterable

from ..errors import IvrflowRuntimeError

PREFIX = "v2"
NONCE = 12
KEY_BYTES = 32
DEFAULT_KEY_ID = "k1"
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
# HKDF's salt and info: fixed, public, ivrflow's own; they separate these keys from any other
# use of the same secret.
_SALT = b"ivrflow snapshot sealing salt v2"
_INFO = b"ivrflow: AES-256-GCM key for secure values in session snapshots"


class SealError(IvrflowRuntimeError):
    """A key cannot be used, or a sealed value cannot be opened (wrong key, tampering, moved
    to another field or call, an old format)."""


def derive(secret: bytes) -> bytes:
    """A 256-bit key from a secret text (HKDF-SHA-256)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    if not secret:
        raise SealError("an empty secret cannot seal anything")
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=_SALT, info=_INFO).derive(secret)


def parse_key(value: str) -> bytes:
    """`raw:<base64 of 32 bytes>`, `hex:<64 hex digits>`, or any other text: a secret that
    HKDF turns into a key."""
    if value.startswith(("raw:", "hex:")):
        kind, _, text = value.partition(":")
        try:
            key = base64.b64decode(text, validate=True) if kind == "raw" else bytes.fromhex(text)
        except (ValueError, binascii.Error):
            raise SealError(f"a {kind}: key is not valid {kind}") from None
        if len(key) != KEY_BYTES:
            raise SealError(f"a {kind}: key must be 256 bits (32 bytes), not {len(key)} bytes")
        return key
    return derive(value.encode())


class Keyring:
    """Keys by id; the first seals, every one opens (rotation)."""

    def __init__(self, keys: Iterable[tuple[str, bytes]]) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self.ciphers: dict[str, AESGCM] = {}
        for key_id, key in keys:
            if not _KEY_ID.match(key_id):
                raise SealError(f"bad key id {key_id!r}: letters, digits, - and _, at most 32")
            if len(key) != KEY_BYTES:
                raise SealError(f"key {key_id}: must be 256 bits (32 bytes), not {len(key)}")
            if key_id in self.ciphers:
                raise SealError(f"key id {key_id} given twice")
            self.ciphers[key_id] = AESGCM(key)
        if not self.ciphers:
            raise SealError("a keyring needs at least one key")
        self.current = next(iter(self.ciphers))

    def __repr__(self) -> str:  # never the keys
        return f"Keyring(current={self.current!r}, ids={list(self.ciphers)!r})"

    @classmethod
    def parse(cls, spec: str) -> Keyring:
        """`ID=KEY,ID=KEY…` (the first seals), or one KEY alone (id `k1`); each KEY as
        `parse_key` reads it."""
        entries = [part.strip() for part in spec.split(",") if part.strip()]
        if not entries:
            raise SealError("no snapshot key given")
        keys = []
        for entry in entries:
            key_id, sep, value = entry.partition("=")
            if not sep or not _KEY_ID.match(key_id):
                if len(entries) > 1:
                    raise SealError("with several keys, write each as ID=KEY")
                key_id, value = DEFAULT_KEY_ID, entry
            keys.append((key_id, parse_key(value)))
        return cls(keys)

    def seal(self, plain: bytes, context: bytes) -> str:
        nonce = os.urandom(NONCE)
        sealed = self.ciphers[self.current].encrypt(nonce, plain, context)
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{PREFIX}.{self.current}.{body}"

    def open(self, token: str, context: bytes) -> bytes:
        from cryptography.exceptions import InvalidTag

        version, _, rest = token.partition(".")
        if version != PREFIX:
            raise SealError(
                "a secure value was sealed by an older ivrflow (a home-made cipher, refused "
                "now): this call cannot be continued; drain the workers before upgrading"
            )
        key_id, _, body = rest.partition(".")
        cipher = self.ciphers.get(key_id)
        if cipher is None:
            raise SealError(
                f"a secure value is sealed with key {key_id!r}, which this worker does not "
                f"have (it has {', '.join(self.ciphers)}): add it to the keyring"
            )
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (ValueError, binascii.Error):
            raise SealError("a secure value in the snapshot is corrupt") from None
        if len(raw) < NONCE + 16:
            raise SealError("a secure value in the snapshot is corrupt")
        try:
            return cipher.decrypt(raw[:NONCE], raw[NONCE:], context)
        except InvalidTag:
            raise SealError(
                "a secure value does not open: wrong key, tampering, or a value moved from "
                "another field or call"
            ) from None


@functools.lru_cache(maxsize=16)
def _from_secret(secret: bytes) -> Keyring:
    return Keyring([(DEFAULT_KEY_ID, derive(secret))])


def keyring(key: Keyring | bytes) -> Keyring:
    """A keyring as given, or one derived from a secret (bytes; the older API), cached."""
    return key if isinstance(key, Keyring) else _from_secret(bytes(key))


def context(call_id: str, flow_hash: str, name: str) -> bytes:
    """The associated data binding a value to its call, flow and variable."""
    return "\0".join(("ivrflow-seal-v2", call_id, flow_hash, name)).encode()


__all__ = [
    "DEFAULT_KEY_ID",
    "KEY_BYTES",
    "Keyring",
    "SealError",
    "context",
    "derive",
    "keyring",
    "parse_key",
]
