import { lazy, Suspense } from "react";
import { ApiProvider } from "./api/ApiContext";
import { UserMenu } from "./auth/UserMenu";
import type { ApiClient } from "./api/client";
import { ConnectionIndicator } from "./components/ConnectionIndicator";
import { WorkflowListPage } from "./components/WorkflowListPage";
import { EmptyState, LoadingState } from "./components/states";
import { LiveUpdatesProvider, useLiveUpdates } from "./live/LiveUpdates";
import type { WorkflowSocketOptions } from "./live/useWorkflowSocket";
import { Link, matchRoute, useLocation } from "./router";

// The detail page carries React Flow and dagre; the list does not need them.
const WorkflowDetailPage = lazy(() => import("./components/WorkflowDetailPage"));

interface AppProps {
  api: ApiClient;
  websocketUrl: string | null;
  /** Tests swap the WebSocket and its timing. */
  socketOptions?: Pick<WorkflowSocketOptions, "createSocket" | "backoff" | "random">;
}

export function App({ api, websocketUrl, socketOptions }: AppProps) {
  return (
    <ApiProvider client={api}>
      <LiveUpdatesProvider url={websocketUrl} {...socketOptions}>
        <Shell />
      </LiveUpdatesProvider>
    </ApiProvider>
  );
}

function Shell() {
  const connection = useLiveUpdates();
  const route = matchRoute(useLocation().pathname);
  return (
    <>
      <header className="topbar">
        <Link href="/" className="topbar__brand">
          <span className="topbar__logo" aria-hidden="true" />
          Orchestra
        </Link>
        <div className="topbar__end">
          <ConnectionIndicator status={connection} />
          <UserMenu />
        </div>
      </header>
      <main className="main">
        {route.name === "list" && <WorkflowListPage />}
        {route.name === "workflow" && (
          <Suspense fallback={<LoadingState label="Loading workflow…" />}>
            {/* keyed: another workflow starts from a clean page (selection, viewport) */}
            <WorkflowDetailPage key={route.workflowId} workflowId={route.workflowId} />
          </Suspense>
        )}
        {route.name === "not-found" && (
          <EmptyState title="There is no page here.">
            <Link href="/">Go to the workflow list</Link>
          </EmptyState>
        )}
      </main>
    </>
  );
}

/** Shown instead of the app when no API base URL is configured. */
export function MissingConfig() {
  return (
    <main className="main">
      <div className="state state--error" role="alert">
        <p className="state__title">The dashboard is not configured.</p>
        <p>
          Set <code>window.API_BASE</code> (and <code>window.WEBSOCKET_URL</code>) in <code>/config.js</code>, or{" "}
          <code>VITE_API_BASE</code> (and <code>VITE_WEBSOCKET_URL</code>) for <code>npm run dev</code>.
        </p>
      </div>
    </main>
  );
}
