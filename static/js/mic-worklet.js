// "Talk in the browser": the microphone, at the AudioContext's rate (8 kHz, Twilio's), cut
// into 20 ms frames of 160 samples for the page to send as Media Streams `media` messages.
const FRAME = 160;

class MicFrames extends AudioWorkletProcessor {
  constructor() {
    super();
    this.frame = new Float32Array(FRAME);
    this.filled = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel) {
      for (const sample of channel) {
        this.frame[this.filled++] = sample;
        if (this.filled === FRAME) {
          this.port.postMessage(this.frame);
          this.frame = new Float32Array(FRAME);
          this.filled = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor("mic-frames", MicFrames);
