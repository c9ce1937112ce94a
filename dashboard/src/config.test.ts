import { describe, expect, it } from "vitest";
import { readConfig } from "./config";

describe("readConfig", () => {
  it("prefers /config.js values over the Vite variables", () => {
    expect(
      readConfig(
        { API_BASE: "https://api.test/prod", WEBSOCKET_URL: "wss://ws.test/prod" },
        { VITE_API_BASE: "http://127.0.0.1:1", VITE_WEBSOCKET_URL: "ws://127.0.0.1:2" },
      ),
    ).toEqual({ apiBase: "https://api.test/prod", websocketUrl: "wss://ws.test/prod" });
  });

  it("falls back to the Vite variables when /config.js leaves the values empty", () => {
    expect(
      readConfig({ API_BASE: "", WEBSOCKET_URL: "  " }, { VITE_API_BASE: "http://127.0.0.1:1", VITE_WEBSOCKET_URL: "ws://127.0.0.1:2" }),
    ).toEqual({ apiBase: "http://127.0.0.1:1", websocketUrl: "ws://127.0.0.1:2" });
  });

  it("reports what is missing as null", () => {
    expect(readConfig({}, {})).toEqual({ apiBase: null, websocketUrl: null });
  });
});
