import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App, MissingConfig } from "./App";
import { createApiClient } from "./api/client";
import { readConfig } from "./config";
import "./styles.css";

const config = readConfig();
const root = createRoot(document.getElementById("root") as HTMLElement);
root.render(
  <StrictMode>
    {config.apiBase ? (
      <App api={createApiClient(config.apiBase)} websocketUrl={config.websocketUrl} />
    ) : (
      <MissingConfig />
    )}
  </StrictMode>,
);
