// HTTP client for the Automator API (shared/api.md). The access token lives in memory only; the refresh token
// is an httpOnly cookie that POST /v1/auth/refresh rotates.

export interface ProblemDetails {
  title?: string;
  detail?: string;
  status?: number;
  errors?: Record<string, string[]>;
}

export class ApiError extends Error {
  readonly status: number;
  readonly problem: ProblemDetails;

  constructor(status: number, problem: ProblemDetails) {
    super(problem.detail || problem.title || `Request failed (${status})`);
    this.status = status;
    this.problem = problem;
  }
}

let accessToken: string | null = null;
let refreshing: Promise<boolean> | null = null;
let refreshTimer: number | undefined;
const listeners = new Set<(signedIn: boolean) => void>();

export function getAccessToken(): string | null {
  return accessToken;
}

/** Keeps the token; with its lifetime, renews it shortly before it expires so the live hub can reconnect with it. */
export function setAccessToken(token: string | null, expiresIn?: number): void {
  const changed = (accessToken === null) !== (token === null);
  accessToken = token;
  window.clearTimeout(refreshTimer);
  if (token && expiresIn && expiresIn > 30) {
    refreshTimer = window.setTimeout(() => void refresh(), (expiresIn - 30) * 1000);
  }
  if (changed) {
    listeners.forEach((l) => l(token !== null));
  }
}

export function onAuthChange(listener: (signedIn: boolean) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export async function refresh(): Promise<boolean> {
  refreshing ??= (async () => {
    try {
      const response = await fetch('/v1/auth/refresh', { method: 'POST', credentials: 'include' });
      if (!response.ok) {
        return false;
      }
      const body = (await response.json()) as { accessToken: string; expiresIn?: number };
      setAccessToken(body.accessToken, body.expiresIn);
      return true;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

async function send<T>(method: string, path: string, body?: unknown, retry = true): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
  }
  if (accessToken) {
    headers.Authorization = `Bearer ${accessToken}`;
  }
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'include',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401 && retry && !path.startsWith('/v1/auth/')) {
    if (await refresh()) {
      return send<T>(method, path, body, false);
    }
    setAccessToken(null);
  }
  const text = await response.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { detail: text };
    }
  }
  if (!response.ok) {
    throw new ApiError(response.status, (parsed as ProblemDetails) ?? { title: response.statusText, status: response.status });
  }
  return parsed as T;
}

export const api = {
  get: <T>(path: string) => send<T>('GET', path),
  post: <T>(path: string, body?: unknown) => send<T>('POST', path, body ?? {}),
  put: <T>(path: string, body: unknown) => send<T>('PUT', path, body),
  patch: <T>(path: string, body: unknown) => send<T>('PATCH', path, body),
  del: <T>(path: string) => send<T>('DELETE', path),
};

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface AuthResponse {
  accessToken: string;
  expiresIn: number;
  user?: { id: string; email: string; role: string };
  organization?: { id: string; name: string };
}

export interface Template {
  id: string;
  name: string;
  subject: string;
  html: string;
  text?: string | null;
}

export interface Provider {
  name: string;
  state: string;
  ratePerSecond?: number;
  sentLastMinute?: number;
  errorsLastMinute?: number;
  /** Present for a tenant (its own figures): the part of the account's rate its sends took. Absent for an operator. */
  share?: number | null;
}

export interface Organization {
  id: string;
  name: string;
  sendingPaused: boolean;
}

export interface StepStats {
  waiting: number;
  passed: number;
  sent?: number;
  delivered?: number;
  opened?: number;
  clicked?: number;
  bounced?: number;
  failed?: number;
}

export interface WorkflowStats {
  entered?: number;
  active?: number;
  completed?: number;
  exited?: number;
  goals?: number;
  steps?: Record<string, StepStats>;
  /** Each step with autoWinner set: the test so far, or its decision. */
  autoWinners?: Record<string, WinnerTest>;
}

export interface WinnerTally {
  variant: string;
  samples: number;
  successes: number;
  rate: number;
}

export interface WinnerTest {
  stepId: string;
  status: 'testing' | 'decided';
  metric: string;
  minSamples: number;
  confidence: number;
  tallies: WinnerTally[];
  statistic?: number | null;
  threshold: number;
  winner?: string | null;
  runnerUp?: string | null;
  decidedAt?: string | null;
  version?: number | null;
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    const fields = error.problem.errors
      ? Object.entries(error.problem.errors).map(([k, v]) => `${k}: ${v.join(' ')}`)
      : [];
    return [error.message, ...fields].join('\n');
  }
  return error instanceof Error ? error.message : String(error);
}

export interface Contact {
  id: string;
  email: string;
  firstName?: string | null;
  lastName?: string | null;
  timeZone?: string | null;
  properties: Record<string, unknown>;
  status: string;
  engagementScore: number;
  createdAt: string;
  updatedAt: string;
}

export interface ContactListMembership {
  listId: string;
  name: string;
  joinedAt: string;
}

export interface ContactJourney {
  journeyId: string;
  workflowId: string;
  workflowName: string;
  version: number;
  status: string;
  stepId?: string | null;
  enteredAt?: string | null;
  endedAt?: string | null;
  updatedAt: string;
}

export interface TimelineItem {
  type: 'event' | 'journey' | 'send';
  id: string;
  at: string;
  name: string;
  detail?: Record<string, unknown> | null;
}

export interface Suppression {
  email: string | null;
  reason: string;
  source?: string | null;
  createdAt: string;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  createdAt: string;
  lastUsedAt?: string | null;
}

export interface User {
  id: string;
  email: string;
  role: string;
  status: string;
  createdAt: string;
}

/** A time as the reader's locale writes it. */
export function formatTime(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '—';
}

export interface EmailList {
  id: string;
  name: string;
  description?: string | null;
  memberCount: number;
  createdAt: string;
  updatedAt: string;
}
