// Every data call of the console: the /api routes of the page's own origin, with the API key
// the operator typed (kept in session storage, so it goes when the tab closes).

const KEY = "wagate.apiKey";

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function storeKey(key: string | null): void {
  if (key === null) sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, key);
}

// The page is at <stage>/console, so "api/..." resolves to <stage>/api/... on API Gateway as
// on the local stack.
const base = document.baseURI;

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Page<T> {
  data: T;
  nextCursor: string | null;
  status: number;
}

type Query = Record<string, string | number | boolean | undefined | null>;

export async function call<T>(method: string, path: string, opts: { query?: Query; body?: unknown; key?: string } = {}): Promise<Page<T>> {
  const key = opts.key ?? storedKey();
  if (!key) throw new ApiError(0, "no_key", "Sign in with an API key first.");
  const url = new URL(path.replace(/^\//, ""), base);
  for (const [k, v] of Object.entries(opts.query ?? {})) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, String(v));
  }
  const headers: Record<string, string> = { "X-API-Key": key, Accept: "application/json" };
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  let resp: Response;
  try {
    resp = await fetch(url, { method, headers, body, credentials: "omit", cache: "no-store" });
  } catch (e) {
    throw new ApiError(0, "network", `The API could not be reached: ${(e as Error).message}`);
  }
  let json: any = null;
  try {
    json = await resp.json();
  } catch {
    // not JSON: reported below
  }
  if (resp.status === 403 && json && typeof json.message === "string") {
    throw new ApiError(403, "forbidden", `The API refused the key: ${resp.status} ${json.message}. Check the API key.`);
  }
  if (!resp.ok || !json || json.success !== true) {
    const err = json?.error;
    throw new ApiError(resp.status, err?.code ?? "error", err?.message ?? `The API answered ${resp.status}.`);
  }
  return { data: json.data as T, nextCursor: json.pagination?.nextCursor ?? null, status: resp.status };
}

export const api = {
  get: <T>(path: string, query?: Query) => call<T>("GET", path, { query }),
  post: <T>(path: string, body?: unknown, query?: Query) => call<T>("POST", path, { body, query }),
  put: <T>(path: string, body?: unknown) => call<T>("PUT", path, { body }),
  del: <T>(path: string, body?: unknown) => call<T>("DELETE", path, { body }),
};

export interface Instance {
  id: string;
  name: string;
  webhookUrl: string | null;
  webhookEvents: string[];
  createdAt: string;
  updatedAt: string;
  session?: { status: string | null; phoneNumber: string | null };
  webhookSecret?: string;
}

export interface Log {
  id: string;
  webhookId: string;
  instanceId: string | null;
  url: string;
  event: string;
  payload: unknown;
  status: "retrying" | "success" | "failed";
  statusCode: number | null;
  response: unknown;
  // The headers of the last HTTP attempt, null when no request was sent.
  requestHeaders: Record<string, string> | null;
  error: string | null;
  attempts: number;
  durationMs: number | null;
  nextRetryAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Stats {
  period: string;
  total: number;
  success: number;
  failed: number;
  successRate: string;
  topEvents: { event: string; _count: { event: number } }[];
  instanceId: string | null;
}

// A recover or a clear that goes on in the background after its request answered.
export interface Job {
  jobId: string;
  kind: "recover" | "clear";
  instanceId: string | null;
  status: "running" | "complete";
  count: number;
  createdAt: string;
  updatedAt: string;
}

export interface RecoverResult {
  queued: number;
  complete: boolean;
  jobId: string | null;
}

export interface ClearResult {
  deleted: number;
  complete: boolean;
  jobId: string | null;
}

export interface DailyStats {
  instanceId: string | null;
  // Oldest first, every day of the period present.
  days: { date: string; total: number; success: number; failed: number }[];
}

export const EVENTS = ["session.status", "message.received", "message.sent", "message.updated"];
export const LOG_EVENTS = [...EVENTS, "webhook.test"];
