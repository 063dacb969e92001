import { useEffect, useState } from 'react';
import { api, errorText, type Organization, type Provider } from '../api';
import { useLive } from '../live';

const HISTORY = 60;
const COLORS = ['#2563eb', '#db2777', '#16a34a', '#d97706', '#7c3aed'];

interface Sample {
  at: number;
  total: number;
  byProvider: Record<string, number>;
  events: number;
}

/** A small SVG line chart of the last minute of send rates. */
function RateChart({ samples, names }: { samples: Sample[]; names: string[] }) {
  const width = 560;
  const height = 160;
  const max = Math.max(1, ...samples.map((s) => s.total));
  const x = (i: number) => (i / (HISTORY - 1)) * width;
  const y = (v: number) => height - (v / max) * (height - 10);
  const line = (pick: (s: Sample) => number) => samples.map((s, i) => `${i === 0 ? 'M' : 'L'}${x(HISTORY - samples.length + i).toFixed(1)},${y(pick(s)).toFixed(1)}`).join(' ');
  return (
    <figure className="chart" data-testid="send-rate-chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`Sends per second over the last minute, peak ${max.toFixed(1)}`}>
        <line x1="0" y1={height} x2={width} y2={height} stroke="#cbd5e1" />
        <path d={line((s) => s.total)} fill="none" stroke="#0f172a" strokeWidth="2" />
        {names.map((n, i) => <path key={n} d={line((s) => s.byProvider[n] ?? 0)} fill="none" stroke={COLORS[i % COLORS.length]} strokeWidth="1.5" strokeDasharray="4 2" />)}
      </svg>
      <figcaption>
        <span>total (peak {max.toFixed(1)}/s)</span>
        {names.map((n, i) => <span key={n} style={{ color: COLORS[i % COLORS.length] }}> · {n}</span>)}
      </figcaption>
    </figure>
  );
}

export function ProvidersPage() {
  const [providers, setProviders] = useState<Provider[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [samples, setSamples] = useState<Sample[]>([]);
  const [busy, setBusy] = useState<string | null>(null);

  const [organization, setOrganization] = useState<Organization | null>(null);

  const load = () => api.get<Provider[] | { items: Provider[] }>('/v1/providers')
    .then((p) => setProviders(Array.isArray(p) ? p : p.items))
    .catch((err) => setError(errorText(err)));

  useEffect(() => {
    api.get<Organization>('/v1/organization').then(setOrganization).catch(() => setOrganization(null));
  }, []);

  // Provider accounts are shared by every organization: only operators pause them. A tenant pauses its own sending.
  const tenantView = (providers ?? []).some((p) => p.share !== undefined && p.share !== null);
  const toggleSending = async () => {
    if (!organization) {
      return;
    }
    setBusy('organization');
    setError(null);
    try {
      const action = organization.sendingPaused ? 'resume' : 'pause';
      setOrganization(await api.post<Organization>(`/v1/organization/sending/${action}`));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(null);
    }
  };

  useEffect(() => {
    void load();
    const timer = window.setInterval(() => void load(), 5000);
    return () => window.clearInterval(timer);
  }, []);

  useLive({
    providerState: (s) => setProviders((list) => {
      const current = list ?? [];
      return current.some((p) => p.name === s.name) ? current.map((p) => (p.name === s.name ? { ...p, state: s.state } : p)) : [...current, { name: s.name, state: s.state }];
    }),
    sendRate: (r) => setSamples((list) => [...list.slice(-(HISTORY - 1)), { at: Date.now(), total: r.perSecond, byProvider: r.byProvider, events: r.eventsPerSecond }]),
  });

  const toggle = async (p: Provider) => {
    const action = p.state === 'paused' ? 'resume' : 'pause';
    setBusy(p.name);
    setError(null);
    try {
      const result = await api.post<Provider | undefined>(`/v1/providers/${encodeURIComponent(p.name)}/${action}`);
      setProviders((list) => (list ?? []).map((x) => (x.name === p.name ? { ...x, ...(result ?? {}), state: result?.state ?? (action === 'pause' ? 'paused' : 'healthy') } : x)));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(null);
    }
  };

  const latest = samples[samples.length - 1];
  const names = Array.from(new Set([...(providers ?? []).map((p) => p.name), ...samples.flatMap((s) => Object.keys(s.byProvider))]));
  return (
    <section aria-labelledby="providers-title">
      <h1 id="providers-title">Providers</h1>
      {error && <p className="error" role="alert">{error}</p>}
      <div className="stats-row">
        <div className="card stat"><span className="muted">Sends per second</span><b data-testid="send-rate">{(latest?.total ?? 0).toFixed(1)}</b></div>
        <div className="card stat"><span className="muted">Events ingested per second</span><b data-testid="event-rate">{(latest?.events ?? 0).toFixed(1)}</b></div>
      </div>
      {organization && (
        <div className="card stat" data-testid="organization-sending">
          <span className="muted">Sending of {organization.name}</span>
          <b data-testid="organization-sending-state">{organization.sendingPaused ? 'paused' : 'active'}</b>
          <button type="button" disabled={busy === 'organization'} onClick={() => void toggleSending()} data-testid="organization-sending-toggle">
            {organization.sendingPaused ? 'Resume our sending' : 'Pause our sending'}
          </button>
        </div>
      )}
      <RateChart samples={samples} names={names} />
      {providers === null && !error && <p role="status">Loading providers…</p>}
      {providers && (
        <table className="table" data-testid="providers-table">
          <thead>
            <tr>
              <th scope="col">Provider</th>
              <th scope="col">State</th>
              <th scope="col">Rate limit (/s)</th>
              <th scope="col">Sent (last minute)</th>
              <th scope="col">Errors (last minute)</th>
              <th scope="col"><span className="sr-only">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {providers.map((p) => (
              <tr key={p.name} data-testid={`provider-${p.name}`}>
                <th scope="row">{p.name}</th>
                <td><span className={`badge state-${p.state}`} data-testid={`provider-state-${p.name}`}>{p.state}</span></td>
                <td>{p.ratePerSecond ?? '—'}</td>
                <td>{p.sentLastMinute ?? '—'}</td>
                <td>{p.errorsLastMinute ?? '—'}</td>
                <td>
                  {!tenantView && (
                    <button type="button" disabled={busy === p.name} onClick={() => void toggle(p)} data-testid={`provider-toggle-${p.name}`}
                      aria-label={`${p.state === 'paused' ? 'Resume' : 'Pause'} ${p.name}`}>
                      {p.state === 'paused' ? 'Resume' : 'Pause'}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
