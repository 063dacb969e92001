import { useEffect, useState } from 'react';
import { api, errorText, type Page, type WorkflowStats } from '../api';
import { useLive } from '../live';
import { Link } from 'react-router';

interface WorkflowSummary {
  id: string;
  name: string;
  status: string;
  version?: number;
  updatedAt?: string;
}

interface Counts {
  active: number;
  entered: number;
  completed: number;
}

export function WorkflowsPage() {
  const [workflows, setWorkflows] = useState<WorkflowSummary[] | null>(null);
  const [counts, setCounts] = useState<Record<string, Counts>>({});
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    (async () => {
      try {
        const page = await api.get<Page<WorkflowSummary>>('/v1/workflows?limit=100');
        if (cancelled) return;
        setWorkflows(page.items);
        const stats = await Promise.all(
          page.items.map((w) => api.get<WorkflowStats>(`/v1/workflows/${w.id}/stats`).then((s) => [w.id, s] as const).catch(() => null)),
        );
        if (cancelled) return;
        const next: Record<string, Counts> = {};
        for (const entry of stats) {
          if (entry) {
            const [id, s] = entry;
            next[id] = { active: s.active ?? 0, entered: s.entered ?? 0, completed: s.completed ?? 0 };
          }
        }
        setCounts(next);
      } catch (err) {
        if (!cancelled) setError(errorText(err));
      }
    })();
    return () => {
      cancelled = true;
    };
  }, []);

  // Active counts follow the exact per-step changes of `stats`; entries and completions follow the listed moves,
  // which are a sample under heavy load.
  useLive({
    stats: (stats) =>
      setCounts((current) => {
        const c = { ...(current[stats.workflowId] ?? { active: 0, entered: 0, completed: 0 }) };
        c.active = Math.max(0, c.active + Object.values(stats.steps).reduce((sum, s) => sum + s.waiting, 0));
        return { ...current, [stats.workflowId]: c };
      }),
    journeyMoved: (moves) =>
      setCounts((current) => {
        const next = { ...current };
        for (const m of moves) {
          if (m.fromStep !== null && m.toStep !== null) continue;
          const c = { ...(next[m.workflowId] ?? { active: 0, entered: 0, completed: 0 }) };
          if (m.fromStep === null) c.entered++;
          if (m.toStep === null) c.completed++;
          next[m.workflowId] = c;
        }
        return next;
      }),
  });

  return (
    <section aria-labelledby="workflows-title">
      <div className="page-head">
        <h1 id="workflows-title">Workflows</h1>
        <Link to="/workflows/new" className="button" data-testid="new-workflow">New workflow</Link>
      </div>
      {error && <p className="error" role="alert">{error}</p>}
      {workflows === null && !error && <p role="status">Loading workflows…</p>}
      {workflows?.length === 0 && <p className="muted" data-testid="no-workflows">No workflows yet: create one to start.</p>}
      {workflows && workflows.length > 0 && (
        <table className="table" data-testid="workflows-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Version</th>
              <th scope="col">Active journeys</th>
              <th scope="col">Entered</th>
              <th scope="col">Completed</th>
            </tr>
          </thead>
          <tbody>
            {workflows.map((w) => (
              <tr key={w.id} data-testid={`workflow-row-${w.id}`}>
                <td><Link to={`/workflows/${w.id}`}>{w.name}</Link></td>
                <td><span className={`badge status-${w.status}`}>{w.status}</span></td>
                <td>{w.version ?? '—'}</td>
                <td data-testid={`workflow-active-${w.id}`}>{counts[w.id]?.active ?? 0}</td>
                <td>{counts[w.id]?.entered ?? 0}</td>
                <td>{counts[w.id]?.completed ?? 0}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
