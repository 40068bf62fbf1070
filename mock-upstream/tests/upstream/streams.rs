//! Streaming: chunk shapes, include_usage, pacing, the gate and resets.

use std::time::{Duration, Instant};

use keyward_mock_upstream::{Behaviour, MockUpstream};
use serde_json::{Value, json};

use crate::support::{SseReader, post};

fn chat_request(include_usage: Option<bool>) -> Value {
    let mut request = json!({
        "model": "gpt-4o-mini",
        "stream": true,
        // 24 characters: 24 / 4 + 7 = 13 prompt tokens.
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Say hello, now."}]},
        ],
    });
    if let Some(include_usage) = include_usage {
        request["stream_options"] = json!({ "include_usage": include_usage });
    }
    request
}

async fn chat_stream(mock: &MockUpstream, include_usage: Option<bool>) -> SseReader {
    let response = post(mock, "chat/completions", chat_request(include_usage)).await;
    assert_eq!(response.status(), 200);
    SseReader::new(response)
}

#[tokio::test]
async fn chat_stream_with_include_usage_marks_every_chunk_and_ends_with_usage() {
    let mock = MockUpstream::start().await;
    mock.set_behaviour(Behaviour {
        chunks: Some(3),
        ..Behaviour::default()
    });
    let frames = chat_stream(&mock, Some(true)).await.rest().await;

    // role, 3 contents, finish, usage, [DONE]
    assert_eq!(frames.len(), 7, "{frames:#?}");
    assert_eq!(frames[6].data, "[DONE]");
    let chunks: Vec<Value> = frames[..6].iter().map(|f| f.json()).collect();
    for chunk in &chunks {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["model"], "gpt-4o-mini");
        assert_eq!(chunk["id"], chunks[0]["id"]);
        assert!(chunk["id"].as_str().unwrap().starts_with("chatcmpl-"));
    }
    assert_eq!(
        chunks[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": "", "refusal": null})
    );
    let text: String = chunks[1..4]
        .iter()
        .map(|c| c["choices"][0]["delta"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(text, "Hello from the");
    assert_eq!(chunks[4]["choices"][0]["delta"], json!({}));
    assert_eq!(chunks[4]["choices"][0]["finish_reason"], "stop");
    for chunk in &chunks[..5] {
        assert_eq!(chunk.get("usage"), Some(&Value::Null), "{chunk}");
    }
    assert_eq!(chunks[5]["choices"], json!([]));
    let usage = &chunks[5]["usage"];
    assert_eq!(usage["prompt_tokens"], 13);
    assert_eq!(usage["completion_tokens"], 3);
    assert_eq!(usage["total_tokens"], 16);
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 0);
    assert_eq!(usage["completion_tokens_details"]["reasoning_tokens"], 0);
}

#[tokio::test]
async fn chat_stream_without_include_usage_has_no_usage_at_all() {
    let mock = MockUpstream::start().await;
    for include_usage in [None, Some(false)] {
        let frames = chat_stream(&mock, include_usage).await.rest().await;
        assert_eq!(
            frames.len(),
            8 + 3,
            "default 8 chunks + role, finish, [DONE]"
        );
        assert_eq!(frames.last().unwrap().data, "[DONE]");
        for frame in &frames[..frames.len() - 1] {
            let chunk = frame.json();
            assert!(chunk.get("usage").is_none(), "{chunk}");
            assert_eq!(chunk["choices"].as_array().unwrap().len(), 1);
        }
    }
}

#[tokio::test]
async fn events_arrive_spaced_by_the_event_delay() {
    let mock = MockUpstream::start().await;
    mock.set_behaviour(Behaviour {
        chunks: Some(2),
        event_delay_ms: 60,
        ..Behaviour::default()
    });
    let started = Instant::now();
    let mut reader = chat_stream(&mock, None).await;
    let mut arrivals = Vec::new();
    while reader.next().await.unwrap().is_some() {
        arrivals.push(started.elapsed());
    }
    assert_eq!(arrivals.len(), 5, "role, 2 contents, finish, [DONE]");
    for (index, arrival) in arrivals.iter().enumerate() {
        assert!(
            *arrival >= Duration::from_millis(60) * index as u32,
            "{arrivals:?}"
        );
    }
    // The first event was delivered on its own, long before the last one was sent.
    assert!(
        arrivals[4] - arrivals[0] >= Duration::from_millis(150),
        "{arrivals:?}"
    );
}

#[tokio::test]
async fn the_gate_holds_the_final_events_until_released() {
    let mock = MockUpstream::start().await;
    mock.set_behaviour(Behaviour {
        chunks: Some(2),
        gate_before_last_event: true,
        ..Behaviour::default()
    });
    let mut reader = chat_stream(&mock, Some(true)).await;
    for _ in 0..3 {
        let chunk = reader.next().await.unwrap().unwrap().json();
        assert!(chunk["choices"][0]["finish_reason"].is_null());
    }
    let held = tokio::time::timeout(Duration::from_millis(150), reader.next()).await;
    assert!(held.is_err(), "the finish chunk must wait at the gate");

    mock.release_gate();
    let tail = reader.rest().await;
    assert_eq!(tail.len(), 3, "finish, usage, [DONE]");
    assert_eq!(tail[0].json()["choices"][0]["finish_reason"], "stop");
    assert_eq!(tail[1].json()["usage"]["completion_tokens"], 2);
    assert_eq!(tail[2].data, "[DONE]");
}

#[tokio::test]
async fn a_release_before_the_request_does_not_open_its_gate() {
    let mock = MockUpstream::start().await;
    mock.set_behaviour(Behaviour {
        chunks: Some(1),
        gate_before_last_event: true,
        ..Behaviour::default()
    });
    mock.release_gate();
    let mut reader = chat_stream(&mock, None).await;
    reader.next().await.unwrap().unwrap();
    reader.next().await.unwrap().unwrap();
    let held = tokio::time::timeout(Duration::from_millis(100), reader.next()).await;
    assert!(held.is_err());
    mock.release_gate();
    assert_eq!(reader.rest().await.len(), 2, "finish, [DONE]");
}

#[tokio::test]
async fn a_reset_breaks_the_stream_and_the_json_body() {
    let mock = MockUpstream::start().await;
    mock.set_behaviour(Behaviour {
        reset_after_events: Some(2),
        ..Behaviour::default()
    });
    let mut reader = chat_stream(&mock, None).await;
    assert!(reader.next().await.unwrap().is_some());
    assert!(reader.next().await.unwrap().is_some());
    assert!(
        reader.next().await.is_err(),
        "the client must see the reset"
    );

    let request = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]});
    let response = post(&mock, "chat/completions", request).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.bytes().await.is_err(),
        "the JSON body must break off"
    );
}

