import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from "react";

// A minimal History API router: two routes do not need a library. Deep links such as
// /workflows/<id> reach index.html through the host's SPA fallback.

const NAVIGATE_EVENT = "orchestra:navigate";

function subscribe(onChange: () => void): () => void {
  window.addEventListener("popstate", onChange);
  window.addEventListener(NAVIGATE_EVENT, onChange);
  return () => {
    window.removeEventListener("popstate", onChange);
    window.removeEventListener(NAVIGATE_EVENT, onChange);
  };
}

const currentUrl = () => window.location.pathname + window.location.search;

/** The current path and query string; re-renders on navigation. */
export function useLocation(): URL {
  const href = useSyncExternalStore(subscribe, currentUrl);
  return new URL(href, window.location.origin);
}

export function navigate(to: string, { replace = false }: { replace?: boolean } = {}): void {
  if (to === currentUrl()) return;
  if (replace) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  window.dispatchEvent(new Event(NAVIGATE_EVENT));
}

export type Route = { name: "list" } | { name: "workflow"; workflowId: string } | { name: "not-found" };

export function matchRoute(pathname: string): Route {
  if (pathname === "/" || pathname === "/workflows" || pathname === "/workflows/") return { name: "list" };
  const match = /^\/workflows\/([^/]+)\/?$/.exec(pathname);
  if (match?.[1]) return { name: "workflow", workflowId: decodeURIComponent(match[1]) };
  return { name: "not-found" };
}

export const workflowHref = (workflowId: string) => `/workflows/${encodeURIComponent(workflowId)}`;

type LinkProps = AnchorHTMLAttributes<HTMLAnchorElement> & { href: string };

/** An ordinary link (middle-click and "open in new tab" keep working) that navigates in place. */
export function Link({ href, onClick, children, ...rest }: LinkProps) {
  function handleClick(event: MouseEvent<HTMLAnchorElement>) {
    onClick?.(event);
    const modified = event.metaKey || event.ctrlKey || event.shiftKey || event.altKey || event.button !== 0;
    if (event.defaultPrevented || modified || rest.target) return;
    event.preventDefault();
    navigate(href);
  }
  return (
    <a href={href} onClick={handleClick} {...rest}>
      {children}
    </a>
  );
}
