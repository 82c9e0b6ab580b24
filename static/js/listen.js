// "Listen" on a live call's page: the call's audio, both sides, arrives over the dashboard
// socket as 16-bit PCM (calls/listening.py) and plays through Web Audio, each side on its
// own timeline a little behind real time so packets arriving unevenly still play smoothly.
// The meter shows the level heard (the browser tests read it).

const AHEAD_SECONDS = 0.15;

function samples(base64) {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const pcm = new Int16Array(bytes.buffer, 0, bytes.length >> 1);
  return Float32Array.from(pcm, (v) => v / 32768);
}

export function setupListen(button, callId, link) {
  const meter = document.getElementById("listen-level");
  const state = document.getElementById("listen-state");
  let audio = null; // { context, analyser, next: {caller, bot}, timer }

  const show = (text) => { if (state) state.textContent = text; };

  const stop = (text = "Not listening.") => {
    if (!audio) return;
    clearInterval(audio.timer);
    audio.context.close();
    audio = null;
    button.textContent = "Listen";
    button.setAttribute("aria-pressed", "false");
    if (meter) meter.value = 0;
    show(text);
  };

  button.addEventListener("click", async () => {
    if (audio) {
      link.send({ action: "unlisten" });
      stop();
      return;
    }
    const context = new AudioContext();
    await context.resume();
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    analyser.connect(context.destination);
    const frame = new Float32Array(analyser.fftSize);
    const timer = setInterval(() => {
      analyser.getFloatTimeDomainData(frame);
      const rms = Math.sqrt(frame.reduce((sum, v) => sum + v * v, 0) / frame.length);
      if (meter) meter.value = Math.min(1, rms * 4);
      window.listenPeak = Math.max(window.listenPeak || 0, rms);
    }, 100);
    audio = { context, analyser, next: { caller: 0, bot: 0 }, timer };
    button.textContent = "Stop listening";
    button.setAttribute("aria-pressed", "true");
    show("Connecting…");
    link.send({ action: "listen", call: callId });
  });

  return (message) => {
    if (message.type === "listening") show("Listening: caller and bot.");
    else if (message.type === "listen.ended") stop("The call has ended.");
    else if (message.type === "error" && audio && message.listen) stop(message.message);
    else if (message.type === "listen.audio" && audio) {
      const data = samples(message.pcm);
      if (!data.length) return;
      const buffer = audio.context.createBuffer(1, data.length, message.rate);
      buffer.copyToChannel(data, 0);
      const source = audio.context.createBufferSource();
      source.buffer = buffer;
      source.connect(audio.analyser);
      const at = Math.max(audio.context.currentTime + AHEAD_SECONDS, audio.next[message.side] || 0);
      source.start(at);
      audio.next[message.side] = at + buffer.duration;
    }
  };
}
