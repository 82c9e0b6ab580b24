// "Talk in the browser": the microphone talks to the campaign's bot over
// /ws/campaigns/<id>/talk/ (calls/talk_consumer.py), which speaks Twilio's Media Streams
// protocol: μ-law 8 kHz `media` both ways, `mark`s echoed once the bot's audio before them
// has played, `clear` when the caller talks over the bot. The transcript and the tools the
// bot uses arrive on the same socket. G.711 μ-law is written out here (a dozen lines; the
// browser has no codec API for it).

import { bubble, el } from "./live.js";

const RATE = 8000;
const AHEAD_SECONDS = 0.1; // bot audio starts this far ahead, so uneven packets play smoothly

const DECODE = Float32Array.from({ length: 256 }, (_, byte) => {
  const u = ~byte & 0xff;
  const magnitude = ((((u & 0x0f) << 3) + 0x84) << ((u >> 4) & 7)) - 0x84;
  return (u & 0x80 ? -magnitude : magnitude) / 32768;
});

function encode(sample) {
  let s = Math.round(Math.max(-1, Math.min(1, sample)) * 32767);
  const sign = s < 0 ? 0x80 : 0;
  s = Math.min(Math.abs(s), 32635) + 0x84;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  return ~(sign | (exponent << 4) | ((s >> (exponent + 3)) & 0x0f)) & 0xff;
}

const toBase64 = (bytes) => btoa(String.fromCharCode(...bytes));
const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

function setupTalk(root) {
  const button = document.getElementById("talk-start");
  const state = document.getElementById("talk-state");
  const meter = document.getElementById("talk-level");
  const transcript = document.getElementById("talk-transcript");
  const empty = document.getElementById("talk-empty");
  const tools = document.getElementById("talk-tools");
  const record = document.getElementById("talk-record");
  let session = null; // { socket, context, stream, next, playing, timers }

  const show = (text) => { state.textContent = text; };

  const addLine = (line) => {
    if (transcript.querySelector(`[data-line-id="${line.id}"]`)) return;
    const later = [...transcript.children].find((n) => Number(n.dataset.offset) > line.offset_ms);
    transcript.insertBefore(bubble(line), later || null);
    empty.hidden = true;
    transcript.scrollTop = transcript.scrollHeight;
  };

  const addTool = ({ name, arguments: args, result }) => {
    tools.querySelector(".empty")?.remove();
    const given = Object.entries(args).filter(([, v]) => v).map(([k, v]) => `${k}: ${v}`).join(", ");
    const outcome = result.ok ? (result.disposition || result.callback_at || "done") : result.error;
    tools.append(el("li", {}, el("code", {}, name), given ? ` (${given})` : "", ` → ${outcome}`));
  };

  const play = (payload) => {
    const { context } = session;
    const bytes = fromBase64(payload);
    const buffer = context.createBuffer(1, bytes.length, RATE);
    buffer.copyToChannel(Float32Array.from(bytes, (b) => DECODE[b]), 0);
    const source = context.createBufferSource();
    source.buffer = buffer;
    source.connect(context.destination);
    const at = Math.max(context.currentTime + AHEAD_SECONDS, session.next);
    source.start(at);
    session.next = at + buffer.duration;
    session.playing.add(source);
    source.onended = () => session && session.playing.delete(source);
  };

  const send = (message) => {
    if (session && session.socket.readyState === WebSocket.OPEN) session.socket.send(JSON.stringify(message));
  };

  // A mark comes back once everything sent before it has played, as Twilio does it.
  const echo = (name) => {
    const wait = Math.max(0, session.next - session.context.currentTime) * 1000;
    const timer = setTimeout(() => { session?.timers.delete(timer); send({ event: "mark", mark: { name } }); }, wait);
    session.timers.set(timer, name);
  };

  const clear = () => {
    for (const source of session.playing) source.stop();
    session.playing.clear();
    session.next = 0;
    for (const [timer, name] of session.timers) { clearTimeout(timer); send({ event: "mark", mark: { name } }); }
    session.timers.clear();
  };

  const onMessage = (message) => {
    if (message.event === "media") play(message.media.payload);
    else if (message.event === "mark") echo(message.mark.name);
    else if (message.event === "clear") clear();
    else if (message.type === "session") {
      record.hidden = false;
      record.querySelector("a").href = message.url;
      show("Connected: say something to the bot.");
    } else if (message.type === "transcript.line") addLine(message.line);
    else if (message.type === "tool.call") addTool(message);
    else if (message.type === "call.update" && message.call.disposition_display) {
      document.getElementById("talk-outcome").textContent = message.call.disposition_display;
    }
  };

  const stop = (text) => {
    if (!session) return;
    const { socket, context, stream, level } = session;
    session = null;
    clearInterval(level);
    stream.getTracks().forEach((track) => track.stop());
    context.close();
    if (socket.readyState === WebSocket.OPEN) socket.close();
    meter.value = 0;
    button.textContent = "Start talking";
    button.setAttribute("aria-pressed", "false");
    show(text);
  };

  const start = async () => {
    show("Asking for the microphone…");
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia(
        { audio: { echoCancellation: true, noiseSuppression: true, channelCount: 1 } });
    } catch (error) {
      show(`No microphone: ${error.message}`);
      return;
    }
    const context = new AudioContext({ sampleRate: RATE });
    await context.audioWorklet.addModule(root.dataset.worklet);
    const mic = context.createMediaStreamSource(stream);
    const frames = new AudioWorkletNode(context, "mic-frames");
    const analyser = context.createAnalyser();
    const silent = context.createGain();
    silent.gain.value = 0; // the worklet must be pulled by the graph; nothing of it is heard
    mic.connect(frames).connect(silent).connect(context.destination);
    mic.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const level = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      meter.value = Math.min(1, 4 * Math.sqrt(samples.reduce((sum, v) => sum + v * v, 0) / samples.length));
    }, 100);
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}${root.dataset.socket}${location.search}`);
    session = { socket, context, stream, level, next: 0, playing: new Set(), timers: new Map() };
    frames.port.onmessage = ({ data }) => send({ event: "media", media: { payload: toBase64(Array.from(data, encode)) } });
    socket.onmessage = ({ data }) => onMessage(JSON.parse(data));
    socket.onclose = () => stop("The conversation has ended.");
    button.textContent = "Stop";
    button.setAttribute("aria-pressed", "true");
    show("Connecting…");
  };

  button.addEventListener("click", () => {
    if (session) {
      send({ event: "stop" });
      stop("You ended the conversation.");
    } else {
      start().catch((error) => show(`Could not start: ${error.message}`));
    }
  });
}

const root = document.querySelector("[data-talk]");
if (root) setupTalk(root);
