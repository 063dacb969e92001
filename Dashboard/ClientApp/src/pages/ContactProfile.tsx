import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate } from 'react-router';
import { api, formatTime, type Contact, type ContactJourney, type ContactListMembership, type Page, type TimelineItem } from '../api';
import { actionError, noItems, QueryView } from '../query';

/** One contact: properties, lists, journeys and the timeline, with export, unsubscribe and erasure. */
export function ContactProfilePage({ contactId }: { contactId: string }) {
  const client = useQueryClient();
  const navigate = useNavigate();
  const base = `/v1/contacts/${contactId}`;
  const contact = useQuery({ queryKey: ['contact', contactId], queryFn: () => api.get<Contact>(base) });
  const lists = useQuery({ queryKey: ['contact', contactId, 'lists'], queryFn: () => api.get<Page<ContactListMembership>>(`${base}/lists`) });
  const journeys = useQuery({ queryKey: ['contact', contactId, 'journeys'], queryFn: () => api.get<Page<ContactJourney>>(`${base}/journeys`) });
  const timeline = useQuery({ queryKey: ['contact', contactId, 'timeline'], queryFn: () => api.get<Page<TimelineItem>>(`${base}/timeline?limit=100`) });
  const [confirming, setConfirming] = useState(false);
  const [message, setMessage] = useState<string | null>(null);

  const exportData = useMutation({
    mutationFn: () => api.get<unknown>(`${base}/export`),
    onSuccess: (data) => {
      const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `contact-${contactId}.json`;
      a.click();
      URL.revokeObjectURL(url);
      setMessage('Export downloaded.');
    },
  });
  const unsubscribe = useMutation({
    mutationFn: () => api.post<Contact>(`${base}/unsubscribe`),
    onSuccess: (updated) => {
      client.setQueryData(['contact', contactId], updated);
      void client.invalidateQueries({ queryKey: ['contacts'] });
      setMessage('Unsubscribed: no more email will be sent to this contact.');
    },
  });
  const erase = useMutation({
    mutationFn: () => api.del<void>(base),
    onSuccess: () => {
      client.removeQueries({ queryKey: ['contact', contactId] });
      void client.invalidateQueries({ queryKey: ['contacts'] });
      navigate('/contacts', { state: { erased: true } });
    },
  });
  const failure = exportData.error ?? unsubscribe.error ?? erase.error;

  return (
    <section aria-labelledby="contact-title">
      <p><Link to="/contacts">All contacts</Link></p>
      <QueryView query={contact} what="this contact" empty="">
        {(c) => (
          <>
            <div className="page-head">
              <h1 id="contact-title" data-testid="contact-email">{c.email}</h1>
              <div className="row">
                <button type="button" onClick={() => exportData.mutate()} disabled={exportData.isPending} data-testid="contact-export">Export data</button>
                <button type="button" onClick={() => unsubscribe.mutate()} disabled={unsubscribe.isPending || c.status === 'unsubscribed'} data-testid="contact-unsubscribe">Unsubscribe</button>
                <button type="button" className="danger" onClick={() => setConfirming(true)} data-testid="contact-erase">Erase…</button>
              </div>
            </div>
            {confirming && (
              <div role="alertdialog" aria-labelledby="erase-title" aria-describedby="erase-text" className="card" data-testid="erase-confirm">
                <h2 id="erase-title">Erase {c.email}?</h2>
                <p id="erase-text">The profile, its memberships and the content of its events and sends are deleted for good; the address stays only as a hash on the suppression list. This cannot be undone.</p>
                <div className="row">
                  <button type="button" className="danger" onClick={() => erase.mutate()} disabled={erase.isPending} data-testid="erase-confirm-button" autoFocus>Erase permanently</button>
                  <button type="button" onClick={() => setConfirming(false)}>Cancel</button>
                </div>
              </div>
            )}
            {message && <p role="status" data-testid="contact-message">{message}</p>}
            {failure && <p className="error" role="alert">{actionError(failure)}</p>}
            <dl className="facts">
              <dt>Name</dt><dd>{[c.firstName, c.lastName].filter(Boolean).join(' ') || '—'}</dd>
              <dt>Status</dt><dd><span className={`badge status-${c.status}`} data-testid="contact-status">{c.status}</span></dd>
              <dt>Engagement</dt><dd>{c.engagementScore}</dd>
              <dt>Time zone</dt><dd>{c.timeZone ?? '—'}</dd>
              <dt>Created</dt><dd>{formatTime(c.createdAt)}</dd>
            </dl>
            <h2>Properties</h2>
            {Object.keys(c.properties).length === 0 ? <p className="muted">No properties.</p> : (
              <table className="table" data-testid="contact-properties">
                <thead><tr><th scope="col">Property</th><th scope="col">Value</th></tr></thead>
                <tbody>
                  {Object.entries(c.properties).map(([k, v]) => (
                    <tr key={k}><td>{k}</td><td className="mono">{typeof v === 'string' ? v : JSON.stringify(v)}</td></tr>
                  ))}
                </tbody>
              </table>
            )}
          </>
        )}
      </QueryView>
      <h2>Lists</h2>
      <QueryView query={lists} what="lists" empty="Not on any list." isEmpty={noItems}>
        {(p) => <ul data-testid="contact-lists">{p.items.map((l) => <li key={l.listId}>{l.name} <span className="muted">since {formatTime(l.joinedAt)}</span></li>)}</ul>}
      </QueryView>
      <h2>Journeys</h2>
      <QueryView query={journeys} what="journeys" empty="In no journey." isEmpty={noItems}>
        {(p) => (
          <table className="table" data-testid="contact-journeys">
            <thead><tr><th scope="col">Workflow</th><th scope="col">Status</th><th scope="col">Step</th><th scope="col">Entered</th></tr></thead>
            <tbody>
              {p.items.map((j) => (
                <tr key={j.journeyId}>
                  <td><Link to={`/workflows/${j.workflowId}`}>{j.workflowName}</Link> <span className="muted">v{j.version}</span></td>
                  <td>{j.status}</td><td>{j.stepId ?? '—'}</td><td>{formatTime(j.enteredAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </QueryView>
      <h2>Timeline</h2>
      <QueryView query={timeline} what="the timeline" empty="Nothing has happened yet." isEmpty={noItems}>
        {(p) => (
          <ol className="timeline" data-testid="contact-timeline">
            {p.items.map((t) => (
              <li key={`${t.type}-${t.id}`} data-testid={`timeline-${t.type}`}>
                <span className="muted">{formatTime(t.at)}</span> <span className="badge">{t.type}</span> <b>{t.name}</b> {describe(t)}
              </li>
            ))}
          </ol>
        )}
      </QueryView>
    </section>
  );
}

function describe(item: TimelineItem): string {
  const d = item.detail ?? {};
  if (item.type === 'send') return [d.subject, d.provider].filter(Boolean).join(' · ');
  if (item.type === 'journey') return [d.stepId && `step ${String(d.stepId)}`].filter(Boolean).join(' ');
  const props = d.properties as Record<string, unknown> | undefined;
  return props && Object.keys(props).length > 0 ? JSON.stringify(props) : '';
}
