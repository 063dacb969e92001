import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { api, type Page } from '../api';
import {
  COUNT_KINDS, analyticsApi, analyticsErrorText, customRange, fillSeries, formatCount, formatRate, isEmpty, presetRange,
  type AnalyticsCounts, type AnalyticsOverview, type AnalyticsPoint, type AnalyticsProviders, type AnalyticsRange, type AnalyticsRates,
  type Granularity, type RangePreset, type WorkflowAnalytics,
} from '../analytics';
import { Link, useNavigate } from 'react-router';

interface WorkflowSummary {
  id: string;
  name: string;
  status: string;
}

type Load<T> = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ready'; data: T };

const SERIES: { key: keyof AnalyticsCounts; color: string }[] = [
  { key: 'sent', color: '#2563eb' },
  { key: 'delivered', color: '#16a34a' },
  { key: 'opened', color: '#d97706' },
  { key: 'clicked', color: '#7c3aed' },
];

/** Keeps the chosen range in the address (?range=7d or ?from=yyyy-mm-dd&to=yyyy-mm-dd), so a report can be shared. */
function useRange(): {
  preset: RangePreset; fromDay: string; toDay: string; range: AnalyticsRange | string; unit: Granularity | 'auto';
  choose: (p: RangePreset, from?: string, to?: string) => void; setUnit: (unit: Granularity | 'auto') => void;
} {
  const navigate = useNavigate();
  const initial = new URLSearchParams(window.location.search);
  const [preset, setPreset] = useState<RangePreset>(() => {
    const r = initial.get('range');
    return initial.get('from') ? 'custom' : r === '24h' || r === '30d' ? r : '7d';
  });
  const today = new Date().toISOString().slice(0, 10);
  const [fromDay, setFromDay] = useState(initial.get('from') ?? new Date(Date.now() - 6 * 86_400_000).toISOString().slice(0, 10));
  const [toDay, setToDay] = useState(initial.get('to') ?? today);
  // A preset is fixed when chosen: the figures must not shift under the reader while they compare them.
  const [now, setNow] = useState(() => Date.now());
  const [unit, setUnit] = useState<Granularity | 'auto'>('auto');
  const range = useMemo(() => {
    const r = preset === 'custom' ? customRange(fromDay, toDay) : presetRange(preset, now);
    if (typeof r === 'string' || unit === 'auto') return r;
    // Hourly points are served for at most 31 days.
    return unit === 'hour' && Date.parse(r.to) - Date.parse(r.from) > 31 * 86_400_000 ? r : { ...r, granularity: unit };
  }, [preset, fromDay, toDay, now, unit]);
  const choose = (p: RangePreset, from = fromDay, to = toDay) => {
    setPreset(p);
    setFromDay(from);
    setToDay(to);
    setNow(Date.now());
    const query = p === 'custom' ? `?from=${from}&to=${to}` : `?range=${p}`;
    navigate({ search: query }, { replace: true });
  };
  return { preset, fromDay, toDay, range, choose, unit, setUnit };
}

function RangePicker({ picker }: { picker: ReturnType<typeof useRange> }) {
  const { preset, fromDay, toDay, choose, unit, setUnit } = picker;
  const presets: [RangePreset, string][] = [['24h', 'Last 24 hours'], ['7d', 'Last 7 days'], ['30d', 'Last 30 days'], ['custom', 'Custom']];
  return (
    <div className="range-picker" role="group" aria-label="Date range">
      {presets.map(([p, label]) => (
        <button key={p} type="button" aria-pressed={preset === p} onClick={() => choose(p)} data-testid={`range-${p}`}>{label}</button>
      ))}
      {preset === 'custom' && (
        <>
          <label className="inline">From <input type="date" value={fromDay} onChange={(e) => choose('custom', e.target.value, toDay)} data-testid="range-from" /></label>
          <label className="inline">To <input type="date" value={toDay} onChange={(e) => choose('custom', fromDay, e.target.value)} data-testid="range-to" /></label>
        </>
      )}
      <label className="inline">Points
        <select value={unit} onChange={(e) => setUnit(e.target.value as Granularity | 'auto')} data-testid="range-granularity">
          <option value="auto">automatic</option>
          <option value="hour">per hour (up to 31 days)</option>
          <option value="day">per day</option>
        </select>
      </label>
    </div>
  );
}

