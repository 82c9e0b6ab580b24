"""N simultaneous emulated calls against one daphne process, side by side with Pipecat's own
FastAPI/uvicorn websocket transport running the same pipeline, and with Pipecat's stock
Twilio example, in the same run.

daphne and fastapi run the product's bot session (`botruntime.session.BotSession`: pipeline,
recorder, transcript and latency tracking, database writes); fastapi swaps our Channels
consumer and transport for Pipecat's FastAPI websocket transport and skips only the
signature check and the call's Channels group. stock (stand-ins only) is the shape of
pipecat-examples' twilio-chatbot with the same stand-in services and none of our
optimisations (`stock_app`): the baseline the capacity goals are measured against.

    .venv/bin/python bench/concurrent_calls.py --calls 8 16 24 32 --services standin

For each server and service set (lite: pocketsphinx + scripted agent + espeak-ng; natural:
Whisper + scripted agent + Piper;
standin: fixed-latency stand-ins for cloud STT/LLM/TTS) it places N calls at once with a
Twilio-like client (signed handshake, `start`, 20 ms μ-law media, marks echoed when played,
`clear` honoured, no compression offered). Each callee waits for the greeting, says one
sentence, waits for the answer and hangs up HANG_UP_AFTER after it. Printed per run: calls
whose p99 outbound frame gap (within bot speech) stayed under 40 ms, server CPU per call
(process and its decode workers, in cores), the web process's own CPU seconds per second of
call (the figure least disturbed by other work on the machine), and the median time from
the caller's last speech frame to the bot's first audio; then the capacity table for the
README (the most calls each server held, and per core, beside the stock example).

"answered" counts calls whose reply arrived within --seconds. One server process runs every
call on one event loop, which cannot use more than one core: once cpu/call x calls nears 1.0
it falls behind real time, hears the callers later and later, and past the call length answers
none although every conversation would finish. Other work on the machine tips it over
sooner, so each row also gives this client's CPU and the load average; the web process's
CPU per call-second moves least with it. `--profile DIR` samples each server with py-spy
(without pausing it) and prints where its time went.

Needs PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/dialer_bench,
created and migrated if missing) and Redis (REDIS_URL) for daphne, espeak-ng for the callee.
Both sides store calls, transcripts and recordings in that database as usual.
"""


import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LOG_DIR = Path(tempfile.gettempdir())
sys.path.insert(0, str(ROOT))

from bench import _support  # noqa: E402 (importable once ROOT is on the path)

ACCOUNT_SID = "AC" + "be" * 16
AUTH_TOKEN = "bench-auth-token"  # noqa: S105 (both servers run locally with it)
PHRASE = "Please do not call me again. Remove me from your list."
GAP_LIMIT = 0.040
# --services -> BOT_SERVICES ("local" is the lite stack's name before the natural one came).
SERVICES = {"standin": "standin", "lite": "lite", "local": "lite", "natural": "natural"}
UTTERANCE_BREAK = 0.3  # a longer silence between bot frames is a pause between utterances
SILENCE_LEVEL = 100  # 16-bit amplitude under which the callee's phrase is silence (-50 dBFS)
HANG_UP_AFTER = 1.5  # the callee hangs up once the answer has played and this much silence
# The servers compared in one run: ours, Pipecat's FastAPI transport carrying our session,
# and Pipecat's stock Twilio example (see stock_app).
SERVERS = ("daphne", "fastapi", "stock")


# -- the FastAPI/uvicorn baseline server ----------------------------------------------------

