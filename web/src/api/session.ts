// Browser-mode session: silent refresh before the access cookie expires, one refresh at a
// time (across tabs too), and every request retried once after a refresh when it gets a 401.
import { csrfToken, rememberCsrfToken, UNSAFE_METHODS } from "./csrf";
import { networkError } from "./errors";

export const REFRESH_PATH = "/api/auth/refresh";
/** Refresh this long before the access token expires. */
export const REFRESH_EARLY_MS = 60_000;
// Not secrets: when the access token expires and when a tab last refreshed, so that tabs
// share one schedule and do not spend the same refresh token twice (which ends the session).
const EXPIRES_KEY = "confide.accessExpiresAt";
const REFRESHED_KEY = "confide.refreshedAt";
const LOCK_NAME = "confide-refresh";

/** Paths where a 401 means "wrong credentials", not "refresh and retry". */
const NO_RETRY = ["/api/auth/login", "/api/auth/register", REFRESH_PATH];
/** 401 codes a fresh access token cures. Others are final: `invalid_credentials` (a wrong
 * current password) is the caller's to show; `session_expired` means signed out. */
const REFRESHABLE = new Set(["not_authenticated", "token_expired", "invalid_token"]);
const SESSION_OVER = new Set(["session_expired", "invalid_refresh_token", "refresh_token_reused"]);

async function problemCode(response: Response): Promise<string> {
  try {
    const body = (await response.clone().json()) as { code?: unknown };
    return typeof body.code === "string" ? body.code : "not_authenticated";
  } catch {
    return "not_authenticated";
  }
}

export interface SessionGrant {
  expires_in: number;
  csrf_token?: string | null;
}

type Listener = () => void;
type StepUpHandler = () => Promise<boolean>;

export interface SessionOptions {
  fetch?: typeof fetch;
  now?: () => number;
  storage?: Pick<Storage, "getItem" | "setItem" | "removeItem"> | null;
  locks?: Pick<LockManager, "request"> | null;
}

export class SessionManager {
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;
  private readonly storage: SessionOptions["storage"];
  private readonly locks: SessionOptions["locks"];
  private refreshing: Promise<boolean> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly signedOutListeners = new Set<Listener>();
  private stepUpHandler: StepUpHandler | null = null;

  constructor(options: SessionOptions = {}) {
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.now = options.now ?? (() => Date.now());
    this.storage = options.storage === undefined ? safeLocalStorage() : options.storage;
    this.locks = options.locks === undefined ? safeLocks() : options.locks;
  }

  /** Called with what login/refresh answered: remember the CSRF token, plan the next refresh. */
  started(grant: SessionGrant): void {
    rememberCsrfToken(grant.csrf_token ?? null);
    const expiresAt = this.now() + grant.expires_in * 1000;
    this.storage?.setItem(EXPIRES_KEY, String(expiresAt));
    this.schedule(expiresAt);
  }

  /** After a page load: plan a refresh from what another tab (or an earlier load) recorded. */
  resume(): void {
    const stored = Number(this.storage?.getItem(EXPIRES_KEY) ?? "");
    if (Number.isFinite(stored) && stored > 0) this.schedule(stored);
  }

  ended(): void {
    this.clearTimer();
    rememberCsrfToken(null);
    this.storage?.removeItem(EXPIRES_KEY);
  }

  /** Who asks the person to confirm it is them when a change answers 401 `reauth_required`
   * (the app's StepUpHost); it resolves true once they did, false if they declined. */
  setStepUp(handler: StepUpHandler | null): void {
    this.stepUpHandler = handler;
  }

  onSignedOut(listener: Listener): () => void {
    this.signedOutListeners.add(listener);
    return () => this.signedOutListeners.delete(listener);
  }

  /** Refresh the session; concurrent callers share one request. Resolves false when it ended. */
  refresh(): Promise<boolean> {
    if (!this.refreshing) {
      const requestedAt = this.now();
      this.refreshing = this.underLock(() => this.refreshOnce(requestedAt)).finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  /** fetch for the API: same-origin cookies, CSRF on unsafe methods, 401 -> refresh -> retry. */
  readonly fetch = async (input: Request): Promise<Response> => {
    const retry = input.clone();
    const response = await this.send(input);
    if (response.status !== 401 || NO_RETRY.some((p) => new URL(input.url).pathname === p)) {
      return response;
    }
    const code = await problemCode(response);
    if (code === "reauth_required") {
      // A sensitive change outside the step-up window: ask, then send it once more.
      if (!this.stepUpHandler || !(await this.stepUpHandler())) return response;
      return this.send(retry);
    }
    if (!REFRESHABLE.has(code)) {
      if (SESSION_OVER.has(code)) this.signedOut();
      return response;
    }
    // No CSRF cookie means no browser session to refresh (it lives as long as the session).
    if (csrfToken() === null || !(await this.refresh())) {
      this.signedOut();
      return response;
    }
    const second = await this.send(retry);
    if (second.status === 401 && (await problemCode(second)) !== "invalid_credentials") {
      this.signedOut();
    }
    return second;
  };

  private async send(request: Request): Promise<Response> {
    const headers = new Headers(request.headers);
    if (UNSAFE_METHODS.has(request.method.toUpperCase())) {
      const token = csrfToken();
      if (token) headers.set("X-CSRF-Token", token);
    }
    const prepared = new Request(request, { headers, credentials: "same-origin" });
    try {
      return await this.fetchImpl(prepared);
    } catch (error) {
      if (error instanceof DOMException && error.name === "AbortError") throw error;
      throw networkError(error);
    }
  }

  private async refreshOnce(requestedAt: number): Promise<boolean> {
    // Another tab refreshed while this one waited for the lock: its cookies are ours too.
    const refreshedAt = Number(this.storage?.getItem(REFRESHED_KEY) ?? "");
    if (Number.isFinite(refreshedAt) && refreshedAt >= requestedAt) {
      this.resume();
      return true;
    }
    const url = new URL(REFRESH_PATH, baseUrl()).toString();
    // A network failure rejects (the session may be fine); a refusal resolves false.
    const response = await this.send(new Request(url, { method: "POST" }));
    if (!response.ok) {
      this.ended();
      return false;
    }
    const grant = (await response.json()) as SessionGrant;
    this.storage?.setItem(REFRESHED_KEY, String(this.now()));
    this.started(grant);
    return true;
  }

  private async underLock<T>(task: () => Promise<T>): Promise<T> {
    if (!this.locks) return task();
    return (await this.locks.request(LOCK_NAME, task)) as T;
  }

  private schedule(expiresAt: number): void {
    this.clearTimer();
    const delay = Math.max(expiresAt - REFRESH_EARLY_MS - this.now(), 0);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.refresh().then(
        (ok) => {
          if (!ok) this.signedOut();
        },
        () => this.schedule(this.now() + REFRESH_EARLY_MS + 10_000), // offline: try again
      );
    }, delay);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private signedOut(): void {
    this.ended();
    for (const listener of this.signedOutListeners) listener();
  }
}

export function baseUrl(): string {
  return typeof window === "undefined" ? "http://localhost" : window.location.origin;
}

function safeLocalStorage(): Storage | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null;
  }
}

function safeLocks(): LockManager | null {
  return typeof navigator !== "undefined" && "locks" in navigator ? navigator.locks : null;
}

export const session = new SessionManager();
