/** @jsxImportSource hono/jsx/dom */
/// <reference lib="dom" />
/** Shared pieces: loading, error and empty states, async data, tables, pager, buttons with confirmation. */
import type { Child } from "hono/jsx";
import { useCallback, useEffect, useState } from "hono/jsx/dom";

export interface Async<T> {
  data?: T;
  error?: string;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` now and whenever `deps` change; `reload()` runs it again. */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[] = []): Async<T> {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (e: unknown) => live && setState({ error: e instanceof Error ? e.message : String(e), loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

export const Loading = () => <p class="state" role="status">Loading…</p>;
export const ErrorBox = ({ message }: { message: string }) => <p class="state error" role="alert">{message}</p>;
export const Empty = ({ children }: { children: Child }) => <p class="state empty">{children}</p>;

/** The three states of data, then `children(data)`. */
export function Show<T>({ async, children, empty }: { async: Async<T>; children: (data: T) => Child; empty?: (data: T) => boolean }) {
  if (async.error) return <ErrorBox message={async.error} />;
  if (async.data === undefined) return <Loading />;
  if (empty?.(async.data)) return <Empty>Nothing here yet.</Empty>;
  return <div class="show">{children(async.data)}</div>;
}

/** A button that runs an action (after confirming, if asked), shows it is busy and reports failure. */
export function Action(
  { label, run, confirm, danger, disabled, title }: {
    label: string;
    run: () => Promise<unknown>;
    confirm?: string;
    danger?: boolean;
    disabled?: boolean;
    title?: string;
  },
) {
  const [busy, setBusy] = useState(false);
  const click = async () => {
    if (confirm && !globalThis.confirm(confirm)) return;
    setBusy(true);
    try {
      await run();
    } catch (e: unknown) {
      notify(e instanceof Error ? e.message : String(e), "error");
    } finally {
      setBusy(false);
    }
  };
  return (
    <button type="button" class={danger ? "danger" : ""} disabled={busy || disabled} title={title} onClick={click}>
      {busy ? "…" : label}
    </button>
  );
}

/** A short message at the bottom of the screen (role=status, so screen readers hear it). */
export function notify(message: string, kind: "ok" | "error" = "ok"): void {
  const box = document.getElementById("toast");
  if (!box) return;
  box.textContent = message;
  box.className = `toast ${kind} visible`;
  clearTimeout(Number(box.dataset.timer));
  box.dataset.timer = String(setTimeout(() => (box.className = "toast"), kind === "error" ? 8000 : 3000));
}

export function Pager({ offset, limit, total, go }: { offset: number; limit: number; total: number; go: (offset: number) => void }) {
  if (total <= limit) return <p class="muted small">{total} in all</p>;
  return (
    <nav class="pager" aria-label="pages">
      <button type="button" disabled={offset === 0} onClick={() => go(Math.max(0, offset - limit))}>Previous</button>
      <span>{offset + 1}–{Math.min(offset + limit, total)} of {total}</span>
      <button type="button" disabled={offset + limit >= total} onClick={() => go(offset + limit)}>Next</button>
    </nav>
  );
}

/** A form whose submit hands over its fields as strings (checkboxes as "on"). */
export function formValues(e: Event): Record<string, string> {
  e.preventDefault();
  const form = e.target as HTMLFormElement;
  const out: Record<string, string> = {};
  new FormData(form).forEach((v, k) => (out[k] = String(v)));
  return out;
}

export function Page({ title, children, actions }: { title: string; children: Child; actions?: Child }) {
  return (
    <section class="page" aria-labelledby="page-title">
      <header class="page-head">
        <h1 id="page-title" tabIndex={-1}>{title}</h1>
        {actions && <div class="actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}