def fastapi_app():
    """Pipecat's FastAPI transport carrying the product's own bot session: the pipeline,
    recorder, transcripts and database writes are ours; only the transport differs."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dialer_site.settings")
    django.setup()
    from fastapi import FastAPI, WebSocket
    from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams, FastAPIWebsocketTransport

    from botruntime import warm_up
    from botruntime.session import BotSession, StreamStart, transport_params
    from calls.bot_store import DatabaseCallStore

    warm_up()
    app = FastAPI()

    @app.websocket("/twilio/stream/")
    async def stream(websocket: WebSocket):
        await websocket.accept()
        start = None
        while start is None:
            message = json.loads(await websocket.receive_text())
            if message.get("event") == "start":
                start = StreamStart.from_twilio(message["start"])
        transport = FastAPIWebsocketTransport(
            websocket, transport_params(FastAPIWebsocketParams, start, allowed_origins=[]))
        await BotSession(start, transport, store=DatabaseCallStore()).run()

    return app


STOCK_EXAMPLE = "pipecat-ai/pipecat-examples twilio-chatbot/inbound/bot.py (39261fc, July 2026)"


def stock_app():
    """Pipecat's stock Twilio bot, the shape of STOCK_EXAMPLE, with our stand-in services in
    place of Deepgram, Gemini and Cartesia and nothing of ours besides: `create_transport`
    (FastAPIWebsocketTransport with Pipecat's Twilio serializer), `SileroVADAnalyzer()` with
    its defaults (its model loaded per call, on the loop), the default user-turn strategies
    (Smart Turn, its model loaded per call), its AudioBufferProcessor recording, no database.
    The baseline for what our optimisations buy."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dialer_site.settings")
    django.setup()  # the stand-in "LLM" is our scripted agent, which reads settings
    from fastapi import FastAPI, WebSocket
    from pipecat.audio.vad.silero import SileroVADAnalyzer
    from pipecat.frames.frames import (
        LLMFullResponseEndFrame,
        LLMFullResponseStartFrame,
        LLMRunFrame,
        LLMTextFrame,
    )
    from pipecat.pipeline.pipeline import Pipeline
    from pipecat.pipeline.worker import PipelineParams, PipelineWorker
    from pipecat.processors.aggregators.llm_context import LLMContext
    from pipecat.processors.aggregators.llm_response_universal import (
        LLMContextAggregatorPair,
        LLMUserAggregatorParams,
    )
    from pipecat.processors.audio.audio_buffer_processor import AudioBufferProcessor
    from pipecat.runner.types import WebSocketRunnerArguments
    from pipecat.runner.utils import create_transport
    from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams
    from pipecat.workers.runner import WorkerRunner

    from botruntime import prompts, standins
    from botruntime.script import DEFAULT_SCRIPT, ScriptedDialogue
    from botruntime.store import CallContext
    from botruntime.tools import CallTools

    class StandInLLM(standins.StandInAgent):
        """Asked to introduce itself (no caller message yet) it says the product's greeting
        and opening, as our session does; after that it answers as the stand-in agent."""

        async def _answer(self, frame):
            if any(m.get("role") == "user" for m in frame.context.get_messages() if isinstance(m, dict)):
                return await super()._answer(frame)
            await self.push_frame(LLMFullResponseStartFrame())
            await self.push_frame(LLMTextFrame(" ".join([self.greeting, *self.opening()])))
            await self.push_frame(LLMFullResponseEndFrame())
            return None

    async def no_hang_up_tool(_reason):
        """The stock example has no tool to end the call: the caller hangs up."""

    async def run_bot(transport, call_sid: str):
        call = CallContext(call_id=0, call_sid=call_sid, direction="inbound", phone="")
        llm = StandInLLM(ScriptedDialogue(DEFAULT_SCRIPT), CallTools(call, no_hang_up_tool), {})
        llm.greeting = prompts.greeting(call)
        stt, tts = standins.StandInSTT(), standins.StandInTTS()
        context = LLMContext()
        user_aggregator, assistant_aggregator = LLMContextAggregatorPair(
            context, user_params=LLMUserAggregatorParams(vad_analyzer=SileroVADAnalyzer()))
        audiobuffer = AudioBufferProcessor()
        pipeline = Pipeline([transport.input(), stt, user_aggregator, llm, tts,
                             transport.output(), audiobuffer, assistant_aggregator])
        worker = PipelineWorker(pipeline, params=PipelineParams(
            audio_in_sample_rate=8000, audio_out_sample_rate=8000,
            enable_metrics=True, enable_usage_metrics=True))

        @transport.event_handler("on_client_connected")
        async def on_client_connected(transport, client):
            await audiobuffer.start_recording()
            context.add_message({"role": "developer", "content": "Please introduce yourself to the user."})
            await worker.queue_frames([LLMRunFrame()])

        @transport.event_handler("on_client_disconnected")
        async def on_client_disconnected(transport, client):
            await worker.cancel()

        # The example saves the recording to a file here; keeping it in memory costs the same.
        runner = WorkerRunner(handle_sigint=False, force_gc=True)
        await runner.add_workers(worker)
        await runner.run()

    app = FastAPI()

    @app.websocket("/twilio/stream/")
    async def stream(websocket: WebSocket):
        await websocket.accept()
        runner_args = WebSocketRunnerArguments(websocket=websocket)
        transport = await create_transport(runner_args, {"twilio": lambda: FastAPIWebsocketParams(
            audio_in_enabled=True, audio_out_enabled=True)})
        # Its REST hang-up goes to the bench's stub, not api.twilio.com.
        transport.output()._params.serializer._base_url = os.environ["TWILIO_API_BASE_URL"]
        await run_bot(transport, runner_args.call_data.call_id)

    return app


