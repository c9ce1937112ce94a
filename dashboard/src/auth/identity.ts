/** Who is signed in and what they may do, read from the access token's claims.
 *  The API decides for itself (engine/auth.py); this only keeps the dashboard from offering
 *  actions that would be refused. People's rights come from their Cognito groups. */

export type Role = "operator" | "viewer" | "none";

export interface Identity {
  /** null when the deployment has no sign-in (auth.mode = "none"). */
  username: string | null;
  role: Role;
  canOperate: boolean;
}

/** Without sign-in (auth.mode = "none") everyone may do everything. */
export const NO_SIGN_IN: Identity = { username: null, role: "operator", canOperate: true };

/** Why a viewer's action buttons are disabled (their tooltip). */
export const VIEWER_REASON = "Viewers can see workflows but not change them: ask an operator.";

export function decodeClaims(token: string): Record<string, unknown> {
  const payload = token.split(".")[1];
  if (!payload) return {};
  try {
    const text = atob(payload.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(payload.length / 4) * 4, "="));
    const claims: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(text, (c) => c.charCodeAt(0))));
    return typeof claims === "object" && claims !== null ? (claims as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function identityFromAccessToken(token: string, fallbackName?: string): Identity {
  const claims = decodeClaims(token);
  const groups = Array.isArray(claims["cognito:groups"]) ? claims["cognito:groups"].map(String) : [];
  const role: Role = groups.includes("operators") ? "operator" : groups.includes("viewers") ? "viewer" : "none";
  const username = typeof claims.username === "string" ? claims.username : (fallbackName ?? "unknown user");
  return { username, role, canOperate: role === "operator" };
}
