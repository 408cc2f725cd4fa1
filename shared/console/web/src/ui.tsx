// Small pieces every screen uses: polling, errors, status badges, JSON blocks.
import { useEffect, useRef, useState } from "preact/hooks";
import type { ComponentChildren } from "preact";
import { ApiError } from "./api";

// usePoll runs fn now and every ms while the screen shows, and again when deps change.
export function usePoll(fn: () => Promise<void> | void, ms: number, deps: unknown[]): void {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    const tick = async () => {
      try {
        await saved.current();
      } finally {
        if (!stopped && ms > 0) timer = window.setTimeout(tick, ms);
      }
    };
    tick();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, deps);
}

export function message(e: unknown): string {
  if (e instanceof ApiError) return e.status && e.code !== "forbidden" ? `${e.message} (${e.status} ${e.code})` : e.message;
  return e instanceof Error ? e.message : String(e);
}

export function ErrorText({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {message(error)}
    </p>
  );
}

export function Status({ value }: { value: string | null | undefined }) {
  const v = value ?? "not started";
  return <span class={`badge badge-${v.replace(/[^a-z]/g, "")}`}>{v}</span>;
}

export function Json({ value, label }: { value: unknown; label: string }) {
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return (
    <pre class="json" tabIndex={0} aria-label={label}>
      {text ?? "null"}
    </pre>
  );
}

export function Field({ label, id, children, hint }: { label: string; id: string; children: ComponentChildren; hint?: string }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children}
      {hint && (
        <small id={`${id}-hint`} class="hint">
          {hint}
        </small>
      )}
    </div>
  );
}

// useAction wraps an async action: busy while it runs, its error kept to show.
export function useAction<A extends unknown[]>(fn: (...a: A) => Promise<void>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (...a: A) => {
    setBusy(true);
    setError(null);
    try {
      await fn(...a);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, setError };
}

export function time(ts: string | null | undefined): string {
  if (!ts) return "";
  const d = new Date(ts);
  return isNaN(d.getTime()) ? ts : d.toLocaleString();
}

// ConfirmButton takes the focus when it appears, so a confirmation is one Enter away from the
// keyboard (the autofocus attribute applies only when a page loads).
export function ConfirmButton({ onClick, disabled, children }: { onClick: () => void; disabled?: boolean; children: ComponentChildren }) {
  const ref = useRef<HTMLButtonElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <button ref={ref} class="danger" disabled={disabled} onClick={onClick}>
      {children}
    </button>
  );
}