# -- the Twilio-like client ------------------------------------------------------------------

def phrase_ulaw() -> bytes:
    from twilio_emulator.audio import pcm16_to_ulaw, resample

    wav = subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "--stdout", PHRASE],
                         capture_output=True, check=True).stdout
    import io
    import wave

    with wave.open(io.BytesIO(wav)) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        rate = w.getframerate()
    samples = resample(samples, rate, 8000)
    # espeak-ng ends on 0.35 s of silence: cut it, so that "caller stops" is the last sound
    # (the latency was measured from the end of that silence, 0.35 s short).
    loud = np.nonzero(np.abs(samples.astype(np.int32)) > SILENCE_LEVEL)[0]
    return bytes(pcm16_to_ulaw(samples[:loud[-1] + 1]))


async def one_call(url: str, speech: bytes, deadline: float) -> dict:
    import websockets
    from twilio.request_validator import RequestValidator

    sig = RequestValidator(AUTH_TOKEN).compute_signature(url, {})
    stream_sid, call_sid = "MZ" + uuid.uuid4().hex, "CA" + uuid.uuid4().hex
    arrivals: list[float] = []
    outgoing = bytearray()
    state = {"spoke_at": None, "first_reply": None, "play_until": 0.0, "last_audio": 0.0}
    opened = time.monotonic()
    # No permessage-deflate: daphne (autobahn) declines it and uvicorn accepts it, which
    # would make the baseline compress every 20 ms message and daphne none.
    async with websockets.connect(url, additional_headers={"X-Twilio-Signature": sig},
                                  max_size=2**20, ping_interval=None, compression=None) as ws:
        await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        await ws.send(json.dumps({"event": "start", "streamSid": stream_sid, "start": {
            "accountSid": ACCOUNT_SID, "streamSid": stream_sid, "callSid": call_sid,
            "tracks": ["inbound"], "customParameters": {"caller_id": "+12025550177"},
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}}))

        async def send_media():
            tick = time.monotonic()
            while True:
                chunk = bytes(outgoing[:160]) if outgoing else b"\xff" * 160
                del outgoing[:160]
                if not outgoing and state["spoke_at"] == "speaking":
                    state["spoke_at"] = time.monotonic()
                try:
                    await ws.send(json.dumps({"event": "media", "streamSid": stream_sid, "media": {
                        "payload": base64.b64encode(chunk).decode()}}))
                except websockets.exceptions.ConnectionClosed:
                    return  # hung up, by either side
                tick += 0.02
                await asyncio.sleep(max(0, tick - time.monotonic()))

        async def echo_mark(name: str, delay: float):
            await asyncio.sleep(delay)
            await ws.send(json.dumps({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}}))

        async def turn_taking():
            while time.monotonic() < deadline:
                await asyncio.sleep(0.05)
                now = time.monotonic()
                quiet = now - max(state["play_until"], arrivals[-1]) if arrivals else 0
                if state["spoke_at"] is None and quiet > 0.7:
                    outgoing.extend(speech)
                    state["spoke_at"] = "speaking"
                elif state["first_reply"] is not None and quiet > HANG_UP_AFTER:
                    # The answer has been heard: hang up, as a person would (the stock bot
                    # never does; ours usually has by now).
                    await ws.close()
                    return

        sender = asyncio.create_task(send_media())
        taker = asyncio.create_task(turn_taking())
        try:
            async with asyncio.timeout(max(1.0, deadline - time.monotonic())):
                async for raw in ws:
                    message = json.loads(raw)
                    now = time.monotonic()
                    if message["event"] == "media":
                        arrivals.append(now)
                        state["play_until"] = max(state["play_until"], now) + 0.02
                        if isinstance(state["spoke_at"], float) and state["first_reply"] is None:
                            state["first_reply"] = now - state["spoke_at"]
                    elif message["event"] == "mark":
                        asyncio.get_running_loop().create_task(
                            echo_mark(message["mark"]["name"], max(0, state["play_until"] - now)))
                    elif message["event"] == "clear":
                        state["play_until"] = now
        except (TimeoutError, websockets.exceptions.ConnectionClosed):
            pass
        finally:
            sender.cancel()
            taker.cancel()
    gaps = [b - a for a, b in itertools.pairwise(arrivals) if b - a < UTTERANCE_BREAK]
    p99 = float(np.percentile(gaps, 99)) if gaps else None
    return {"p99_gap": p99, "latency": state["first_reply"], "frames": len(arrivals),
            "seconds": time.monotonic() - opened}


