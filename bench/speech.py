"""The voicebot's figures (issue 15): recognition accuracy, real-time factor, latency from the
end of the caller's speech to the first audio of the next prompt, and CPU per spoken call.

Run from the project root (needs the voice extra, espeak-ng and sox):

    .venv/bin/python bench/speech.py                 # both parts, about 2-3 minutes
    .venv/bin/python bench/speech.py --part accuracy
    .venv/bin/python bench/speech.py --part latency --calls 1 4 --turns 8

accuracy  billing.ivr's English main-menu phrases and six sentences that are not in the menu,
          spoken by several espeak-ng voices at two speeds, clean, through G.711 µ-law, and
          with white noise mixed in by sox (repeatable, -R) at two levels, then
          G.711 (sox `synth whitenoise vol 0.02` and `0.06`; the SNR printed is measured over
          the utterance with its pauses). Each goes through the pocketsphinx recognizer with the menu's grammar, the
          way a call's turn does. Figures: right phrase; right and confident enough to be
          taken at once (billing.ivr's confidence 0.6); out-of-menu sentences kept from being
          a choice (incomplete, so a no-match, or below 0.6, so "did you say …?"); the real-
          time factor (decoding time / audio time).
latency   `ivrflow serve agi --speech en-US` in a child process, with bench/flows/
          voice_bench.ivr; this process plays Asterisk: it answers the AGI commands, opens
          the AudioSocket stream each `EXEC AudioSocket` asks for, sends 20 ms frames at real
          time (silence, or the caller's words 1 s into each prompt) and notes when the first
          non-silent frame of the next prompt arrives. Figures: p50/p95 from the last frame of
          the caller's words to that first frame — which includes the end-of-speech silence
          the server waits (0.6 s by default) — and the same less that silence (what ivrflow
          adds: endpointing poll, recognition, the flow, synthesis, the AGI round trips);
          the server's CPU seconds per call-second with N calls at once (its children,
          espeak-ng and sox, included), and how many such calls one core holds.

It prints figures; it asserts nothing. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivrflow.host.gateways import audiosocket_protocol as asp  # noqa: E402
from ivrflow.host.voice import audio  # noqa: E402
from ivrflow.host.voice.recognizer import Grammar  # noqa: E402

MENU = ["bill", "copy of my bill", "balance", "how much do I owe", "payment", "pay my bill",
        "representative", "agent", "english", "repeat"]  # fmt: skip
MENU_ALL = [
    "segunda via",
    "fatura",
    "boleto",
    *MENU[:2],
    "saldo",
    "quanto devo",
    *MENU[2:4],
    "pagamento",
    "pagar",
    "cartão",
    *MENU[4:6],
    "atendente",
    *MENU[6:9],
    "inglês",
    "repetir",
    "repeat",
]  # fmt: skip  (billing.ivr's main menu, both languages)
OUTSIDE = ["I want a pizza", "the weather is nice today", "cancel my subscription",
           "hello there", "technical support please", "my internet is down"]  # fmt: skip
VOICES = ["en-us", "en-us+klatt", "en-us+f3", "en-gb"]
SPEEDS = [140, 175]
CONFIDENCE = 0.6  # billing.ivr


def espeak(text: str, voice: str, speed: int) -> bytes:
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
                         capture_output=True, check=True).stdout  # fmt: skip
    return sox(wav, ["-t", "wav", "-"])


def sox(data: bytes, source: list[str], effects: tuple[str, ...] = ()) -> bytes:
    raw = ["-t", "raw", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer"]
    return subprocess.run(["sox", "-R", *source, *raw, "-", *effects], input=data,
                          capture_output=True, check=True).stdout  # fmt: skip


RAW_IN = ["-t", "raw", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", "-"]


def noisy(pcm: bytes, volume: float, workdir: Path) -> bytes:
    """White noise by sox (repeatable), mixed into the speech."""
    clean = workdir / "clean.raw"
    clean.write_bytes(pcm)
    noise = workdir / "noise.raw"
    fmt = RAW_IN[:-1]
    subprocess.run(["sox", "-R", *fmt, str(clean), *fmt, str(noise), "synth", "whitenoise",
                    "vol", str(volume)], check=True, capture_output=True)  # fmt: skip
    return subprocess.run(["sox", "-R", "-m", *fmt, str(clean), *fmt, str(noise), *fmt, "-"],
                          check=True, capture_output=True).stdout  # fmt: skip


def g711(pcm: bytes) -> bytes:
    """Through the telephone's µ-law and back (what an RTP leg does to the audio)."""
    ulaw = sox(pcm, RAW_IN, ())
    coded = subprocess.run(["sox", "-R", *RAW_IN, "-t", "ul", "-r", "8000", "-"], input=ulaw,
                           capture_output=True, check=True).stdout  # fmt: skip
    return sox(coded, ["-t", "ul", "-r", "8000", "-c", "1", "-"])


