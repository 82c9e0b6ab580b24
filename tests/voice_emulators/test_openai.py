"""The OpenAI emulator through the `openai` package: chat.completion(.chunk) shapes,
tool-call deltas, finish reasons, usage, errors and retries."""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.adapters.llm.services.open_ai_adapter import OpenAILLMAdapter

from botruntime.tools import SCHEMAS
from tests.voice_emulators.conftest import KEY

SYSTEM = ("You are a friendly, concise sales assistant calling on behalf of Summer Offers. "
          "Introduce the offer.")


def tools() -> list[dict]:
    """The call tools exactly as Pipecat sends them."""
    return OpenAILLMAdapter().to_provider_tools_format(ToolsSchema(standard_tools=SCHEMAS))


def client(voices, key: str = KEY, **options) -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=f"{voices.base_url}/v1", **options)


def conversation(*caller_lines: str) -> list[dict]:
    messages = [{"role": "system", "content": SYSTEM},
                {"role": "assistant", "content": "Hello Dana, this is an automated assistant."}]
    messages += [{"role": "user", "content": line} for line in caller_lines]
    return messages


def test_a_stream_says_the_reply_a_word_at_a_time_then_calls_the_tool_in_pieces(voices):
    chunks = list(client(voices).chat.completions.create(
        model="gpt-4o-mini", messages=conversation("Please do not call me again."), tools=tools(),
        stream=True, stream_options={"include_usage": True}))

    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "I am sorry to have bothered you. I will remove your number from our list."
    pieces = [call for c in chunks if c.choices for call in (c.choices[0].delta.tool_calls or [])]
    assert pieces[0].id.startswith("call_") and pieces[0].function.name == "set_outcome"
    assert all(p.id is None and p.function.name is None for p in pieces[1:])
    assert len(pieces) > 2  # the arguments arrive split, as the API streams them
    arguments = json.loads("".join(p.function.arguments for p in pieces))
    assert arguments == {"disposition": "do_not_call", "notes": "Asked not to be called again."}
    finishing = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert [c.choices[0].finish_reason for c in finishing] == ["tool_calls"]
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0


def test_after_the_tool_result_it_says_goodbye_and_ends_the_call(voices):
    messages = conversation("Please do not call me again.")
    messages += [
        {"role": "assistant", "content": "I am sorry.", "tool_calls": [{
            "id": "call_1", "type": "function",
            "function": {"name": "set_outcome", "arguments": '{"disposition": "do_not_call"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"ok": true}'},
    ]
    answer = client(voices).chat.completions.create(model="gpt-4o-mini", messages=messages,
                                                    tools=tools())

    choice = answer.choices[0]
    assert answer.object == "chat.completion" and choice.finish_reason == "tool_calls"
    assert choice.message.content == "Goodbye."
    assert [c.function.name for c in choice.message.tool_calls] == ["end_call"]


def test_the_callback_rule_passes_the_callers_own_words(voices):
    answer = client(voices).chat.completions.create(
        model="gpt-4o-mini", messages=conversation("I am busy, call me back tomorrow at ten."),
        tools=tools())

    call = answer.choices[0].message.tool_calls[0]
    assert call.function.name == "schedule_callback"
    assert json.loads(call.function.arguments)["when"] == "I am busy, call me back tomorrow at ten."


def test_a_tool_not_offered_is_never_called(voices):
    answer = client(voices).chat.completions.create(
        model="gpt-4o-mini", messages=conversation("No thanks, I am not interested."))

    assert answer.choices[0].finish_reason == "stop"
    assert answer.choices[0].message.tool_calls is None
    assert answer.choices[0].message.content == "I understand. Thank you for letting me know."


def test_the_system_prompt_is_read_for_the_campaign_name(voices):
    answer = client(voices).chat.completions.create(
        model="gpt-4o-mini", messages=conversation("Who is this?"), tools=tools())

    assert "on behalf of Summer Offers" in answer.choices[0].message.content


def test_the_summary_request_gets_a_summary_of_what_it_was_given(voices):
    answer = client(voices).chat.completions.create(model="gpt-4o-mini", messages=[
        {"role": "system", "content": "Summarise this phone call for a sales team."},
        {"role": "user", "content": "Outcome: interested\n\nbot: Hello\ncaller: Yes please"},
    ])

    assert answer.choices[0].message.content == (
        "Call summary: Outcome: interested; bot: Hello; caller: Yes please")
    assert answer.usage.prompt_tokens > 0 and answer.usage.completion_tokens > 0


def test_a_wrong_key_is_refused_as_invalid_api_key(voices):
    with pytest.raises(openai.AuthenticationError) as refused:
        client(voices, key="sk-wrong-key-1234").chat.completions.create(
            model="gpt-4o-mini", messages=conversation("Hello"))

    assert refused.value.status_code == 401
    assert refused.value.code == "invalid_api_key"
    assert refused.value.body["type"] == "invalid_request_error"


def test_a_429_is_retried_after_retry_after_and_then_answered(voices):
    voices.inject("openai", "rate_limit", retry_after=1)

    answer = client(voices, max_retries=2).chat.completions.create(
        model="gpt-4o-mini", messages=conversation("Yes, tell me more."))

    assert answer.choices[0].message.content.startswith("Wonderful")
    assert [e["status"] for e in voices.log("openai", "rejected")][-1:] == [429]


def test_without_retries_the_429_reaches_the_caller_with_its_code(voices):
    voices.inject("openai", "rate_limit", retry_after=7)

    with pytest.raises(openai.RateLimitError) as limited:
        client(voices, max_retries=0).chat.completions.create(
            model="gpt-4o-mini", messages=conversation("Hello"))

    assert limited.value.code == "rate_limit_exceeded"
    assert limited.value.response.headers["retry-after"] == "7"


def test_a_dropped_stream_ends_without_a_finish_reason(voices):
    voices.inject("openai", "drop")

    with pytest.raises((httpx.RemoteProtocolError, openai.APIConnectionError)):
        list(client(voices, max_retries=0).chat.completions.create(
            model="gpt-4o-mini", messages=conversation("Yes, tell me more."), stream=True))


def test_a_request_without_a_model_is_a_400(voices):
    response = httpx.post(f"{voices.base_url}/v1/chat/completions",
                          headers={"Authorization": f"Bearer {KEY}"},
                          json={"messages": conversation("Hello")})

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "you must provide a model parameter"
