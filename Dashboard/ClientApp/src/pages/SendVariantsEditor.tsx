import { useState } from 'react';
import { api, errorText, type Template } from '../api';
import type { SendVariant, Step } from '../workflow';

/** What is wrong with a send step's variants before the server is asked: index to messages, and the whole list's. */
export function variantProblems(variants: SendVariant[]): { byIndex: Record<number, string[]>; list: string[] } {
  const byIndex: Record<number, string[]> = {};
  const seen = new Set<string>();
  variants.forEach((v, i) => {
    const problems: string[] = [];
    if (!v.id.trim()) problems.push('Give the variant a name.');
    else if (seen.has(v.id)) problems.push(`The name ${v.id} is used twice.`);
    seen.add(v.id);
    if (!Number.isFinite(v.weight) || v.weight <= 0) problems.push('The weight must be greater than 0.');
    if (problems.length) byIndex[i] = problems;
  });
  const list = variants.length === 1 ? ['One variant is no test: add another or remove it.'] : [];
  return { byIndex, list };
}

function nextVariantId(variants: SendVariant[]): string {
  const taken = new Set(variants.map((v) => v.id));
  for (let i = 0; ; i++) {
    const id = i < 26 ? String.fromCharCode(65 + i) : `V${i + 1}`;
    if (!taken.has(id)) return id;
  }
}

/**
 * The A/B variants of a send step: each variant's name, weight, template and subject, its share of contacts, and the
 * problems found here or by the server (`steps.<id>.variants[i].<field>`). One row per variant, so a further per-variant
 * setting is one more field in the row.
 */
export function SendVariantsEditor({ step, templates, serverErrors, onChange }: {
  step: Step;
  templates: Template[];
  /** The server's errors for this step, keyed by the path after `steps.<id>.` (e.g. `variants[0].weight`). */
  serverErrors: Record<string, string[]>;
  onChange: (variants: SendVariant[] | undefined) => void;
}) {
  const variants = step.variants ?? [];
  const total = variants.reduce((sum, v) => sum + (Number.isFinite(v.weight) && v.weight > 0 ? v.weight : 0), 0);
  const { byIndex, list } = variantProblems(variants);
  const set = (i: number, patch: Partial<SendVariant>) => onChange(variants.map((v, j) => (j === i ? { ...v, ...patch } : v)));
  const add = () => {
    const first = variants.length === 0 ? [{ id: 'A', weight: 50 }] : variants;
    onChange([...first, { id: nextVariantId(first), weight: 50 }]);
  };
  const remove = (i: number) => {
    const rest = variants.filter((_, j) => j !== i);
    onChange(rest.length ? rest : undefined);
  };
  const even = () => onChange(variants.map((v) => ({ ...v, weight: Math.round(100 / variants.length) })));
  const [suggesting, setSuggesting] = useState(false);
  const [suggestError, setSuggestError] = useState<string | null>(null);
  // Subject lines written for the step's template (POST /v1/ai/subject-lines); each becomes a variant, the template's own
  // subject staying as variant A, and the weights are evened out.
  const suggest = async () => {
    setSuggestError(null);
    if (!step.templateId) {
      setSuggestError('Choose a template first: the subject lines are written for it.');
      return;
    }
    setSuggesting(true);
    try {
      const answer = await api.post<{ variants: { subject: string }[]; provider: string }>('/v1/ai/subject-lines', { templateId: step.templateId, count: 2 });
      let next = variants.length === 0 ? [{ id: 'A', weight: 50 } as SendVariant] : [...variants];
      for (const v of answer.variants) next = [...next, { id: nextVariantId(next), weight: 50, subject: v.subject }];
      onChange(next.map((v) => ({ ...v, weight: Math.round(100 / next.length) })));
    } catch (err) {
      setSuggestError(errorText(err));
    } finally {
      setSuggesting(false);
    }
  };
  const fromServer = (i: number) => Object.entries(serverErrors).filter(([k]) => k.startsWith(`variants[${i}]`)).flatMap(([, m]) => m);

  return (
    <fieldset className="variants" data-testid="variants">
      <legend>A/B variants</legend>
      {variants.length === 0 && <p className="muted">Every contact gets the template above. Add variants to test subjects or templates against each other.</p>}
      {variants.map((v, i) => {
        const problems = [...(byIndex[i] ?? []), ...fromServer(i)];
        const share = total > 0 && v.weight > 0 ? Math.round((v.weight / total) * 1000) / 10 : 0;
        return (
          <div className="variant" key={i} data-testid={`variant-${i}`}>
            <div className="field inline">
              <label htmlFor={`variant-${i}-id`}>Variant</label>
              <input id={`variant-${i}-id`} className="short" value={v.id} data-testid={`variant-${i}-id`} aria-invalid={problems.length > 0}
                onChange={(e) => set(i, { id: e.target.value })} />
              <label htmlFor={`variant-${i}-weight`}>Weight</label>
              <input id={`variant-${i}-weight`} className="short" type="number" min={0} step="any" value={Number.isFinite(v.weight) ? v.weight : ''}
                data-testid={`variant-${i}-weight`} aria-invalid={problems.length > 0}
                onChange={(e) => set(i, { weight: e.target.value === '' ? Number.NaN : Number(e.target.value) })} />
              <span className="muted" data-testid={`variant-${i}-share`}>{share}%</span>
              <button type="button" className="link" aria-label={`Remove variant ${v.id || i + 1}`} data-testid={`variant-${i}-remove`} onClick={() => remove(i)}>Remove</button>
            </div>
            <div className="field">
              <label htmlFor={`variant-${i}-template`}>Template of variant {v.id || i + 1}</label>
              <select id={`variant-${i}-template`} value={v.templateId ?? ''} data-testid={`variant-${i}-template`}
                onChange={(e) => set(i, { templateId: e.target.value || undefined })}>
                <option value="">The step's template</option>
                {templates.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
                {v.templateId && !templates.some((t) => t.id === v.templateId) && <option value={v.templateId}>{v.templateId}</option>}
              </select>
            </div>
            <div className="field">
              <label htmlFor={`variant-${i}-subject`}>Subject of variant {v.id || i + 1} (optional)</label>
              <input id={`variant-${i}-subject`} value={v.subject ?? ''} data-testid={`variant-${i}-subject`}
                onChange={(e) => set(i, { subject: e.target.value || undefined })} />
            </div>
            {problems.length > 0 && (
              <ul className="error" role="alert" data-testid={`variant-${i}-errors`}>{problems.map((p, k) => <li key={k}>{p}</li>)}</ul>
            )}
          </div>
        );
      })}
      {suggestError && <p className="error" role="alert" data-testid="suggest-error">{suggestError}</p>}
      {list.length > 0 && <p className="error" role="alert" data-testid="variants-error">{list.join(' ')}</p>}
      {variants.length > 0 && <p className="muted" data-testid="variants-total">Weights total {total}; each variant gets its weight's share of contacts.</p>}
      <div className="row">
        <button type="button" onClick={add} data-testid="add-variant">Add variant</button>
        <button type="button" onClick={() => void suggest()} disabled={suggesting} data-testid="suggest-subjects">
          {suggesting ? 'Writing…' : 'Suggest subject lines'}
        </button>
        {variants.length > 1 && <button type="button" onClick={even} data-testid="even-weights">Split evenly</button>}
      </div>
    </fieldset>
  );
}
