import { describe, expect, it } from "vitest";
import { readSse, SseParser } from "./sse";

describe("SseParser", () => {
  it("parses events split at any chunk boundary", () => {
    const text = 'id: 1\nevent: run.started\ndata: {"a":1}\n\nid: 2\nevent: message.delta\ndata: {"delta":"hi"}\n\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const parser = new SseParser();
      const events = [...parser.feed(text.slice(0, cut)), ...parser.feed(text.slice(cut))];
      expect(events).toEqual([
        { id: "1", event: "run.started", data: '{"a":1}' },
        { id: "2", event: "message.delta", data: '{"delta":"hi"}' },
      ]);
    }
  });

  it("feeds one character at a time", () => {
    const parser = new SseParser();
    const events = [..."data: x\n\ndata: y\n\n"].flatMap((ch) => parser.feed(ch));
    expect(events.map((e) => e.data)).toEqual(["x", "y"]);
  });

  it("joins multi-line data with newlines", () => {
    const parser = new SseParser();
    expect(parser.feed("data: line one\ndata: line two\ndata:\n\n")).toEqual([
      { id: "", event: "message", data: "line one\nline two\n" },
    ]);
  });

  it("handles CRLF and a CR/LF pair split across chunks", () => {
    const parser = new SseParser();
    const events = [
      ...parser.feed("id: 7\r"),
      ...parser.feed("\ndata: a\r"),
      ...parser.feed("\n\r"),
      ...parser.feed("\n"),
    ];
    expect(events).toEqual([{ id: "7", event: "message", data: "a" }]);
  });

  it("keeps the last id for events without one, ignores comments and unknown fields", () => {
    const parser = new SseParser();
    const events = parser.feed(": keep-alive\nid: 3\ndata: a\n\nretry: 100\nfoo: bar\ndata: b\n\n");
    expect(events).toEqual([
      { id: "3", event: "message", data: "a" },
      { id: "3", event: "message", data: "b" },
    ]);
  });

  it("strips only one leading space and ignores blank events", () => {
    const parser = new SseParser();
    expect(parser.feed("data:  two spaces\n\n\n\nevent: x\n\n")).toEqual([
      { id: "", event: "message", data: " two spaces" },
    ]);
  });

  it("drops an event the stream cut off before its blank line", async () => {
    const encoder = new TextEncoder();
    const chunks = ["id: 1\nda", "ta: {\"x\":\"é", "\"}\n\nid: 2\ndata: partial"];
    // Split a multi-byte character across chunks too.
    const bytes = chunks.map((c) => encoder.encode(c));
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const b of bytes) controller.enqueue(b);
        controller.close();
      },
    });
    const out = [];
    for await (const event of readSse(body)) out.push(event);
    expect(out).toEqual([{ id: "1", event: "message", data: '{"x":"é"}' }]);
  });
});