def snr_db(speech: bytes, mixed: bytes) -> float:
    import math

    s, m = audio.samples(speech), audio.samples(mixed)
    sig = sum(x * x for x in s) / max(1, len(s))
    noise = sum((a - b) ** 2 for a, b in zip(m, s, strict=False)) / max(1, len(s))
    return 10 * math.log10(sig / noise) if noise else float("inf")


def accuracy() -> None:
    from ivrflow.host.voice.sphinx import SphinxRecognizer

    recognizer = SphinxRecognizer("en-US")
    grammar = Grammar.of_phrases("en-US", MENU_ALL)
    conditions = ["clean", "g711", "noise 0.02+g711", "noise 0.06+g711"]
    tally = {c: {"n": 0, "right": 0, "taken": 0, "out": 0, "kept_out": 0} for c in conditions}
    decode_s = audio_s = 0.0
    snrs: dict[str, list[float]] = {c: [] for c in conditions}
    with tempfile.TemporaryDirectory() as tmp:
        for voice in VOICES:
            for speed in SPEEDS:
                for text in MENU + OUTSIDE:
                    pcm = audio.silence(200) + espeak(text, voice, speed) + audio.silence(200)
                    variants = {
                        "clean": pcm,
                        "g711": g711(pcm),
                        "noise 0.02+g711": g711(noisy(pcm, 0.02, Path(tmp))),
                        "noise 0.06+g711": g711(noisy(pcm, 0.06, Path(tmp))),
                    }
                    for cond, heard_pcm in variants.items():
                        if cond.startswith("noise"):
                            snrs[cond].append(snr_db(pcm, heard_pcm))
                        began = time.perf_counter()
                        run = recognizer.start(grammar)
                        for i in range(0, len(heard_pcm), 3200):  # 200 ms at a time, as a turn
                            run.feed(heard_pcm[i : i + 3200])
                        hyp = run.result()
                        decode_s += time.perf_counter() - began
                        audio_s += audio.seconds(heard_pcm)
                        t = tally[cond]
                        if text in MENU:
                            t["n"] += 1
                            right = hyp.complete and hyp.text == text.lower()
                            t["right"] += right
                            t["taken"] += right and hyp.confidence >= CONFIDENCE
                        else:
                            t["out"] += 1
                            t["kept_out"] += (not hyp.complete) or hyp.confidence < CONFIDENCE
    print(f"accuracy: {len(VOICES)} espeak-ng voices x {len(SPEEDS)} speeds x "
          f"{len(MENU)} menu phrases + {len(OUTSIDE)} sentences outside the menu")  # fmt: skip
    print(f"  {'condition':18} {'right phrase':>13} {'taken at once':>14} {'outside kept out':>17}")
    for cond, t in tally.items():
        snr = f" (SNR median {statistics.median(snrs[cond]):.0f} dB)" if snrs[cond] else ""
        print(f"  {cond:18} {t['right'] / t['n']:>12.0%} {t['taken'] / t['n']:>14.0%} "
              f"{t['kept_out'] / t['out']:>17.0%}{snr}")  # fmt: skip
    print(f"  real-time factor: {decode_s / audio_s:.3f} (decoding {decode_s:.1f} s for "
          f"{audio_s:.0f} s of audio)")  # fmt: skip


# ---------------------------------------------------------------- latency and CPU


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process and its waited-for children (espeak-ng, sox)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / ticks


