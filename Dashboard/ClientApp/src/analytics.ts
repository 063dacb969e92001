// Types and helpers for the analytics reports (GET /v1/analytics/*, scope analytics:read; docs/analytics.md).
import { ApiError, api } from './api';

export interface AnalyticsCounts {
  sent: number;
  delivered: number;
  opened: number;
  clicked: number;
  bounced: number;
  complained: number;
  unsubscribed: number;
  goals: number;
}

export type AnalyticsRates = Omit<AnalyticsCounts, 'sent'>;

export interface AnalyticsPoint {
  at: string;
  counts: AnalyticsCounts;
}

export interface AnalyticsOverview {
  from: string;
  to: string;
  granularity: Granularity;
  counts: AnalyticsCounts;
  rates: AnalyticsRates;
  series: AnalyticsPoint[];
}

export interface ProviderFigures {
  provider: string;
  counts: AnalyticsCounts;
  rates: AnalyticsRates;
}

export interface AnalyticsProviders {
  from: string;
  to: string;
  providers: ProviderFigures[];
}

export interface VariantFigures {
  variant: string;
  counts: AnalyticsCounts;
  rates: AnalyticsRates;
}

export interface StepFigures {
  stepId: string;
  counts: AnalyticsCounts;
  rates: AnalyticsRates;
  variants: VariantFigures[];
  series: AnalyticsPoint[];
}

export type Granularity = 'hour' | 'day';

export interface WorkflowAnalytics {
  workflowId: string;
  from: string;
  to: string;
  granularity: Granularity;
  version: number | null;
  counts: AnalyticsCounts;
  rates: AnalyticsRates;
  steps: StepFigures[];
  series: AnalyticsPoint[];
}

export const RATE_KINDS: (keyof AnalyticsRates)[] = ['delivered', 'opened', 'clicked', 'bounced', 'complained', 'unsubscribed', 'goals'];
export const COUNT_KINDS: (keyof AnalyticsCounts)[] = ['sent', ...RATE_KINDS];

export type RangePreset = '24h' | '7d' | '30d' | 'custom';

export interface AnalyticsRange {
  from: string;
  to: string;
  /** Hourly points up to 31 days (the API's limit), daily beyond. */
  granularity: Granularity;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const PRESET_SPAN: Record<Exclude<RangePreset, 'custom'>, number> = { '24h': DAY, '7d': 7 * DAY, '30d': 30 * DAY };

/** A preset ends at the start of the next hour, so the hour in progress is included and every point is a whole hour. */
export function presetRange(preset: Exclude<RangePreset, 'custom'>, now = Date.now()): AnalyticsRange {
  const to = Math.floor(now / HOUR) * HOUR + HOUR;
  const span = PRESET_SPAN[preset];
  return { from: new Date(to - span).toISOString(), to: new Date(to).toISOString(), granularity: span > 7 * DAY ? 'day' : 'hour' };
}

/** A custom range from two dates (yyyy-mm-dd, UTC days, both included), or the reason it cannot be asked for. */
export function customRange(fromDay: string, toDay: string): AnalyticsRange | string {
  const from = Date.parse(`${fromDay}T00:00:00Z`);
  const to = Date.parse(`${toDay}T00:00:00Z`) + DAY;
  if (Number.isNaN(from) || Number.isNaN(to)) return 'Choose both dates.';
  if (from >= to) return 'The first day must not be after the last.';
  if (to - from > 366 * DAY) return 'A range covers at most 366 days.';
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), granularity: to - from > 7 * DAY ? 'day' : 'hour' };
}

export function rangeQuery(range: AnalyticsRange): string {
  return `from=${encodeURIComponent(range.from)}&to=${encodeURIComponent(range.to)}`;
}

export const analyticsApi = {
  overview: (range: AnalyticsRange) => api.get<AnalyticsOverview>(`/v1/analytics/overview?${rangeQuery(range)}&granularity=${range.granularity}`),
  providers: (range: AnalyticsRange) => api.get<AnalyticsProviders>(`/v1/analytics/providers?${rangeQuery(range)}`),
  workflow: (id: string, range: AnalyticsRange, version?: number) =>
    api.get<WorkflowAnalytics>(
      `/v1/analytics/workflows/${encodeURIComponent(id)}?${rangeQuery(range)}&granularity=${range.granularity}${version ? `&version=${version}` : ''}`),
};

/** What to say instead of a report: no scope, network trouble or any other refusal. */
export function analyticsErrorText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 403) return 'You do not have access to analytics: the analytics:read permission is needed.';
    if (error.status === 404) return 'This workflow does not exist in your organization.';
    return `The report could not be loaded: ${error.message}`;
  }
  return 'The report could not be loaded: the server could not be reached. Check the connection and try again.';
}

export function formatRate(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`;
}

export function formatCount(count: number): string {
  return count.toLocaleString('en-US');
}

export function isEmpty(counts: AnalyticsCounts): boolean {
  return COUNT_KINDS.every((k) => counts[k] === 0);
}

/** Fills the hours or days of the range that have no row with zeros, so the chart's time axis is even. */
export function fillSeries(series: AnalyticsPoint[], range: AnalyticsRange): AnalyticsPoint[] {
  const step = range.granularity === 'day' ? DAY : HOUR;
  const byTime = new Map(series.map((p) => [Date.parse(p.at), p]));
  const start = Math.floor(Date.parse(range.from) / step) * step;
  const end = Date.parse(range.to);
  const zero: AnalyticsCounts = { sent: 0, delivered: 0, opened: 0, clicked: 0, bounced: 0, complained: 0, unsubscribed: 0, goals: 0 };
  const filled = new Map(byTime);
  for (let t = start; t < end && filled.size < 2000; t += step) {
    if (!filled.has(t)) filled.set(t, { at: new Date(t).toISOString(), counts: zero });
  }
  return [...filled.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
}
