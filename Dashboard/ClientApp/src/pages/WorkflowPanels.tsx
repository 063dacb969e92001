import { useEffect, useState } from 'react';
import { api, errorText, type Page } from '../api';
import { diffVersions, type VersionDiff } from '../versionDiff';

interface VersionItem { version: number; active: boolean; steps: number }

/** The published versions of a workflow and what changed between any two of them (or a version and the saved draft). */
export function VersionsPanel({ workflowId, latest, onPublish }: { workflowId: string; latest?: number; onPublish: () => void }) {
  const [versions, setVersions] = useState<VersionItem[] | null>(null);
  const [from, setFrom] = useState<string>('');
  const [to, setTo] = useState<string>('draft');
  const [diff, setDiff] = useState<VersionDiff | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    api.get<{ items: VersionItem[] }>(`/v1/workflows/${workflowId}/versions`)
      .then((r) => {
        if (cancelled) return;
        setVersions(r.items);
        if (r.items.length > 0) setFrom(String(r.items[0].version));
      })
      .catch((err) => !cancelled && setError(errorText(err)));
    return () => {
      cancelled = true;
    };
  }, [workflowId, latest]);

  useEffect(() => {
    if (!from) return;
    let cancelled = false;
    const read = (v: string) => api.get<Record<string, unknown>>(v === 'draft' ? `/v1/workflows/${workflowId}` : `/v1/workflows/${workflowId}/versions/${v}`);
    Promise.all([read(from), read(to)])
      .then(([a, b]) => !cancelled && setDiff(diffVersions(a, b)))
      .catch((err) => !cancelled && setError(errorText(err)));
    return () => {
      cancelled = true;
    };
  }, [workflowId, from, to, latest]);

  const label = (v: string) => (v === 'draft' ? 'the saved draft' : `version ${v}`);
  return (
    <section className="panel-form" aria-labelledby="versions-title" data-testid="versions-panel">
      <h2 id="versions-title">Versions</h2>
      {error && <p className="error" role="alert">{error}</p>}
      {versions?.length === 0 && <p className="muted">Nothing published yet: publishing freezes the draft as version 1.</p>}
      <ul className="versions" data-testid="versions-list">
        {versions?.map((v) => (
          <li key={v.version} data-testid={`version-${v.version}`}>
            v{v.version} · {v.steps} steps{v.active && <span className="badge">active</span>}
          </li>
        ))}
      </ul>
      <button type="button" onClick={onPublish} data-testid="publish-new-version">Publish new version</button>
      {versions && versions.length > 0 && (
        <>
          <div className="field inline">
            <label htmlFor="diff-from">Compare</label>
            <select id="diff-from" value={from} onChange={(e) => setFrom(e.target.value)} data-testid="diff-from">
              {versions.map((v) => <option key={v.version} value={v.version}>v{v.version}</option>)}
            </select>
            <label htmlFor="diff-to">with</label>
            <select id="diff-to" value={to} onChange={(e) => setTo(e.target.value)} data-testid="diff-to">
              <option value="draft">draft</option>
              {versions.map((v) => <option key={v.version} value={v.version}>v{v.version}</option>)}
            </select>
          </div>
          {diff && (
            <div data-testid="diff">
              {diff.workflow.length === 0 && diff.steps.length === 0 && <p className="muted" data-testid="diff-none">No change from {label(from)} to {label(to)}.</p>}
              {diff.workflow.length > 0 && <p data-testid="diff-workflow">Changed: {diff.workflow.join(', ')}</p>}
              <ul>
                {diff.steps.map((c) => (
                  <li key={c.id} className={`diff-${c.kind}`} data-testid={`diff-step-${c.id}`}>
                    {c.id}: {c.kind}{c.fields.length > 0 && ` (${c.fields.join(', ')})`}
                  </li>
                ))}
              </ul>
            </div>
          )}
        </>
      )}
    </section>
  );
}

