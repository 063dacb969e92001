import { useEffect, useState } from 'react';
import { api, errorText, type Page } from '../api';

interface JourneyRow {
  id?: string;
  journeyId?: string;
  contactId: string;
  email?: string;
  status?: string;
  stepId?: string;
  enteredAt?: string;
  updatedAt?: string;
}

type TimelineItem = Record<string, unknown> & { type?: string; kind?: string; at?: string; timestamp?: string; name?: string };

function when(value: unknown): string {
  return typeof value === 'string' ? new Date(value).toLocaleString() : '';
}

export function JourneysPanel({ workflowId, stepId }: { workflowId: string; stepId: string }) {
  const [journeys, setJourneys] = useState<JourneyRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [contact, setContact] = useState<string | null>(null);
  const [timeline, setTimeline] = useState<TimelineItem[] | null>(null);

  useEffect(() => {
    setJourneys(null);
    setContact(null);
    api.get<Page<JourneyRow>>(`/v1/workflows/${workflowId}/journeys?stepId=${encodeURIComponent(stepId)}&limit=50`)
      .then((p) => setJourneys(p.items))
      .catch((err) => setError(errorText(err)));
  }, [workflowId, stepId]);

  useEffect(() => {
    if (!contact) return;
    setTimeline(null);
    api.get<Page<TimelineItem> | TimelineItem[]>(`/v1/contacts/${contact}/timeline`)
      .then((t) => setTimeline(Array.isArray(t) ? t : t.items))
      .catch((err) => setError(errorText(err)));
  }, [contact]);

  return (
    <section aria-labelledby="journeys-title" data-testid="journeys-panel">
      <h2 id="journeys-title">Journeys at {stepId}</h2>
      {error && <p className="error" role="alert">{error}</p>}
      {journeys === null && !error && <p role="status">Loading…</p>}
      {journeys?.length === 0 && <p className="muted">No journeys here right now.</p>}
      <ul className="list">
        {journeys?.map((j) => (
          <li key={j.journeyId ?? j.id ?? j.contactId}>
            <button type="button" className="link" onClick={() => setContact(j.contactId)} aria-pressed={contact === j.contactId} data-testid={`journey-${j.contactId}`}>
              {j.email ?? j.contactId}
            </button>
            <span className="muted"> {j.status} {when(j.enteredAt ?? j.updatedAt)}</span>
          </li>
        ))}
      </ul>
      {contact && (
        <section aria-labelledby="timeline-title" data-testid="timeline">
          <h3 id="timeline-title">Contact timeline</h3>
          {timeline === null ? <p role="status">Loading…</p> : (
            <ol className="timeline">
              {timeline.map((item, i) => (
                <li key={i}>
                  <time>{when(item.at ?? item.timestamp ?? item.occurredAt)}</time>{' '}
                  <b>{item.type ?? item.kind}</b>{' '}
                  <span>{String(item.name ?? item.stepId ?? item.subject ?? item.status ?? '')}</span>
                </li>
              ))}
            </ol>
          )}
        </section>
      )}
    </section>
  );
}
