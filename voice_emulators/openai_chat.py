"""OpenAI chat completions: POST /v1/chat/completions, streamed (server-sent events of
`chat.completion.chunk`s) or not, answered by the rule-based policy (policy.py)."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from pathlib import Path

from aiohttp import web

from .policy import Answer, Policy, arguments_json
from .state import state_of

SERVICE = "openai"
POLICY: web.AppKey[Policy] = web.AppKey("policy")
FINGERPRINT = "fp_emulated"
ARGUMENT_PIECE = 8  # characters of tool-call arguments per chunk, as the API splits them
DROP_AFTER_CHUNKS = 2  # a dropped stream is cut after this many chunks


def install(app: web.Application, rules: Path | None) -> None:
    app[POLICY] = Policy.load(rules)
    app.router.add_post("/v1/chat/completions", completions)


def error(status: int, message: str, kind: str, code: str | None, param: str | None = None,
          headers: dict | None = None) -> web.Response:
    return web.json_response({"error": {"message": message, "type": kind, "param": param,
                                        "code": code}}, status=status, headers=headers)


def _tokens(text: str) -> int:
    # About four characters a token for English; the emulator has no tokenizer.
    return max(1, round(len(text) / 4)) if text else 0


async def completions(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not state.key_ok(key.strip()) or state.take_fault(SERVICE, "reject_key"):
        state.note(SERVICE, "rejected", status=401)
        shown = f"{key[:3]}*****{key[-4:]}" if len(key) > 8 else "*****"
        return error(401, f"Incorrect API key provided: {shown}. You can find your API key at "
                     "https://platform.openai.com/account/api-keys.", "invalid_request_error",
                     "invalid_api_key")
    fault = state.take_fault(SERVICE, "rate_limit")
    if fault:
        state.note(SERVICE, "rejected", status=429)
        return error(429, "Rate limit reached for requests. Please try again in "
                     f"{fault.retry_after}s.", "requests", "rate_limit_exceeded",
                     headers={"Retry-After": str(fault.retry_after),
                              "x-ratelimit-remaining-requests": "0",
                              "x-ratelimit-reset-requests": f"{fault.retry_after}s"})
    try:
        body = await request.json()
    except ValueError:
        return error(400, "We could not parse the JSON body of your request.",
                     "invalid_request_error", None)
    if not isinstance(body, dict) or not body.get("model"):
        return error(400, "you must provide a model parameter", "invalid_request_error", None)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return error(400, "[] is too short - 'messages'", "invalid_request_error", None, "messages")
    answer = request.app[POLICY].answer(messages, body.get("tools") or [])
    state.note(SERVICE, "completion", stream=bool(body.get("stream")), text=answer.text,
               tools=[c.name for c in answer.tool_calls],
               messages=[{"role": m.get("role"), "content": m.get("content")} for m in messages])
    prompt_tokens = (sum(_tokens(json.dumps(m)) for m in messages)
                     + _tokens(json.dumps(body.get("tools") or [])))
    completion_tokens = _tokens(answer.text) + sum(_tokens(arguments_json(c)) for c in answer.tool_calls)
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
             "total_tokens": prompt_tokens + completion_tokens,
             "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
             "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                           "accepted_prediction_tokens": 0,
                                           "rejected_prediction_tokens": 0}}
    identity = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "created": int(time.time()),
                "model": body["model"], "system_fingerprint": FINGERPRINT}
    slow = state.take_fault(SERVICE, "slow_first_byte")
    if not body.get("stream"):
        if slow:
            await asyncio.sleep(slow.seconds)
        return web.json_response(_completion(identity, answer, usage))
    return await _stream(request, identity, answer, usage, body, slow,
                         state.take_fault(SERVICE, "drop"))


def _finish_reason(answer: Answer) -> str:
    return "tool_calls" if answer.tool_calls else "stop"


def _tool_calls_message(answer: Answer) -> list[dict]:
    return [{"id": f"call_{uuid.uuid4().hex[:24]}", "type": "function",
             "function": {"name": c.name, "arguments": arguments_json(c)}} for c in answer.tool_calls]


def _completion(identity: dict, answer: Answer, usage: dict) -> dict:
    message = {"role": "assistant", "content": answer.text or None, "refusal": None,
               "annotations": []}
    if answer.tool_calls:
        message["tool_calls"] = _tool_calls_message(answer)
    return {**identity, "object": "chat.completion", "service_tier": "default",
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": _finish_reason(answer)}],
            "usage": usage}


def _chunk(identity: dict, delta: dict, finish_reason: str | None = None) -> dict:
    return {**identity, "object": "chat.completion.chunk", "service_tier": "default",
            "choices": [{"index": 0, "delta": delta, "logprobs": None,
                         "finish_reason": finish_reason}]}


def _deltas(answer: Answer):
    """The answer as the API streams it: the role, the text a word at a time, then each
    tool call — its id and name first, its arguments a few characters at a time."""
    yield {"role": "assistant", "content": "", "refusal": None}
    for piece in re.findall(r"\S+\s*", answer.text):
        yield {"content": piece}
    for index, call in enumerate(_tool_calls_message(answer)):
        yield {"tool_calls": [{"index": index, "id": call["id"], "type": "function",
                               "function": {"name": call["function"]["name"], "arguments": ""}}]}
        arguments = call["function"]["arguments"]
        for start in range(0, len(arguments), ARGUMENT_PIECE):
            yield {"tool_calls": [{"index": index,
                                   "function": {"arguments": arguments[start:start + ARGUMENT_PIECE]}}]}


async def _stream(request: web.Request, identity: dict, answer: Answer, usage: dict, body: dict,
                  slow, drop) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8",
                                           "Cache-Control": "no-cache"})
    await response.prepare(request)
    if slow:
        await asyncio.sleep(slow.seconds)

    async def event(payload: dict | str) -> None:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        await response.write(f"data: {data}\n\n".encode())

    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    for sent, delta in enumerate(_deltas(answer)):
        if drop and sent >= DROP_AFTER_CHUNKS:
            state_of(request).note(SERVICE, "dropped")
            request.transport.close()
            return response
        chunk = _chunk(identity, delta)
        if include_usage:
            chunk["usage"] = None
        await event(chunk)
    final = _chunk(identity, {}, _finish_reason(answer))
    if include_usage:
        final["usage"] = None
    await event(final)
    if include_usage:
        await event({**identity, "object": "chat.completion.chunk", "service_tier": "default",
                     "choices": [], "usage": usage})
    await event("[DONE]")
    await response.write_eof()
    return response
