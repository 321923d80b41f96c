"""Caller speech for the voicebot tests: espeak-ng text → 8 kHz PCM → µ-law RTP → a pcap that
SIPp's `play_pcap_audio` sends to Asterisk as the caller's voice.

Written here rather than taken from a library: a pcap of RTP is a 24-byte file header and,
per 20 ms packet, a record header and fixed Ethernet/IPv4/UDP/RTP headers (SIPp reads only
the UDP payload and the timestamps).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

RATE = 8000
FRAME = 160  # samples per 20 ms RTP packet


def espeak_pcm(text: str, voice: str = "en-us+klatt", speed: int = 160) -> bytes:
    """The text spoken by espeak-ng, as 8 kHz signed 16-bit mono (sox resamples)."""
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    assert espeak and sox, "espeak-ng and sox are installed by `make system-deps`"
    wav = subprocess.run(
        [espeak, "-v", voice, "-s", str(speed), "--stdout", text],
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    return subprocess.run(
        [sox, "-t", "wav", "-", "-t", "raw", "-r", str(RATE), "-c", "1", "-b", "16",
         "-e", "signed-integer", "-"],
        input=wav,
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout  # fmt: skip


def _ulaw(sample: int) -> int:
    """G.711 µ-law of one 16-bit sample."""
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), clip) + bias
    exponent = max(0, magnitude.bit_length() - 8)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


_ULAW = bytes(_ulaw(s) for s in range(-32768, 32768))


def ulaw(pcm: bytes) -> bytes:
    samples = struct.unpack(f"<{len(pcm) // 2}h", pcm[: len(pcm) // 2 * 2])
    return bytes(_ULAW[s + 32768] for s in samples)


def write_pcap(pcm: bytes, path: Path, ssrc: int = 0x1BADCAFE) -> Path:
    """8 kHz slin16 as one RTP stream of PCMU packets, 20 ms apart, in a pcap file."""
    payload = ulaw(pcm)
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]  # Ethernet link type
    for n, i in enumerate(range(0, len(payload), FRAME)):
        chunk = payload[i : i + FRAME].ljust(FRAME, b"\xff")  # 0xff: µ-law silence
        rtp = struct.pack("!BBHII", 0x80, 0, n & 0xFFFF, n * FRAME, ssrc) + chunk
        udp = struct.pack("!HHHH", 6000, 6002, 8 + len(rtp), 0) + rtp
        ip = struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), n & 0xFFFF, 0, 64, 17, 0,
            bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]),
        ) + udp  # fmt: skip
        eth = b"\x00" * 12 + b"\x08\x00" + ip
        micros = n * 20_000
        out.append(
            struct.pack("<IIII", micros // 1_000_000, micros % 1_000_000, len(eth), len(eth))
        )
        out.append(eth)
    path.write_bytes(b"".join(out))
    return path


def speech_pcap(text: str, path: Path, lead_ms: int = 0, **voice: object) -> Path:
    """A pcap of `text` spoken, after `lead_ms` of silence (so the caller starts later)."""
    pcm = bytes(RATE * 2 * lead_ms // 1000) + espeak_pcm(text, **voice)  # type: ignore[arg-type]
    return write_pcap(pcm + bytes(RATE * 2 // 5), path)  # 200 ms of trailing silence
