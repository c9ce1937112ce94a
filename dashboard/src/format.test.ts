import { describe, expect, it } from "vitest";
import { elapsedMs, formatDateTime, formatDuration, formatJson } from "./format";

describe("formatDuration", () => {
  it.each([
    [null, "—"],
    [-5, "—"],
    [0, "0 ms"],
    [850, "850 ms"],
    [4200, "4.2 s"],
    [42_000, "42 s"],
    [185_000, "3 m 05 s"],
    [3_720_000, "1 h 02 m"],
  ])("formats %s ms as %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe("elapsedMs", () => {
  it("prefers the API's duration", () => {
    expect(elapsedMs("2026-01-01T00:00:00.000Z", null, 1234, Date.parse("2026-01-01T01:00:00.000Z"))).toBe(1234);
  });
  it("measures a running span up to now", () => {
    expect(elapsedMs("2026-01-01T00:00:00.000Z", null, null, Date.parse("2026-01-01T00:00:02.500Z"))).toBe(2500);
  });
  it("is null before the start", () => {
    expect(elapsedMs(null, null, null, 0)).toBeNull();
  });
});

describe("formatDateTime and formatJson", () => {
  it("shows a dash for absent or unreadable times", () => {
    expect(formatDateTime(null)).toBe("—");
    expect(formatDateTime("not a time")).toBe("—");
    expect(formatDateTime("2026-01-01T00:00:00.000Z")).not.toBe("—");
  });
  it("pretty-prints objects and leaves strings alone", () => {
    expect(formatJson({ a: 1 })).toBe('{\n  "a": 1\n}');
    expect(formatJson("plain")).toBe("plain");
  });
});