# -- servers and measurement ----------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_database_url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dialer_bench")
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname=%s", [parts.path[1:]]).fetchone():
            conn.execute(f'CREATE DATABASE "{parts.path[1:]}"')
    return url


def start_server(kind: str, services: str, port: int, env: dict, public_url: str = "") -> subprocess.Popen:
    """`kind` on 127.0.0.1:port; `public_url` is the address callers sign (a proxy's), if not
    the server's own. serve_web is the web process as deployed (bench/web_processes.py)."""
    env = {**env, "BOT_SERVICES": SERVICES[services], "PUBLIC_BASE_URL": public_url or f"http://127.0.0.1:{port}"}
    if kind == "daphne":
        command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                   "dialer_site.asgi:application"]
    elif kind == "serve_web":
        command = [sys.executable, "manage.py", "serve_web", "--port", str(port), "--no-access-log"]
    else:
        command = [sys.executable, str(Path(__file__)), f"serve-{kind}", "--port", str(port)]
    log = LOG_DIR / f"bench-{kind}-{services}.log"
    # A process group of its own, so that stop_server ends its speech workers too.
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, start_new_session=True,
                               stderr=open(log, "w"))  # noqa: SIM115
    wait_for_port(port, process, f"{kind}; see {log}")
    return process


def wait_for_port(port: int, process: subprocess.Popen, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process.poll() is not None:
            raise RuntimeError(f"exited: {what}")
        time.sleep(0.2)
    raise TimeoutError(f"did not start listening: {what}")


def stop_server(server: subprocess.Popen) -> None:
    """The server and its process group: a server's speech workers outlived it (and every
    run left two more processes behind)."""
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)  # workers that ignored the SIGTERM


async def hangup_stub(port: int):
    from aiohttp import web

    async def hang_up(request):
        return web.json_response({"status": "completed"})

    app = web.Application()
    app.router.add_post("/{tail:.*}", hang_up)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def start_hangup_stub(port: int):
    """The stub on its own loop in a thread: (its runner, that loop), for stop_hangup_stub."""
    import threading

    loop = asyncio.new_event_loop()
    stub = loop.run_until_complete(hangup_stub(port))
    threading.Thread(target=loop.run_forever, daemon=True).start()
    return stub, loop


def stop_hangup_stub(stub, loop) -> None:
    asyncio.run_coroutine_threadsafe(stub.cleanup(), loop).result(10)


def server_environment() -> tuple[dict, int]:
    """The servers' environment (the bench database, migrated) and the hang-up stub's port."""
    stub_port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": bench_database_url(),
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_BASE_URL": f"http://127.0.0.1:{stub_port}",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13") + "?socket_timeout=15",
        "SECRET_KEY": "bench-only", "DEBUG": "false", "READ_DOTENV": "false",
        "SECURE_SSL_REDIRECT": "false", "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING", "LOGURU_LEVEL": "WARNING",
        # The bench finds what one process holds: admission control must not refuse first.
        "MEDIA_STREAMS_PER_PROCESS": "1000", "MEDIA_ADMISSION_LAG_P95_MS": "1000000",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    return env, stub_port


