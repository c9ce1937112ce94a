declare global {
  interface Window {
    /** Set by /config.js, which the deployment writes: the REST API's base URL (stage included). */
    API_BASE?: string;
    /** Set by /config.js: the WebSocket API's wss:// URL. */
    WEBSOCKET_URL?: string;
  }
}

export interface AppConfig {
  /** null when neither /config.js nor VITE_API_BASE gives one: the app shows how to configure it. */
  apiBase: string | null;
  /** null without a WebSocket URL: the app then keeps itself current by polling. */
  websocketUrl: string | null;
}

interface ConfigSources {
  API_BASE?: string | undefined;
  WEBSOCKET_URL?: string | undefined;
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
  };
}

function firstNonEmpty(...values: (string | undefined)[]): string | null {
  for (const value of values) {
    const trimmed = value?.trim();
    if (trimmed) return trimmed;
  }
  return null;
}
