import { describe, expect, it } from "vitest";
import { readConfig } from "./config";

describe("readConfig", () => {
  it("prefers /config.js values over the Vite variables", () => {
    expect(
      readConfig(
        { API_BASE: "https://api.test/prod", WEBSOCKET_URL: "wss://ws.test/prod" },
        { VITE_API_BASE: "http://127.0.0.1:1", VITE_WEBSOCKET_URL: "ws://127.0.0.1:2" },
      ),
    ).toEqual({ apiBase: "https://api.test/prod", websocketUrl: "wss://ws.test/prod", auth: null });
  });

  it("falls back to the Vite variables when /config.js leaves the values empty", () => {
    expect(
      readConfig({ API_BASE: "", WEBSOCKET_URL: "  " }, { VITE_API_BASE: "http://127.0.0.1:1", VITE_WEBSOCKET_URL: "ws://127.0.0.1:2" }),
    ).toEqual({ apiBase: "http://127.0.0.1:1", websocketUrl: "ws://127.0.0.1:2", auth: null });
  });

  it("reports what is missing as null", () => {
    expect(readConfig({}, {})).toEqual({ apiBase: null, websocketUrl: null, auth: null });
  });

  it("reads the sign-in settings, and ignores incomplete ones", () => {
    const auth = {
      authority: "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_abc",
      clientId: "client",
      domain: "https://orchestra.auth.eu-central-1.amazoncognito.com",
      scope: "openid orchestra/read",
    };
    expect(readConfig({ API_BASE: "https://api.test/prod", AUTH: auth }, {}).auth).toEqual(auth);
    expect(readConfig({ API_BASE: "https://api.test/prod", AUTH: { ...auth, clientId: "" } }, {}).auth).toBeNull();
  });
});