#[tokio::test]
async fn legacy_completions_stream_text_chunks() {
    let mock = MockUpstream::start().await;
    mock.set_behaviour(Behaviour {
        chunks: Some(2),
        ..Behaviour::default()
    });
    let request = json!({
        "model": "gpt-3.5-turbo-instruct",
        "prompt": "Say hello",
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    let response = post(&mock, "completions", request).await;
    let frames = SseReader::new(response).rest().await;
    assert_eq!(frames.len(), 5, "2 texts, finish, usage, [DONE]");
    let chunks: Vec<Value> = frames[..4].iter().map(|f| f.json()).collect();
    assert_eq!(chunks[0]["object"], "text_completion");
    assert_eq!(chunks[0]["choices"][0]["text"], "Hello");
    assert_eq!(chunks[2]["choices"][0]["finish_reason"], "stop");
    assert!(chunks[2]["usage"].is_null());
    assert_eq!(chunks[3]["choices"], json!([]));
    assert_eq!(chunks[3]["usage"]["prompt_tokens"], 9);
    assert_eq!(frames[4].data, "[DONE]");
}

#[tokio::test]
async fn responses_stream_sends_typed_events_ending_in_completed() {
    let mock = MockUpstream::start().await;
    mock.set_behaviour(Behaviour {
        chunks: Some(2),
        gate_before_last_event: true,
        ..Behaviour::default()
    });
    let request = json!({"model": "gpt-4.1", "input": "Say hello", "stream": true});
    let mut reader = SseReader::new(post(&mock, "responses", request).await);
    let mut frames = Vec::new();
    for _ in 0..6 {
        frames.push(reader.next().await.unwrap().unwrap());
    }
    mock.release_gate();
    frames.extend(reader.rest().await);

    let names: Vec<&str> = frames.iter().map(|f| f.event.as_deref().unwrap()).collect();
    assert_eq!(
        names,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    let events: Vec<Value> = frames.iter().map(|f| f.json()).collect();
    for (index, event) in events.iter().enumerate() {
        assert_eq!(event["type"], names[index]);
        assert_eq!(event["sequence_number"], index);
    }
    let delta = &events[4];
    assert_eq!(delta["delta"], "Hello");
    assert_eq!(delta["output_index"], 0);
    assert_eq!(delta["content_index"], 0);
    assert!(delta["item_id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(events[6]["text"], "Hello from");
    let completed = &events[9]["response"];
    assert_eq!(completed["status"], "completed");
    assert_eq!(completed["output"][0]["content"][0]["text"], "Hello from");
    assert_eq!(completed["usage"]["input_tokens"], 9);
    assert_eq!(completed["usage"]["output_tokens"], 2);
    assert_eq!(
        completed["usage"]["input_tokens_details"]["cached_tokens"],
        0
    );
    assert_eq!(
        completed["usage"]["output_tokens_details"]["reasoning_tokens"],
        0
    );
    assert!(events[0]["response"]["usage"].is_null());
}
