import type { ReactNode } from "react";
import type { ApiError } from "../api/client";

// Loading, empty and error states, alike on every page.

export function LoadingState({ label }: { label: string }) {
  return (
    <div className="state state--loading" role="status" data-testid="loading">
      <span className="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state--empty" data-testid="empty-state">
      <p className="state__title">{title}</p>
      {children}
    </div>
  );
}

export function ErrorState({ title, error, onRetry }: { title: string; error: ApiError; onRetry?: () => void }) {
  return (
    <div className="state state--error" role="alert" data-testid="error-state">
      <p className="state__title">{title}</p>
      <p>{error.message}</p>
      {onRetry && (
        <button type="button" className="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}
