"""8 kHz signed linear 16-bit mono PCM, the telephone's audio: small helpers, no numpy."""

from __future__ import annotations

import array
import math
import sys

RATE = 8000
FRAME_MS = 20
FRAME_BYTES = RATE * 2 * FRAME_MS // 1000  # 320


def samples(pcm: bytes) -> array.array[int]:
    a = array.array("h")
    a.frombytes(pcm[: len(pcm) // 2 * 2])
    if sys.byteorder == "big":  # the wire is little-endian
        a.byteswap()
    return a


def to_bytes(a: array.array[int]) -> bytes:
    if sys.byteorder == "big":
        a = array.array("h", a)
        a.byteswap()
    return a.tobytes()


def upsample_2x(pcm: bytes) -> bytes:
    """8 kHz → 16 kHz by linear interpolation (models trained at 16 kHz hear band-limited
    telephone speech well enough; the band above 4 kHz stays empty either way)."""
    a = samples(pcm)
    out = array.array("h", bytes(len(a) * 4))
    prev = a[0] if a else 0
    out[0::2] = array.array("h", ((p + s) // 2 for p, s in zip([prev, *a[:-1]], a, strict=True)))
    out[1::2] = a
    return to_bytes(out)


def seconds(pcm: bytes) -> float:
    return len(pcm) / (2 * RATE)


def silence(ms: int) -> bytes:
    return bytes(RATE * 2 * ms // 1000)


def rms_dbfs(pcm: bytes) -> float:
    """Loudness of a frame in dB below full scale (-inf for digital silence)."""
    a = samples(pcm)
    if not a:
        return -math.inf
    power = sum(s * s for s in a) / len(a)
    return -math.inf if power == 0 else 10 * math.log10(power / 32768**2)


def frames(pcm: bytes, size: int = FRAME_BYTES) -> list[bytes]:
    """Whole 20 ms frames (a short tail padded with silence)."""
    return [pcm[i : i + size].ljust(size, b"\0") for i in range(0, len(pcm), size)]


__all__ = [
    "FRAME_BYTES",
    "FRAME_MS",
    "RATE",
    "frames",
    "rms_dbfs",
    "samples",
    "seconds",
    "silence",
    "to_bytes",
    "upsample_2x",
]
