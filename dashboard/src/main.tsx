import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App, MissingConfig } from "./App";
import { createApiClient } from "./api/client";
import { SignedIn } from "./auth/SignedIn";
import { readConfig } from "./config";
import "./styles.css";

const config = readConfig();
const root = createRoot(document.getElementById("root") as HTMLElement);

/** The WebSocket URL with the access token: browsers cannot set headers on a WebSocket. */
function withToken(url: string | null, token: string): string | null {
  if (!url) return null;
  return `${url}${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
}

function Root() {
  const { apiBase, websocketUrl, auth } = config;
  if (!apiBase) return <MissingConfig />;
  if (!auth) return <App api={createApiClient(apiBase)} websocketUrl={websocketUrl} />;
  return (
    <SignedIn auth={auth}>
      {(accessToken, token) => (
        <App api={apiClient(apiBase, accessToken)} websocketUrl={withToken(websocketUrl, token)} />
      )}
    </SignedIn>
  );
}

// One client for the app's lifetime: it reads the current token on every request.
let client: ReturnType<typeof createApiClient> | null = null;
function apiClient(base: string, accessToken: () => string | null) {
  client ??= createApiClient(base, undefined, accessToken);
  return client;
}

root.render(
  <StrictMode>
    <Root />
  </StrictMode>,
);
