// The official `openai` npm package against Keyward's /v1 proxy. Driven by
// tests/integration/sdk_clients.rs, which passes the same variables as to conformance/python/test_proxy.py.

import assert from "node:assert/strict";
import { test } from "node:test";

import OpenAI from "openai";

const baseURL = process.env.KW_BASE_URL;
const mockURL = process.env.KW_MOCK_URL;
const messages = [{ role: "user", content: "Say hello through Keyward." }];

function client(tokenVar = "KW_TOKEN", options = {}) {
  return new OpenAI({ apiKey: process.env[tokenVar], baseURL, maxRetries: 0, ...options });
}

async function mock(method, path, body) {
  const response = await fetch(mockURL + path, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(response.ok, `mock ${method} ${path}: ${response.status}`);
}

test("chat completion", async () => {
  const reply = await client().chat.completions.create({ model: "gpt-4o-mini", messages });
  assert.equal(reply.object, "chat.completion");
  assert.ok(reply.choices[0].message.content);
  assert.ok(reply.usage.total_tokens > 0);
});

test("streaming chat arrives before the upstream finishes", async () => {
  // The mock holds the final events until released; the SDK's timeout (10 s) is far below the
  // gate's own (30 s), so the first chunk must come while the gate is shut.
  await mock("PUT", "/__mock/behaviour", { gate_before_last_event: true });
  const chunks = [];
  try {
    const stream = await client("KW_TOKEN", { timeout: 10_000 }).chat.completions.create({
      model: "gpt-4o-mini",
      messages,
      stream: true,
    });
    for await (const chunk of stream) {
      chunks.push(chunk);
      if (chunks.length === 1) {
        assert.equal(chunk.object, "chat.completion.chunk");
        assert.equal(chunk.choices[0].finish_reason, null);
        await mock("POST", "/__mock/release");
      }
    }
  } finally {
    await mock("PUT", "/__mock/behaviour", {});
  }
  assert.equal(chunks.at(-1).choices[0].finish_reason, "stop");
  assert.ok(chunks.map((c) => c.choices[0].delta.content ?? "").join(""));
  // No usage chunk for an app that did not ask for one.
  assert.ok(chunks.every((c) => c.choices.length > 0 && c.usage == null));
});

test("embeddings (the SDK asks for base64 and decodes it)", async () => {
  const reply = await client().embeddings.create({
    model: "text-embedding-3-small",
    input: ["one", "two"],
  });
  assert.equal(reply.data.length, 2);
  assert.equal(reply.data[0].embedding.length, 8);
});

test("models list shows the allowed models", async () => {
  const ids = [];
  for await (const model of client().models.list()) ids.push(model.id);
  assert.deepEqual(ids, ["gpt-4o-mini", "text-embedding-3-small"]);
});

for (const tokenVar of ["KW_REVOKED_TOKEN", "KW_UNKNOWN_TOKEN"]) {
  test(`${tokenVar} raises AuthenticationError`, async () => {
    await assert.rejects(
      client(tokenVar).chat.completions.create({ model: "gpt-4o-mini", messages }),
      (e) => e instanceof OpenAI.AuthenticationError && e.code === "invalid_api_key",
    );
  });
}

test("a model outside the grant raises PermissionDeniedError", async () => {
  await assert.rejects(
    client().chat.completions.create({ model: "gpt-4o", messages }),
    (e) => e instanceof OpenAI.PermissionDeniedError && e.code === "model_not_allowed",
  );
});

test("a spent budget raises RateLimitError", async () => {
  await assert.rejects(
    client("KW_BROKE_TOKEN").chat.completions.create({ model: "gpt-4o-mini", messages }),
    (e) => e instanceof OpenAI.RateLimitError && e.code === "insufficient_quota",
  );
});
