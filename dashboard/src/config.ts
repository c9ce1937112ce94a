declare global {
  interface Window {
    /** Set by /config.js, which the deployment writes: the REST API's base URL (stage included). */
    API_BASE?: string;
    /** Set by /config.js: the WebSocket API's wss:// URL. */
    WEBSOCKET_URL?: string;
    /** Set by /config.js when the deployment has sign-in: the user pool's OIDC settings. */
    AUTH?: Partial<AuthConfig>;
  }
}

/** The user pool the dashboard signs in with (authorization code + PKCE). */
export interface AuthConfig {
  /** The issuer: https://cognito-idp.<region>.amazonaws.com/<pool id> (discovery, keys). */
  authority: string;
  clientId: string;
  /** The OAuth2 domain: https://<prefix>.auth.<region>.amazoncognito.com (sign-in, sign-out). */
  domain: string;
  scope: string;
}

export interface AppConfig {
  /** null when neither /config.js nor VITE_API_BASE gives one: the app shows how to configure it. */
  apiBase: string | null;
  /** null without a WebSocket URL: the app then keeps itself current by polling. */
  websocketUrl: string | null;
  /** null when the deployment has no sign-in. */
  auth: AuthConfig | null;
}

interface ConfigSources {
  API_BASE?: string | undefined;
  WEBSOCKET_URL?: string | undefined;
  AUTH?: Partial<AuthConfig> | undefined;
}

interface EnvSources {
  VITE_API_BASE?: string | undefined;
  VITE_WEBSOCKET_URL?: string | undefined;
}

/** Runtime values from /config.js win; the Vite variables serve `npm run dev`. */
export function readConfig(
  runtime: ConfigSources = window,
  env: EnvSources = import.meta.env as EnvSources,
): AppConfig {
  return {
    apiBase: firstNonEmpty(runtime.API_BASE, env.VITE_API_BASE),
    websocketUrl: firstNonEmpty(runtime.WEBSOCKET_URL, env.VITE_WEBSOCKET_URL),
    auth: readAuth(runtime.AUTH),
  };
}

function readAuth(auth: Partial<AuthConfig> | undefined): AuthConfig | null {
  const authority = firstNonEmpty(auth?.authority);
  const clientId = firstNonEmpty(auth?.clientId);
  const domain = firstNonEmpty(auth?.domain);
  if (!authority || !clientId || !domain) return null;
  return { authority, clientId, domain, scope: firstNonEmpty(auth?.scope) ?? "openid" };
}

function firstNonEmpty(...values: (string | undefined)[]): string | null {
  for (const value of values) {
    const trimmed = value?.trim();
    if (trimmed) return trimmed;
  }
  return null;
}