interface Segment { id: string; name: string }
interface EnrollResult { enrolled: number; rejected: { contact?: string | null; error: string }[] }

/** Emails from pasted text or a CSV file: every address-looking cell, once each. */
export function emailsIn(text: string): string[] {
  const found = text.split(/[\s,;"]+/).map((t) => t.trim().toLowerCase()).filter((t) => /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(t));
  return [...new Set(found)];
}

/** Enroll contacts by hand into an active workflow: addresses (typed or from a CSV file) or a whole segment. */
export function EnrollPanel({ workflowId, active }: { workflowId: string; active: boolean }) {
  const [mode, setMode] = useState<'emails' | 'segment'>('emails');
  const [text, setText] = useState('');
  const [segments, setSegments] = useState<Segment[]>([]);
  const [segmentId, setSegmentId] = useState('');
  const [result, setResult] = useState<EnrollResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api.get<Page<Segment>>('/v1/segments?limit=200').then((p) => setSegments(p.items)).catch(() => setSegments([]));
  }, []);

  const emails = emailsIn(text);
  const enroll = async () => {
    setError(null);
    setResult(null);
    if (mode === 'emails' && emails.length === 0) return setError('No email addresses found.');
    if (mode === 'segment' && !segmentId) return setError('Choose a segment.');
    setBusy(true);
    try {
      setResult(await api.post<EnrollResult>(`/v1/workflows/${workflowId}/enroll`, mode === 'emails' ? { emails } : { segmentId }));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel-form" aria-labelledby="enroll-title" data-testid="enroll-panel">
      <h2 id="enroll-title">Enroll contacts</h2>
      {!active && <p className="muted">Only an active workflow takes enrollments.</p>}
      <div className="field">
        <label htmlFor="enroll-mode">Who</label>
        <select id="enroll-mode" value={mode} onChange={(e) => setMode(e.target.value as 'emails' | 'segment')} data-testid="enroll-mode">
          <option value="emails">Email addresses or a CSV file</option>
          <option value="segment">A segment</option>
        </select>
      </div>
      {mode === 'emails' ? (
        <>
          <div className="field">
            <label htmlFor="enroll-emails">Addresses (one per line, or pasted CSV)</label>
            <textarea id="enroll-emails" rows={5} value={text} onChange={(e) => setText(e.target.value)} data-testid="enroll-emails" />
          </div>
          <div className="field">
            <label htmlFor="enroll-file">CSV file</label>
            <input id="enroll-file" type="file" accept=".csv,text/csv,text/plain" data-testid="enroll-file"
              onChange={(e) => { const f = e.target.files?.[0]; if (f) void f.text().then(setText); }} />
          </div>
          <p className="muted" data-testid="enroll-count">{emails.length} address{emails.length === 1 ? '' : 'es'} found</p>
        </>
      ) : (
        <div className="field">
          <label htmlFor="enroll-segment">Segment</label>
          <select id="enroll-segment" value={segmentId} onChange={(e) => setSegmentId(e.target.value)} data-testid="enroll-segment">
            <option value="">Choose a segment…</option>
            {segments.map((s) => <option key={s.id} value={s.id}>{s.name}</option>)}
          </select>
        </div>
      )}
      <button type="button" onClick={() => void enroll()} disabled={busy || !active} data-testid="enroll-submit">Enroll</button>
      {error && <p className="error" role="alert" data-testid="enroll-error">{error}</p>}
      {result && (
        <div role="status" data-testid="enroll-result">
          <p>{result.enrolled} enrolled{result.rejected.length > 0 && `, ${result.rejected.length} not`}</p>
          {result.rejected.length > 0 && (
            <ul data-testid="enroll-rejected">{result.rejected.map((r, i) => <li key={i}>{r.contact ?? '?'}: {r.error}</li>)}</ul>
          )}
        </div>
      )}
    </section>
  );
}
