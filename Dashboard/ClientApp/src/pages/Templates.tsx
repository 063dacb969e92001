import { useEffect, useState, type FormEvent } from 'react';
import { api, errorText, type Page, type Template } from '../api';
import { Link, useNavigate } from 'react-router';
import { AiVariants } from './AiVariants';

interface Preview {
  subject: string;
  html: string;
  text?: string;
}

const blank: Omit<Template, 'id'> = {
  name: '',
  subject: 'Welcome, {{ contact.firstName | default: "there" }}',
  html: '<p>Hi {{ contact.firstName | default: "there" }},</p>\n<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
  text: '',
};

export function TemplatesPage({ selectedId }: { selectedId: string | null }) {
  const navigate = useNavigate();
  const [templates, setTemplates] = useState<Template[]>([]);
  const [draft, setDraft] = useState<Omit<Template, 'id'> & { id?: string }>(blank);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [contactId, setContactId] = useState('');
  const [eventJson, setEventJson] = useState('{ "properties": {} }');
  const [preview, setPreview] = useState<Preview | null>(null);
  const [previewError, setPreviewError] = useState<string | null>(null);

  useEffect(() => {
    api.get<Page<Template>>('/v1/templates?limit=200').then((p) => setTemplates(p.items)).catch((err) => setError(errorText(err)));
  }, []);

  useEffect(() => {
    setPreview(null);
    if (!selectedId || selectedId === 'new') {
      setDraft(blank);
      return;
    }
    api.get<Template>(`/v1/templates/${selectedId}`).then(setDraft).catch((err) => setError(errorText(err)));
  }, [selectedId]);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setSaved(null);
    try {
      const body = { name: draft.name, subject: draft.subject, html: draft.html, text: draft.text || undefined };
      const result = draft.id ? await api.put<Template>(`/v1/templates/${draft.id}`, body) : await api.post<Template>('/v1/templates', body);
      const id = result?.id ?? draft.id;
      setSaved('Template saved');
      setTemplates((t) => [...t.filter((x) => x.id !== id), { ...draft, ...result, id: id! }]);
      if (!draft.id && id) navigate(`/templates/${id}`);
    } catch (err) {
      setError(errorText(err));
    }
  };

  const runPreview = async () => {
    setPreviewError(null);
    if (!draft.id) {
      setPreviewError('Save the template first.');
      return;
    }
    try {
      let event: unknown = undefined;
      if (eventJson.trim()) event = JSON.parse(eventJson);
      let id = contactId.trim();
      if (id.includes('@')) {
        const found = await api.get<Page<{ id: string }>>(`/v1/contacts?email=${encodeURIComponent(id)}&limit=1`);
        if (!found.items.length) {
          setPreviewError(`No contact with the email ${id}.`);
          return;
        }
        id = found.items[0].id;
      }
      setPreview(await api.post<Preview>(`/v1/templates/${draft.id}/preview`, { contactId: id || undefined, event }));
    } catch (err) {
      setPreviewError(errorText(err));
    }
  };

  return (
    <section className="templates" aria-labelledby="templates-title">
      <div className="page-head">
        <h1 id="templates-title">Templates</h1>
        <Link to="/templates/new" className="button" data-testid="new-template">New template</Link>
      </div>
      <div className="split">
        <nav aria-label="Templates" className="list-pane">
          <ul className="list">
            {templates.map((t) => (
              <li key={t.id}><Link to={`/templates/${t.id}`} aria-current={t.id === selectedId ? 'page' : undefined}>{t.name}</Link></li>
            ))}
          </ul>
        </nav>
        <form className="card form grow" onSubmit={save} aria-labelledby="template-editor-title" data-testid="template-form">
          <h2 id="template-editor-title">{draft.id ? 'Edit template' : 'New template'}</h2>
          <div className="field">
            <label htmlFor="template-name">Name</label>
            <input id="template-name" required value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} data-testid="template-name" />
          </div>
          <div className="field">
            <label htmlFor="template-subject">Subject (Liquid)</label>
            <input id="template-subject" required value={draft.subject} onChange={(e) => setDraft({ ...draft, subject: e.target.value })} data-testid="template-subject" />
          </div>
          <div className="field">
            <label htmlFor="template-html">HTML body (Liquid)</label>
            <textarea id="template-html" required rows={12} className="mono" value={draft.html} onChange={(e) => setDraft({ ...draft, html: e.target.value })} data-testid="template-html" />
          </div>
          <div className="field">
            <label htmlFor="template-text">Plain-text body (optional)</label>
            <textarea id="template-text" rows={4} className="mono" value={draft.text ?? ''} onChange={(e) => setDraft({ ...draft, text: e.target.value })} />
          </div>
          {error && <p className="error" role="alert" data-testid="template-error">{error}</p>}
          {saved && <p role="status">{saved}</p>}
          <button type="submit" data-testid="template-save">Save template</button>
        </form>
        <section className="card grow" aria-labelledby="preview-title">
          <h2 id="preview-title">Preview</h2>
          <div className="field">
            <label htmlFor="preview-contact">Contact (email or id)</label>
            <input id="preview-contact" value={contactId} onChange={(e) => setContactId(e.target.value)} placeholder="leave empty for a sample contact" data-testid="preview-contact" />
          </div>
          <div className="field">
            <label htmlFor="preview-event">Event (JSON)</label>
            <textarea id="preview-event" rows={3} className="mono" value={eventJson} onChange={(e) => setEventJson(e.target.value)} />
          </div>
          <button type="button" onClick={() => void runPreview()} data-testid="preview-run">Render preview</button>
          {previewError && <p className="error" role="alert">{previewError}</p>}
          {preview && (
            <div data-testid="preview-result">
              <p><b>Subject:</b> <span data-testid="preview-subject">{preview.subject}</span></p>
              <iframe title="HTML preview" sandbox="" srcDoc={preview.html} className="preview-frame" />
              {preview.text && <pre className="mono">{preview.text}</pre>}
            </div>
          )}
        </section>
        <AiVariants
          templateId={draft.id}
          onSubject={(subject) => setDraft((d) => ({ ...d, subject }))}
          onContent={(subject, html) => setDraft((d) => ({ ...d, subject, html }))}
        />
      </div>
    </section>
  );
}