class FakeAsterisk:
    """One call: the AGI side and, per listening turn, the AudioSocket side."""

    def __init__(self, port: int, n: int, turns: int, words: dict[str, bytes]) -> None:
        self.port, self.n, self.turns, self.words = port, n, turns, words
        self.latencies: list[float] = []
        self.turn = 0
        self.spoke_until: float | None = None

    async def run(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        env = {"agi_network_script": "voice_bench", "agi_callerid": f"+1555000{self.n:04d}",
               "agi_uniqueid": f"bench-{self.n}-{time.time()}", "agi_dnid": "100"}  # fmt: skip
        writer.write("".join(f"{k}: {v}\n" for k, v in env.items()).encode() + b"\n")
        while line := (await reader.readline()).decode().strip():
            if line.startswith("EXEC AudioSocket"):
                arg = line.split('"')[1]
                call_uuid, address = arg.split(",")
                await self.media(call_uuid, address)
                writer.write(b"200 result=0\n")
            elif line.startswith("HANGUP"):
                writer.write(b"200 result=1\n")
                break
            elif line.startswith(("VERBOSE", "SET VARIABLE")):
                writer.write(b"200 result=1\n")
            elif line.startswith("STREAM FILE"):
                writer.write(b"200 result=0 endpos=0\n")
            else:
                writer.write(b"200 result=0\n")
            await writer.drain()
        writer.close()

    async def media(self, call_uuid: str, address: str) -> None:
        host, _, port = address.rpartition(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(asp.uuid_frame(call_uuid))
        parser = asp.AudioSocketParser()
        parser.feed(asp.uuid_frame(call_uuid))  # what we send back has no UUID frame
        prompt_at: asyncio.Future[float] = asyncio.get_running_loop().create_future()

        async def listen() -> None:
            while data := await reader.read(65536):
                for event in parser.feed(data):
                    if isinstance(event, asp.Audio) and any(event.pcm) and not prompt_at.done():
                        prompt_at.set_result(time.perf_counter())
                    if isinstance(event, asp.Terminated):
                        return

        listening = asyncio.ensure_future(listen())
        first = await asyncio.wait_for(prompt_at, 30)
        if self.spoke_until is not None:
            self.latencies.append(first - self.spoke_until)
        # main hears "balance", more hears "yes"; past the turns, "no" in more ends the call
        word = ("balance", "yes")[self.turn % 2]
        if self.turn >= self.turns and self.turn % 2:
            word = "no"
        self.turn += 1
        said = audio.frames(self.words[word])
        voiced = [k for k, f in enumerate(said) if audio.rms_dbfs(f) > -45]
        last_voiced = 50 + (voiced[-1] if voiced else len(said) - 1)
        frames = [audio.silence(20)] * 50 + said  # 1 s into the prompt
        silence = asp.frame(asp.KIND_AUDIO, audio.silence(20))
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        i = 0
        while not listening.done():
            if i < len(frames):
                writer.write(asp.frame(asp.KIND_AUDIO, frames[i]))
                if i == last_voiced:
                    self.spoke_until = time.perf_counter()
            else:
                writer.write(silence)  # a phone line keeps sending frames
            i += 1
            next_at += 0.02
            await asyncio.sleep(max(0.0, next_at - loop.time()))
        writer.close()


async def load(port: int, calls: int, turns: int, words: dict[str, bytes]) -> list[float]:
    fakes = [FakeAsterisk(port, n, turns, words) for n in range(calls)]
    await asyncio.wait_for(asyncio.gather(*(f.run() for f in fakes)), 60 + 20 * turns)
    return [x for f in fakes for x in f.latencies]


def latency(calls_list: list[int], turns: int, end_silence: float) -> None:
    words = {w: espeak(w, "en-us+klatt", 160) for w in ("balance", "yes", "no")}
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        records = Path(tmp) / "calls.jsonl"
        proc = subprocess.Popen(
            [sys.executable, "-m", "ivrflow", "serve", "agi", "--listen", f"127.0.0.1:{port}",
             str(ROOT / "bench" / "flows"), "--records", str(records), "--speech", "en-US",
             "--end-of-speech", str(end_silence)],
            cwd=tmp, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert proc.stderr is not None
            while "through AudioSocket" not in proc.stderr.readline():
                assert proc.poll() is None, "the server did not start"
            # Warm-up at the largest load: prompts rendered, one decoder per call in flight
            # loaded (a decoder costs about 0.1-0.4 s once; the figures are the steady state).
            asyncio.run(load(port, max(calls_list), 2, words))
            print(f"latency: end of the caller's words → first audio of the next prompt "
                  f"(end-of-speech silence {end_silence:.2f} s), {turns} turns a call")  # fmt: skip
            for calls in calls_list:
                cpu0, wall0 = cpu_seconds(proc.pid), time.perf_counter()
                found = asyncio.run(load(port, calls, turns, words))
                cpu, wall = cpu_seconds(proc.pid) - cpu0, time.perf_counter() - wall0
                q = statistics.quantiles(found, n=20)
                extra = [x - end_silence for x in found]
                qx = statistics.quantiles(extra, n=20)
                per_call = cpu / (wall * calls)
                print(f"  {calls:>2} call(s) at once: p50 {statistics.median(found) * 1000:4.0f} ms,"
                      f" p95 {q[18] * 1000:4.0f} ms; less the silence: p50 "
                      f"{statistics.median(extra) * 1000:4.0f} ms, p95 {qx[18] * 1000:4.0f} ms "
                      f"(n={len(found)}); CPU {per_call:.1%} of a core per call → "
                      f"{1 / per_call:.0f} calls per core")  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(20)
        heard = [i for line in records.read_text().splitlines()
                 for i in json.loads(line)["inputs"] if i["kind"] == "speech"]  # fmt: skip
        right = sum(i["value"] in ("balance", "yes", "no") for i in heard)
        if os.environ.get("BENCH_DEBUG"):
            for line in records.read_text().splitlines():
                print(json.loads(line)["inputs"])
        wrong = sorted({i["value"] for i in heard} - {"balance", "yes", "no"})
        print(f"  utterances recognized as said: {right}/{len(heard)} (else heard: {wrong})")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=["accuracy", "latency", "both"], default="both")
    p.add_argument("--calls", type=int, nargs="+", default=[1, 4])
    p.add_argument("--turns", type=int, default=8)
    p.add_argument("--end-of-speech", type=float, default=0.6)
    args = p.parse_args()
    if args.part in ("accuracy", "both"):
        accuracy()
    if args.part in ("latency", "both"):
        latency(args.calls, args.turns, args.end_of_speech)
    return 0


if __name__ == "__main__":
    sys.exit(main())
