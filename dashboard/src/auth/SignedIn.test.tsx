import { render, screen } from "@testing-library/react";
import { User } from "oidc-client-ts";
import { afterEach, describe, expect, it } from "vitest";
import type { AuthConfig } from "../config";
import { SignedIn } from "./SignedIn";

const AUTH: AuthConfig = {
  authority: "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_Test",
  clientId: "dashboard-client",
  domain: "https://orchestra-test.auth.eu-central-1.amazoncognito.com",
  scope: "openid email profile orchestra/read",
};

const part = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

/** A signed-in session as oidc-client-ts keeps it in sessionStorage, its access token valid for
 *  `seconds` more, and no refresh token: the next renewal fails, as it does once the refresh token
 *  has expired or was revoked. */
async function storeSession(seconds: number): Promise<void> {
  const accessToken = [
    part({ alg: "RS256" }),
    part({ username: "viewer@example.com", "cognito:groups": ["viewers"], token_use: "access" }),
    "c2ln",
  ].join(".");
  const user = new User({
    access_token: accessToken,
    token_type: "Bearer",
    profile: { sub: "7c1d", iss: AUTH.authority, aud: AUTH.clientId, exp: 0, iat: 0 },
    expires_at: Math.floor(Date.now() / 1000) + seconds,
  });
  window.sessionStorage.setItem(`oidc.user:${AUTH.authority}:${AUTH.clientId}`, user.toStorageString());
}

afterEach(() => window.sessionStorage.clear());

describe("SignedIn", () => {
  it("shows the app while the access token is valid", async () => {
    await storeSession(3600);
    render(<SignedIn auth={AUTH}>{() => <p data-testid="app">the app</p>}</SignedIn>);
    expect(await screen.findByTestId("app")).toBeInTheDocument();
  });

  it("goes back to signing in when the token expires and could not be renewed", async () => {
    await storeSession(2);
    render(<SignedIn auth={AUTH}>{() => <p data-testid="app">the app</p>}</SignedIn>);
    expect(await screen.findByTestId("app")).toBeInTheDocument();
    // Not an app that keeps sending an expired token (every request a 401) until someone reloads.
    expect(await screen.findByTestId("sign-in", {}, { timeout: 8000 })).toBeInTheDocument();
    expect(screen.queryByTestId("app")).not.toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Sign in" })).toBeEnabled();
    expect(window.sessionStorage.getItem(`oidc.user:${AUTH.authority}:${AUTH.clientId}`)).toBeNull();
  }, 15_000);
});
