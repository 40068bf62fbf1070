"""The official `openai` Python package against Keyward's /v1 proxy.

Driven by tests/integration/sdk_clients.rs, which starts Keyward with the mock upstream and passes:
KW_BASE_URL (Keyward's /v1), KW_MOCK_URL (the mock's root, for its /__mock control API),
KW_TOKEN (chat, embeddings and models; models limited to gpt-4o-mini and
text-embedding-3-small), KW_REVOKED_TOKEN, KW_UNKNOWN_TOKEN and KW_BROKE_TOKEN (budget spent).
"""

import json
import os
import urllib.request

import openai
import pytest

BASE_URL = os.environ["KW_BASE_URL"]
MOCK_URL = os.environ["KW_MOCK_URL"]


def client(token_var="KW_TOKEN", **options):
    return openai.OpenAI(api_key=os.environ[token_var], base_url=BASE_URL, max_retries=0, **options)


def mock(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        MOCK_URL + path, data=data, method=method, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()


MESSAGES = [{"role": "user", "content": "Say hello through Keyward."}]


def test_chat_completion():
    reply = client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert reply.object == "chat.completion"
    assert reply.choices[0].message.content
    assert reply.usage.total_tokens > 0


def test_streaming_chat_arrives_before_the_upstream_finishes():
    # The mock holds the final events until released; the SDK's read timeout (10 s) is far
    # below the gate's own timeout (30 s), so the first chunk must come while the gate is shut.
    mock("PUT", "/__mock/behaviour", {"gate_before_last_event": True})
    try:
        stream = client(timeout=10).chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True
        )
        chunks = iter(stream)
        first = next(chunks)
        assert first.object == "chat.completion.chunk"
        assert first.choices[0].finish_reason is None
        mock("POST", "/__mock/release")
        rest = list(chunks)
    finally:
        mock("PUT", "/__mock/behaviour", {})
    everything = [first, *rest]
    assert rest[-1].choices[0].finish_reason == "stop"
    text = "".join(c.choices[0].delta.content or "" for c in everything)
    assert text
    # The app did not ask for usage, so it gets no usage chunk (Keyward asked, for metering).
    assert all(c.choices and c.usage is None for c in everything)


def test_streaming_chat_with_usage_when_asked():
    stream = client().chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens > 0


def test_embeddings():
    reply = client().embeddings.create(model="text-embedding-3-small", input=["one", "two"])
    assert len(reply.data) == 2
    assert len(reply.data[0].embedding) == 8
    assert reply.usage.prompt_tokens > 0


def test_models_list_shows_the_allowed_models():
    ids = [m.id for m in client().models.list()]
    assert ids == ["gpt-4o-mini", "text-embedding-3-small"]


@pytest.mark.parametrize("token_var", ["KW_REVOKED_TOKEN", "KW_UNKNOWN_TOKEN"])
def test_revoked_or_unknown_tokens_raise_authentication_error(token_var):
    with pytest.raises(openai.AuthenticationError) as caught:
        client(token_var).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert caught.value.code == "invalid_api_key"
    assert os.environ[token_var] not in str(caught.value)


def test_a_model_outside_the_grant_raises_permission_denied():
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client().chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert caught.value.code == "model_not_allowed"


def test_a_spent_budget_raises_rate_limit_error():
    with pytest.raises(openai.RateLimitError) as caught:
        client("KW_BROKE_TOKEN").chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert caught.value.code == "insufficient_quota"
    assert caught.value.response.headers["retry-after"]
