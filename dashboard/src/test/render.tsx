import { act, render, renderHook, type RenderOptions } from "@testing-library/react";
import type { ReactElement, ReactNode } from "react";
import { vi } from "vitest";
import { ApiProvider } from "../api/ApiContext";
import type { ApiClient } from "../api/client";
import { LiveUpdatesProvider } from "../live/LiveUpdates";
import { TEST_SOCKET_OPTIONS } from "./fakes";

export const TEST_WS_URL = "wss://ws.example.test/prod";

function Providers({ api, children }: { api: ApiClient; children: ReactNode }) {
  return (
    <ApiProvider client={api}>
      <LiveUpdatesProvider url={TEST_WS_URL} {...TEST_SOCKET_OPTIONS}>
        {children}
      </LiveUpdatesProvider>
    </ApiProvider>
  );
}

/** Renders inside the app's providers: the given API and a FakeWebSocket (see fakes.ts). */
export function renderWithProviders(ui: ReactElement, api: ApiClient, options?: RenderOptions) {
  return render(ui, { wrapper: ({ children }) => <Providers api={api}>{children}</Providers>, ...options });
}

export function renderHookWithProviders<Result, Props>(hook: (props: Props) => Result, api: ApiClient, initialProps?: Props) {
  return renderHook(hook, {
    wrapper: ({ children }) => <Providers api={api}>{children}</Providers>,
    ...(initialProps === undefined ? {} : { initialProps }),
  });
}

/** Lets fake timers run for `ms`, settling the promises they resolve along the way. */
export async function advance(ms: number): Promise<void> {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });
}

/** Settles pending promises (API answers) without moving the clock. */
export async function settle(): Promise<void> {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(0);
  });
}

/** A promise the test resolves when it chooses: an API answer held back. */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
