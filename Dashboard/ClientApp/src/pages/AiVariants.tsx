import { useState } from 'react';
import { api, errorText } from '../api';

interface SubjectLineVariant { subject: string; rationale: string }
interface ContentVariant { subject: string; html: string }
interface Variants<T> { variants: T[]; provider: string }

/**
 * Subject-line and content variants for the template being edited (POST /v1/ai/subject-lines and /v1/ai/content).
 * A saved template is sent by id, so its own subject and body guide the writing; "Use" copies a variant into the draft.
 */
export function AiVariants({ templateId, onSubject, onContent }: {
  templateId?: string;
  onSubject: (subject: string) => void;
  onContent: (subject: string, html: string) => void;
}) {
  const [brief, setBrief] = useState('');
  const [tone, setTone] = useState('');
  const [count, setCount] = useState(3);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [subjects, setSubjects] = useState<Variants<SubjectLineVariant> | null>(null);
  const [contents, setContents] = useState<Variants<ContentVariant> | null>(null);

  const ask = async (kind: 'subject-lines' | 'content') => {
    setError(null);
    if (kind === 'content' && !brief.trim()) {
      setError('Write a brief for the content.');
      return;
    }
    if (!templateId && !brief.trim()) {
      setError('Write a brief, or save the template first.');
      return;
    }
    setBusy(true);
    try {
      const body = { templateId, brief: brief.trim() || undefined, count, tone: tone.trim() || undefined };
      if (kind === 'subject-lines') {
        setSubjects(await api.post<Variants<SubjectLineVariant>>('/v1/ai/subject-lines', body));
      } else {
        setContents(await api.post<Variants<ContentVariant>>('/v1/ai/content', body));
      }
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card grow" aria-labelledby="ai-title" data-testid="ai-variants">
      <h2 id="ai-title">Write variants</h2>
      <div className="field">
        <label htmlFor="ai-brief">Brief</label>
        <textarea id="ai-brief" rows={3} value={brief} maxLength={4000} onChange={(e) => setBrief(e.target.value)}
          placeholder="What the email is about, for whom, and what it should make them do" data-testid="ai-brief" />
      </div>
      <div className="row">
        <div className="field">
          <label htmlFor="ai-tone">Tone</label>
          <input id="ai-tone" value={tone} maxLength={60} onChange={(e) => setTone(e.target.value)} placeholder="friendly" />
        </div>
        <div className="field">
          <label htmlFor="ai-count">Variants</label>
          <input id="ai-count" type="number" min={1} max={10} value={count}
            onChange={(e) => setCount(Math.min(10, Math.max(1, Number(e.target.value) || 1)))} />
        </div>
      </div>
      <div className="row">
        <button type="button" disabled={busy} onClick={() => void ask('subject-lines')} data-testid="ai-subject-lines">Suggest subject lines</button>
        <button type="button" disabled={busy} onClick={() => void ask('content')} data-testid="ai-content">Write content</button>
      </div>
      {error && <p className="error" role="alert" data-testid="ai-error">{error}</p>}
      {subjects && (
        <ul className="list" data-testid="ai-subject-results" aria-label={`Subject lines (${subjects.provider})`}>
          {subjects.variants.map((v, i) => (
            <li key={i}>
              <b>{v.subject}</b> <small>{v.rationale}</small>{' '}
              <button type="button" onClick={() => onSubject(v.subject)}>Use</button>
            </li>
          ))}
        </ul>
      )}
      {contents && (
        <ul className="list" data-testid="ai-content-results" aria-label={`Content (${contents.provider})`}>
          {contents.variants.map((v, i) => (
            <li key={i}>
              <b>{v.subject}</b>
              <iframe title={`Content variant ${i + 1}`} sandbox="" srcDoc={v.html} className="preview-frame" />
              <button type="button" onClick={() => onContent(v.subject, v.html)}>Use</button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
