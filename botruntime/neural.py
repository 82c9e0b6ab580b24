"""Whisper, Piper and the sentence encoder, run inside the speech worker processes.

Each is CPU work of a few hundred milliseconds that holds the GIL for part of it, so the
calls reach them through `asr.pool()` (the same spawned processes that run pocketsphinx),
never on daphne's event loop. Each worker loads a model the first time it is asked for
it, keyed by path, and keeps it; every model runs on one thread, so the pool's size (one
worker per core by default) is the CPU the speech models may take.

No Django here: the workers do not configure it, and the paths arrive as arguments.
"""

from __future__ import annotations

import json

import numpy as np
import soxr

WHISPER_RATE = 16000
# Greedy decoding: beam search (5) was ~1.6x slower on this 2-core host for no fewer errors
# on the bench's phone utterances.
WHISPER_BEAM_SIZE = 1
# Whisper writes "Thank you." over line noise the VAD let through: drop what it is itself
# unsure was speech.
NO_SPEECH_PROBABILITY = 0.6

_whisper: dict[str, object] = {}
_piper: dict[str, object] = {}
_encoders: dict[str, tuple] = {}


def _one_thread_options():
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return options


def _whisper_model(model_dir: str):
    model = _whisper.get(model_dir)
    if model is None:
        from faster_whisper import WhisperModel

        model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=1,
                             num_workers=1)
        _whisper[model_dir] = model
    return model


def transcribe(model_dir: str, prompt: str, pcm: bytes, sample_rate: int) -> str:
    """16-bit mono PCM to text with Whisper, the campaign's phrases as the prompt."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    if sample_rate != WHISPER_RATE:
        samples = soxr.resample(samples, sample_rate, WHISPER_RATE)
    segments, _info = _whisper_model(model_dir).transcribe(
        samples, language="en", beam_size=WHISPER_BEAM_SIZE, initial_prompt=prompt or None,
        condition_on_previous_text=False, without_timestamps=True, vad_filter=False,
    )
    return " ".join(segment.text.strip() for segment in segments
                    if segment.no_speech_prob < NO_SPEECH_PROBABILITY).strip()


def _piper_voice(voice_path: str):
    voice = _piper.get(voice_path)
    if voice is None:
        import onnxruntime as ort
        from piper import PiperVoice
        from piper.config import PiperConfig

        with open(f"{voice_path}.json", encoding="utf-8") as config:
            settings = PiperConfig.from_dict(json.load(config))
        # PiperVoice.load would give onnxruntime every core; the pool is sized in workers.
        voice = PiperVoice(config=settings, session=ort.InferenceSession(
            voice_path, sess_options=_one_thread_options(), providers=["CPUExecutionProvider"]))
        _piper[voice_path] = voice
    return voice


def synthesize(voice_path: str, text: str, sample_rate: int, length_scale: float | None = None) -> bytes:
    """Text to 16-bit mono PCM at `sample_rate` with a Piper voice (`length_scale` > 1 is slower)."""
    from piper import SynthesisConfig

    voice = _piper_voice(voice_path)
    chunks = voice.synthesize(text, syn_config=SynthesisConfig(length_scale=length_scale))
    audio = np.frombuffer(b"".join(chunk.audio_int16_bytes for chunk in chunks), dtype="<i2")
    if voice.config.sample_rate != sample_rate:
        audio = soxr.resample(audio, voice.config.sample_rate, sample_rate).astype("<i2")
    return audio.tobytes()


def _encoder(model_path: str, tokenizer_path: str):
    loaded = _encoders.get(model_path)
    if loaded is None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(tokenizer_path)
        tokenizer.enable_padding()  # to the longest in the batch, not the file's fixed 128
        tokenizer.enable_truncation(max_length=128)
        loaded = tokenizer, ort.InferenceSession(model_path, sess_options=_one_thread_options())
        _encoders[model_path] = loaded
    return loaded


def embed(model_path: str, tokenizer_path: str, texts: list[str]) -> np.ndarray:
    """Unit-length sentence embeddings: the encoder's token states mean-pooled over the
    attention mask, as sentence-transformers pools all-MiniLM-L6-v2."""
    tokenizer, session = _encoder(model_path, tokenizer_path)
    encodings = tokenizer.encode_batch(texts)
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
    (states,) = session.run(None, {"input_ids": ids, "attention_mask": mask,
                                   "token_type_ids": np.zeros_like(ids)})
    pooled = (states * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