async def run_calls(url: str, n: int, speech: bytes, seconds: float) -> list[dict]:
    deadline = time.monotonic() + seconds
    return await asyncio.gather(*(one_call(url, speech, deadline) for _ in range(n)))


def settle(pid: int, idle_cores: float = 0.05, timeout: float = 90.0) -> None:
    """Wait until the server and its children are idle: daphne's speech workers load Whisper
    and Piper after it listens (seconds of both cores), which would be measured as the
    calls' CPU and take it from them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = _support.process_tree_cpu(pid)
        time.sleep(1.0)
        if _support.process_tree_cpu(pid) - before < idle_cores:
            return


def profile(pid: int, seconds: float, path: Path) -> subprocess.Popen:
    """py-spy sampling the server (without pausing it) into collapsed stacks at `path`."""
    return subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid),
                             "--nonblocking", "--rate", "100", "--format", "raw", "--duration",
                             str(int(seconds)), "--output", str(path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def top_frames(path: Path, count: int = 25) -> str:
    """The functions the samples were in (self) and under (total), as shares of all samples."""
    own: dict[str, int] = {}
    under: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if not stack or not samples.isdigit():
            continue
        # "function (path/to/file.py:123)" -> "function (file.py)": one entry per function
        frames = [re.sub(r" \(.*?([^/]+?)(:\d+)?\)$", r" (\1)", frame) for frame in stack.split(";")]
        total += int(samples)
        own[frames[-1]] = own.get(frames[-1], 0) + int(samples)
        for frame in set(frames):
            under[frame] = under.get(frame, 0) + int(samples)
    lines = [f"{total} samples in {path}"]
    for title, table in (("self", own), ("total", under)):
        lines.append(f"-- {title}")
        for frame, samples in sorted(table.items(), key=lambda item: -item[1])[:count]:
            lines.append(f"{100 * samples / total:5.1f} %  {frame}")
    return "\n".join(lines)


def measure(kind: str, services: str, n: int, env: dict, speech: bytes, seconds: float,
            profile_dir: Path | None = None) -> dict:
    port = free_port()
    server = start_server(kind, services, port, env)
    spy = None
    try:
        settle(server.pid)
        if profile_dir is not None:
            spy = profile(server.pid, seconds, profile_dir / f"{kind}-{services}-{n}.txt")
        cpu_before, wall_before = _support.process_tree_cpu(server.pid), time.monotonic()
        web_before = _support.cpu_seconds(server.pid)
        client_before = time.process_time()
        results = asyncio.run(run_calls(f"ws://127.0.0.1:{port}/twilio/stream/", n, speech, seconds))
        cpu = _support.process_tree_cpu(server.pid) - cpu_before
        web_cpu = _support.cpu_seconds(server.pid) - web_before
        wall = time.monotonic() - wall_before
        client_cpu = time.process_time() - client_before
        load = os.getloadavg()[0]
        if spy is not None:
            spy.wait(30)
            print(top_frames(profile_dir / f"{kind}-{services}-{n}.txt"), flush=True)
    finally:
        stop_server(server)
    figures = call_figures(results)
    return {
        "server": kind, "services": services, "calls": n, "held": figures["held"],
        "worst_p99_gap_ms": figures["worst_p99_gap_ms"],
        "cpu_per_call": round(cpu / wall / n, 3),
        # The web process alone (its event loop, where the calls compete), per second of call:
        # steadier than the gaps on a shared machine, and what the optimisations aim at.
        "web_cpu_per_call_sec": round(web_cpu / sum(r["seconds"] for r in results), 4),
        "median_latency_ms": figures["median_latency_ms"],
        "answered": figures["answered"],
        "client_cpu": round(client_cpu / wall, 2),
        "load1": round(load, 1),
    }


def call_figures(results: list[dict]) -> dict:
    """Calls held (p99 frame gap under GAP_LIMIT), the worst p99 gap, the median turn latency
    and the calls answered, of one_call's results."""
    held = sum(1 for r in results if r["p99_gap"] is not None and r["p99_gap"] < GAP_LIMIT)
    latencies = [r["latency"] for r in results if r["latency"] is not None]
    gaps = [r["p99_gap"] for r in results if r["p99_gap"] is not None]
    return {"held": held, "worst_p99_gap_ms": round(max(gaps) * 1000, 1) if gaps else None,
            "median_latency_ms": round(statistics.median(latencies) * 1000) if latencies else None,
            "answered": len(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", default="bench",
                        choices=["bench", "serve-fastapi", "serve-stock"])
    parser.add_argument("--servers", nargs="+", default=list(SERVERS), choices=SERVERS)
    parser.add_argument("--calls", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--services", nargs="+", default=["standin", "lite"], choices=list(SERVICES))
    # 30 s: the greeting, the caller, the answer and the goodbye fit; the bot hangs up itself.
    parser.add_argument("--seconds", type=float, default=30.0, help="longest a call may last")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="sample each server with py-spy: collapsed stacks in DIR, top functions printed")
    args = parser.parse_args()

    if args.command != "bench":
        import uvicorn

        app = fastapi_app() if args.command == "serve-fastapi" else stock_app()
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", ws="websockets")
        return

    env, stub_port = server_environment()
    speech = phrase_ulaw()
    stub, loop = start_hangup_stub(stub_port)

    rows = []
    for services in args.services:
        for n in args.calls:
            for kind in args.servers:
                if kind == "stock" and services != "standin":
                    continue  # the stock example's services are remote ones: stand-ins only
                row = measure(kind, services, n, env, speech, args.seconds, args.profile)
                rows.append(row)
                print(json.dumps(row), flush=True)
    stop_hangup_stub(stub, loop)

    print(f"\n{'server':8} {'services':8} {'calls':>5} {'held<40ms':>9} {'worst p99':>9} "
          f"{'cpu/call':>8} {'web cpu s/call-s':>16} {'median stop->audio':>18} {'answered':>8} "
          f"{'client cpu':>10} {'load':>5}")
    for r in rows:
        print(f"{r['server']:8} {r['services']:8} {r['calls']:>5} {r['held']:>9} "
              f"{r['worst_p99_gap_ms']!s:>9} {r['cpu_per_call']:>8} {r['web_cpu_per_call_sec']:>16} "
              f"{r['median_latency_ms']!s:>18} {r['answered']:>8} {r['client_cpu']:>10} {r['load1']:>5}")
    print()
    print(capacity_table(rows))


def capacity_table(rows: list[dict]) -> str:
    """The README's capacity table (markdown): per server and services, the most calls one
    process held (every call's p99 gap under 40 ms and every call answered), the core a call
    took there, and so the calls a core holds, beside the stock example's from the same run."""
    best: dict[tuple[str, str], dict] = {}
    for r in rows:
        if r["held"] == r["answered"] == r["calls"]:
            key = (r["server"], r["services"])
            if key not in best or r["calls"] > best[key]["calls"]:
                best[key] = r
    stock = best.get(("stock", "standin"))
    lines = ["| server | services | calls held by one process | core a call there | web CPU s per call-s "
             "| calls a core | × stock | median stop → audio |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    sizes = sorted({r["calls"] for r in rows})
    for server, services in dict.fromkeys((r["server"], r["services"]) for r in rows):
        r = best.get((server, services))
        if r is None:
            lines.append(f"| {server} | {services} | none of {sizes} | | | | | |")
            continue
        ratio = f"{r['calls'] / stock['calls']:.1f}×" if stock and services == "standin" else ""
        per_core = round(1 / r["cpu_per_call"]) if r["cpu_per_call"] else ""
        lines.append(f"| {server} | {services} | {r['calls']} | {r['cpu_per_call']} "
                     f"| {r['web_cpu_per_call_sec']} | {per_core} | {ratio} | {r['median_latency_ms']} ms |")
    loads = [r["load1"] for r in rows]
    lines.append(f"\n{os.cpu_count()} cores; load average {min(loads)}–{max(loads)} during the run.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
