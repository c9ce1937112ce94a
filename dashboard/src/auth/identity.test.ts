import { describe, expect, it } from "vitest";
import { identityFromAccessToken } from "./identity";
import { logoutUrl, oidcSettings } from "./SignedIn";

const part = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

function token(claims: Record<string, unknown>): string {
  return `${part({ alg: "RS256", kid: "k" })}.${part(claims)}.signature`;
}

const AUTH = {
  authority: "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_abc",
  clientId: "dashboard-client",
  domain: "https://orchestra.auth.eu-central-1.amazoncognito.com/",
  scope: "openid email profile orchestra/read",
};

describe("identityFromAccessToken", () => {
  it("makes an operator of the operators group", () => {
    expect(identityFromAccessToken(token({ username: "ana@example.com", "cognito:groups": ["operators"] }))).toEqual({
      username: "ana@example.com",
      role: "operator",
      canOperate: true,
    });
  });

  it("lets a viewer read only, and a user in no group do nothing", () => {
    expect(identityFromAccessToken(token({ username: "vic", "cognito:groups": ["viewers"] })).canOperate).toBe(false);
    expect(identityFromAccessToken(token({ username: "nobody" }))).toMatchObject({ role: "none", canOperate: false });
  });

  it("never trusts a scope to make an operator (the API does not either)", () => {
    const claims = { username: "vic", "cognito:groups": ["viewers"], scope: "orchestra/operate" };
    expect(identityFromAccessToken(token(claims)).canOperate).toBe(false);
  });

  it("survives a token it cannot read", () => {
    expect(identityFromAccessToken("garbage", "someone")).toEqual({ username: "someone", role: "none", canOperate: false });
  });
});

describe("the OIDC client's settings", () => {
  it("uses the authorization code flow with the origin's root as the callback", () => {
    const settings = oidcSettings(AUTH, "https://d123.cloudfront.net");
    expect(settings).toMatchObject({
      authority: AUTH.authority,
      client_id: "dashboard-client",
      redirect_uri: "https://d123.cloudfront.net/",
      response_type: "code",
      automaticSilentRenew: true,
    });
  });

  it("signs out on Cognito's logout page, back to the dashboard", () => {
    expect(logoutUrl(AUTH, "https://d123.cloudfront.net")).toBe(
      "https://orchestra.auth.eu-central-1.amazoncognito.com/logout?client_id=dashboard-client&logout_uri=https%3A%2F%2Fd123.cloudfront.net%2F",
    );
  });
});