function useReport<T>(load: (() => Promise<T>) | null, deps: unknown[]): Load<T> {
  const [result, setResult] = useState<Load<T>>({ state: 'loading' });
  useEffect(() => {
    if (!load) return;
    let cancelled = false;
    setResult({ state: 'loading' });
    load().then(
      (data) => !cancelled && setResult({ state: 'ready', data }),
      (err: unknown) => !cancelled && setResult({ state: 'error', message: analyticsErrorText(err) }),
    );
    return () => {
      cancelled = true;
    };
  // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return result;
}

function Status<T>({ load, children, name }: { load: Load<T>; name: string; children: (data: T) => ReactNode }) {
  if (load.state === 'loading') return <p role="status" className="muted" data-testid={`${name}-loading`}>Loading…</p>;
  if (load.state === 'error') return <p role="alert" className="error" data-testid={`${name}-error`}>{load.message}</p>;
  return <>{children(load.data)}</>;
}

export function Cards({ counts, rates, prefix }: { counts: AnalyticsCounts; rates: AnalyticsRates; prefix: string }) {
  return (
    <div className="cards">
      {COUNT_KINDS.map((k) => (
        <div className="card metric" key={k} data-testid={`${prefix}-${k}`}>
          <span className="metric-name">{k}</span>
          <b data-testid={`${prefix}-${k}-count`}>{formatCount(counts[k])}</b>
          {k !== 'sent' && <span className="muted" data-testid={`${prefix}-${k}-rate`}>{formatRate(rates[k])} of sent</span>}
        </div>
      ))}
    </div>
  );
}

export function SeriesChart({ series, range, testId }: { series: AnalyticsPoint[]; range: AnalyticsRange; testId: string }) {
  const points = useMemo(() => fillSeries(series, range).map((p) => ({
    at: p.at,
    label: range.granularity === 'day' ? p.at.slice(0, 10) : `${p.at.slice(5, 10)} ${p.at.slice(11, 16)}`,
    ...Object.fromEntries(SERIES.map((s) => [s.key, p.counts[s.key]])),
  })), [series, range]);
  return (
    <figure className="analytics-chart" data-testid={testId} aria-label={`Sent, delivered, opened and clicked per ${range.granularity} (UTC)`}>
      <ResponsiveContainer width="100%" height={260}>
        <LineChart data={points} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" />
          <XAxis dataKey="label" minTickGap={24} fontSize={12} />
          <YAxis allowDecimals={false} fontSize={12} />
          <Tooltip />
          <Legend />
          {SERIES.map((s) => <Line key={s.key} type="monotone" dataKey={s.key} stroke={s.color} dot={false} isAnimationActive={false} />)}
        </LineChart>
      </ResponsiveContainer>
      <figcaption className="muted">Per {range.granularity}, UTC.</figcaption>
    </figure>
  );
}

function FiguresRow({ name, counts, rates, testId, children }: { name: ReactNode; counts: AnalyticsCounts; rates: AnalyticsRates; testId: string; children?: ReactNode }) {
  return (
    <tr data-testid={testId}>
      <th scope="row">{name}{children}</th>
      <td data-testid={`${testId}-sent`}>{formatCount(counts.sent)}</td>
      {(['delivered', 'opened', 'clicked', 'bounced', 'goals'] as const).map((k) => (
        <td key={k} data-testid={`${testId}-${k}`}>{formatCount(counts[k])} <span className="muted">({formatRate(rates[k])})</span></td>
      ))}
    </tr>
  );
}

function FiguresHead({ first }: { first: string }) {
  return (
    <thead>
      <tr><th scope="col">{first}</th><th scope="col">Sent</th><th scope="col">Delivered</th><th scope="col">Opened</th><th scope="col">Clicked</th><th scope="col">Bounced</th><th scope="col">Goals</th></tr>
    </thead>
  );
}

export function AnalyticsPage() {
  const picker = useRange();
  const range = typeof picker.range === 'string' ? null : picker.range;
  const key = range ? `${range.from}|${range.to}|${range.granularity}` : picker.range;
  const overview = useReport<AnalyticsOverview>(range ? () => analyticsApi.overview(range) : null, [key]);
  const providers = useReport<AnalyticsProviders>(range ? () => analyticsApi.providers(range) : null, [key]);
  const workflows = useReport<{ workflow: WorkflowSummary; report: WorkflowAnalytics }[]>(range ? async () => {
    const list = await api.get<Page<WorkflowSummary>>('/v1/workflows?limit=100');
    const reports = await Promise.all(list.items.map((w) => analyticsApi.workflow(w.id, range)));
    return list.items.map((workflow, i) => ({ workflow, report: reports[i] }));
  } : null, [key]);

  return (
    <section className="analytics" aria-labelledby="analytics-title">
      <div className="page-head">
        <h1 id="analytics-title">Analytics</h1>
        <RangePicker picker={picker} />
      </div>
      {typeof picker.range === 'string' ? <p role="alert" className="error" data-testid="range-error">{picker.range}</p> : (
        <>
          <p className="muted" data-testid="range-label">{new Date(range!.from).toUTCString()} to {new Date(range!.to).toUTCString()}</p>
          <Status load={overview} name="overview">
            {(o) => (
              <>
                {isEmpty(o.counts) && <p className="empty" data-testid="overview-empty">No email was sent or engaged with in this range.</p>}
                <Cards counts={o.counts} rates={o.rates} prefix="overview" />
              </>
            )}
          </Status>
          <h2>Over time</h2>
          <Status load={overview} name="series">
            {(o) => o.series.length === 0
              ? <p className="empty" data-testid="series-empty">Nothing was sent in this range to chart.</p>
              : <SeriesChart series={o.series} range={range!} testId="overview-chart" />}
          </Status>
          <h2>Providers</h2>
          <Status load={providers} name="providers">
            {(p) => p.providers.length === 0 ? <p className="empty" data-testid="providers-empty">No provider handled a send in this range.</p> : (
              <table className="table" data-testid="providers-table">
                <FiguresHead first="Provider" />
                <tbody>
                  {p.providers.map((x) => <FiguresRow key={x.provider} name={x.provider} counts={x.counts} rates={x.rates} testId={`provider-${x.provider}`} />)}
                </tbody>
              </table>
            )}
          </Status>
          <h2>Workflows</h2>
          <Status load={workflows} name="workflows">
            {(w) => w.length === 0 ? <p className="empty" data-testid="workflows-empty">There are no workflows yet.</p> : (
              <table className="table" data-testid="workflows-table">
                <FiguresHead first="Workflow" />
                <tbody>
                  {w.map(({ workflow, report }) => (
                    <FiguresRow
                      key={workflow.id}
                      name={<Link to={`/analytics/workflows/${workflow.id}`} data-testid={`workflow-analytics-${workflow.id}`}>{workflow.name}</Link>}
                      counts={report.counts}
                      rates={report.rates}
                      testId={`workflow-${workflow.id}`}
                    >
                      {' '}<span className={`badge status-${workflow.status}`}>{workflow.status}</span>
                    </FiguresRow>
                  ))}
                </tbody>
              </table>
            )}
          </Status>
        </>
      )}
    </section>
  );
}

export function WorkflowAnalyticsPage({ workflowId }: { workflowId: string }) {
  const picker = useRange();
  const range = typeof picker.range === 'string' ? null : picker.range;
  const key = range ? `${range.from}|${range.to}|${range.granularity}` : picker.range;
  const [name, setName] = useState<string>(workflowId);
  useEffect(() => {
    api.get<{ name: string }>(`/v1/workflows/${workflowId}`).then((w) => setName(w.name)).catch(() => undefined);
  }, [workflowId]);
  const report = useReport<WorkflowAnalytics>(range ? () => analyticsApi.workflow(workflowId, range) : null, [key, workflowId]);

  return (
    <section className="analytics" aria-labelledby="workflow-analytics-title">
      <div className="page-head">
        <h1 id="workflow-analytics-title">Analytics: <span data-testid="workflow-analytics-name">{name}</span></h1>
        <RangePicker picker={picker} />
      </div>
      <p><Link to="/analytics">All analytics</Link> · <Link to={`/workflows/${workflowId}`}>Open on the canvas</Link></p>
      {typeof picker.range === 'string' ? <p role="alert" className="error" data-testid="range-error">{picker.range}</p> : (
        <Status load={report} name="workflow-report">
          {(r) => (
            <>
              {isEmpty(r.counts) && <p className="empty" data-testid="workflow-report-empty">Nothing was sent or engaged with in this workflow in this range.</p>}
              <Cards counts={r.counts} rates={r.rates} prefix="workflow-total" />
              {r.series.length > 0 && <SeriesChart series={r.series} range={range!} testId="workflow-chart" />}
              {r.steps.length > 0 && (
                <>
                  <h2>Steps and variants</h2>
                  <table className="table" data-testid="steps-table">
                    <FiguresHead first="Step / variant" />
                    <tbody>
                      {r.steps.flatMap((s) => [
                        <FiguresRow key={s.stepId} name={<span className="mono">{s.stepId}</span>} counts={s.counts} rates={s.rates} testId={`step-${s.stepId}`} />,
                        ...s.variants.map((v) => (
                          <FiguresRow key={`${s.stepId}/${v.variant}`} name={<span className="mono variant">↳ variant {v.variant}</span>} counts={v.counts} rates={v.rates} testId={`variant-${s.stepId}-${v.variant}`} />
                        )),
                      ])}
                    </tbody>
                  </table>
                </>
              )}
            </>
          )}
        </Status>
      )}
    </section>
  );
}
