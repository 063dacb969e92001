import { useCallback, useEffect, useState } from 'react';
import type { Template } from '../api';
import { SendVariantsEditor } from './SendVariantsEditor';
import { AutoWinnerEditor, withPathIds } from './AutoWinnerEditor';
import {
  STEP_TYPES, connect, formatDuration, outlets, parseDuration, reentryForm,
  type Condition, type Settings, type Step, type Trigger,
} from '../workflow';

const UNITS: { value: 'M' | 'H' | 'D' | 'S'; label: string }[] = [
  { value: 'S', label: 'seconds' },
  { value: 'M', label: 'minutes' },
  { value: 'H', label: 'hours' },
  { value: 'D', label: 'days' },
];

/** An ISO 8601 duration as an amount and a unit. */
export function DurationField({ id, label, value, onChange, allowNegative }: {
  id: string; label: string; value: string | undefined; onChange: (v: string) => void; allowNegative?: boolean;
}) {
  const parsed = parseDuration(value);
  return (
    <fieldset className="field duration" data-testid={`${id}-field`}>
      <legend>{label}</legend>
      <label htmlFor={`${id}-amount`} className="sr-only">{label} amount</label>
      <input id={`${id}-amount`} type="number" min={allowNegative ? undefined : 0} value={parsed.amount}
        onChange={(e) => onChange(formatDuration(Number(e.target.value), parsed.unit))} data-testid={`${id}-amount`} />
      <label htmlFor={`${id}-unit`} className="sr-only">{label} unit</label>
      <select id={`${id}-unit`} value={parsed.unit} onChange={(e) => onChange(formatDuration(parsed.amount, e.target.value as 'D'))} data-testid={`${id}-unit`}>
        {UNITS.map((u) => <option key={u.value} value={u.value}>{u.label}</option>)}
      </select>
      <span className="muted mono">{value}</span>
    </fieldset>
  );
}

/** A text field for a JSON object; invalid JSON is named under the field, reported to <onValidity> and not applied. */
function JsonField({ id, label, value, onChange, onValidity }: {
  id: string; label: string; value: unknown; onChange: (v: Record<string, unknown>) => void; onValidity?: (error: string | null) => void;
}) {
  const [text, setText] = useState(JSON.stringify(value ?? {}, null, 2));
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setText(JSON.stringify(value ?? {}, null, 2));
    setError(null);
    onValidity?.(null);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);
  // Text left invalid is dropped with the field: the last valid value stands.
  useEffect(() => () => onValidity?.(null), [onValidity]);
  const report = (message: string | null) => {
    setError(message);
    onValidity?.(message);
  };
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <textarea id={id} rows={4} className="mono" value={text} aria-invalid={error !== null} aria-describedby={error ? `${id}-error` : undefined}
        onChange={(e) => setText(e.target.value)}
        onBlur={() => {
          try {
            const parsed: unknown = JSON.parse(text || '{}');
            if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('Must be a JSON object { ... }');
            report(null);
            onChange(parsed as Record<string, unknown>);
          } catch (err) {
            report(`Not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
          }
        }}
        data-testid={id} />
      {error && <p id={`${id}-error`} className="error" role="alert" data-testid={`${id}-error`}>{error}</p>}
    </div>
  );
}

function ConditionEditor({ index, condition, stepIds, onChange }: {
  index: number; condition: Condition; stepIds: string[]; onChange: (c: Condition) => void;
}) {
  const c = condition as Record<string, string | undefined>;
  const kind = 'opened' in c ? 'opened' : 'clicked' in c ? 'clicked' : 'property' in c ? 'property' : 'event';
  const id = `condition-${index}`;
  return (
    <fieldset className="condition" data-testid={id}>
      <legend>Condition {index + 1}</legend>
      <div className="field">
        <label htmlFor={`${id}-kind`}>When</label>
        <select id={`${id}-kind`} value={kind} data-testid={`${id}-kind`}
          onChange={(e) => {
            const k = e.target.value;
            onChange(k === 'opened' ? { opened: '' } : k === 'clicked' ? { clicked: '' } : k === 'property' ? { property: '', op: 'eq', value: '' } : { event: '' });
          }}>
          <option value="opened">the contact opened a send step</option>
          <option value="clicked">the contact clicked in a send step</option>
          <option value="property">a contact property matches</option>
          <option value="event">the contact did an event</option>
        </select>
      </div>
      {(kind === 'opened' || kind === 'clicked') && (
        <div className="field">
          <label htmlFor={`${id}-step`}>Send step</label>
          <select id={`${id}-step`} value={c[kind] ?? ''} data-testid={`${id}-step`}
            onChange={(e) => onChange(kind === 'opened' ? { opened: e.target.value } : { clicked: e.target.value })}>
            <option value="">Choose a step…</option>
            {stepIds.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </div>
      )}
      {kind === 'property' && (
        <>
          <div className="field">
            <label htmlFor={`${id}-property`}>Property</label>
            <input id={`${id}-property`} value={c.property ?? ''} data-testid={`${id}-property`}
              onChange={(e) => onChange({ property: e.target.value, op: c.op ?? 'eq', value: c.value ?? '' })} />
          </div>
          <div className="field">
            <label htmlFor={`${id}-op`}>Operator</label>
            <select id={`${id}-op`} value={c.op ?? 'eq'} onChange={(e) => onChange({ property: c.property ?? '', op: e.target.value, value: c.value ?? '' })}>
              <option value="eq">equals</option>
              <option value="neq">does not equal</option>
              <option value="contains">contains</option>
              <option value="gt">greater than</option>
              <option value="lt">less than</option>
              <option value="exists">exists</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor={`${id}-value`}>Value</label>
            <input id={`${id}-value`} value={c.value ?? ''} onChange={(e) => onChange({ property: c.property ?? '', op: c.op ?? 'eq', value: e.target.value })} />
          </div>
        </>
      )}
      {kind === 'event' && (
        <div className="field">
          <label htmlFor={`${id}-event`}>Event name</label>
          <input id={`${id}-event`} value={c.event ?? ''} onChange={(e) => onChange({ event: e.target.value })} />
        </div>
      )}
    </fieldset>
  );
}

export function StepPanel({ step, steps, templates, errors, fieldErrors, onInvalid, onChange, onRename, onDelete, onMakeStart, isStart, hasGoal = false }: {
  step: Step;
  steps: Step[];
  templates: Template[];
  errors: string[];
  /** The server's errors for this step by the path after `steps.<id>.`. */
  fieldErrors: Record<string, string[]>;
  /** A field of this step holds text that cannot be saved (message), or no longer does (null). */
  onInvalid: (field: string, message: string | null) => void;
  onChange: (s: Step) => void;
  onRename: (to: string) => string | null;
  onDelete: () => void;
  onMakeStart: () => void;
  isStart: boolean;
  /** The workflow has a goal event, so variants can be judged by it. */
  hasGoal?: boolean;
}) {
  const [idDraft, setIdDraft] = useState(step.id);
  const [idError, setIdError] = useState<string | null>(null);
  useEffect(() => {
    setIdDraft(step.id);
    setIdError(null);
  }, [step.id]);
  const others = steps.filter((s) => s.id !== step.id).map((s) => s.id);
  const sendSteps = steps.filter((s) => s.type === 'send').map((s) => s.id);
  const set = (patch: Partial<Step>) => onChange({ ...step, ...patch });
  const typeLabel = STEP_TYPES.find((t) => t.type === step.type)?.label;
  const bodyValidity = useCallback((message: string | null) => onInvalid('body', message), [onInvalid]);
  const setValidity = useCallback((message: string | null) => onInvalid('set', message), [onInvalid]);
  const filterValidity = useCallback((message: string | null) => onInvalid('filter', message), [onInvalid]);

  return (
    <form className="panel-form" aria-labelledby="step-panel-title" data-testid="step-panel" onSubmit={(e) => e.preventDefault()}>
      <h2 id="step-panel-title">{typeLabel} step</h2>
      {errors.length > 0 && (
        <ul className="error" role="alert" data-testid="step-panel-errors">{errors.map((e, i) => <li key={i}>{e}</li>)}</ul>
      )}
      <div className="field">
        <label htmlFor="step-id">Step id</label>
        <input id="step-id" value={idDraft} data-testid="step-id" aria-invalid={idError !== null}
          onChange={(e) => setIdDraft(e.target.value)}
          onBlur={() => {
            if (idDraft !== step.id) setIdError(onRename(idDraft.trim()));
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              e.preventDefault();
              if (idDraft !== step.id) setIdError(onRename(idDraft.trim()));
            }
          }} />
        {idError && <p className="error">{idError}</p>}
      </div>

      {step.type === 'send' && (
        <div className="field">
          <label htmlFor="step-template">Template</label>
          {templates.length > 0 ? (
            <select id="step-template" value={step.templateId ?? ''} onChange={(e) => set({ templateId: e.target.value })} data-testid="step-template">
              <option value="">Choose a template…</option>
              {templates.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
              {step.templateId && !templates.some((t) => t.id === step.templateId) && <option value={step.templateId}>{step.templateId}</option>}
            </select>
          ) : (
            <input id="step-template" value={step.templateId ?? ''} placeholder="Template id" onChange={(e) => set({ templateId: e.target.value })} data-testid="step-template" />
          )}
        </div>
      )}
      {step.type === 'send' && (
        <SendVariantsEditor step={step} templates={templates} serverErrors={fieldErrors} onChange={(variants) => set({ variants })} />
      )}
      {(step.type === 'send' || step.type === 'split') && (
        <AutoWinnerEditor step={step} hasGoal={hasGoal} serverErrors={fieldErrors} onChange={set} />
      )}

      {step.type === 'delay' && <DurationField id="step-duration" label="Wait for" value={step.duration} onChange={(v) => set({ duration: v })} />}

      {step.type === 'waitUntil' && (
        <>
          <div className="field">
            <label htmlFor="wait-mode">Wait until</label>
            <select id="wait-mode" data-testid="wait-mode"
              value={step.at !== undefined ? 'at' : step.property !== undefined ? 'property' : 'timeOfDay'}
              onChange={(e) => {
                const base: Step = { id: step.id, type: 'waitUntil', next: step.next };
                onChange(e.target.value === 'at' ? { ...base, at: new Date().toISOString() }
                  : e.target.value === 'property' ? { ...base, property: '', offset: 'P0D' } : { ...base, timeOfDay: '10:00' });
              }}>
              <option value="at">a date and time</option>
              <option value="property">a date property of the contact</option>
              <option value="timeOfDay">the next time of day (contact's time zone)</option>
            </select>
          </div>
          {step.at !== undefined && (
            <div className="field">
              <label htmlFor="wait-at">Date and time (UTC)</label>
              <input id="wait-at" type="datetime-local" value={step.at.slice(0, 16)}
                onChange={(e) => set({ at: new Date(e.target.value + 'Z').toISOString() })} />
            </div>
          )}
          {step.property !== undefined && (
            <>
              <div className="field">
                <label htmlFor="wait-property">Property</label>
                <input id="wait-property" value={step.property} placeholder="trial_ends_at" onChange={(e) => set({ property: e.target.value })} />
              </div>
              <DurationField id="wait-offset" label="Offset (negative: before)" value={step.offset} allowNegative onChange={(v) => set({ offset: v })} />
            </>
          )}
          {step.at === undefined && step.property === undefined && (
            <div className="field">
              <label htmlFor="wait-time">Time of day</label>
              <input id="wait-time" type="time" value={step.timeOfDay ?? '10:00'} onChange={(e) => set({ timeOfDay: e.target.value })} />
            </div>
          )}
        </>
      )}

      {step.type === 'waitForEvent' && (
        <>
          <div className="field">
            <label htmlFor="step-event">Event name</label>
            <input id="step-event" value={step.event ?? ''} onChange={(e) => set({ event: e.target.value })} data-testid="step-event" />
          </div>
          <DurationField id="step-timeout" label="Timeout" value={step.timeout} onChange={(v) => set({ timeout: v })} />
          <JsonField id="step-filter" label="Event property filter (JSON)" value={step.filter} onValidity={filterValidity} onChange={(v) => set({ filter: Object.keys(v).length ? v : undefined })} />
        </>
      )}

      {step.type === 'branch' && (
        <>
          {(step.conditions ?? []).map((c, i) => (
            <div key={i}>
              <ConditionEditor index={i} condition={c.when} stepIds={sendSteps}
                onChange={(when) => set({ conditions: step.conditions!.map((x, j) => (j === i ? { ...x, when } : x)) })} />
              <button type="button" className="link" onClick={() => set({ conditions: step.conditions!.filter((_, j) => j !== i) })}>Remove condition {i + 1}</button>
            </div>
          ))}
          <button type="button" onClick={() => set({ conditions: [...(step.conditions ?? []), { when: { opened: '' }, next: null }] })} data-testid="add-condition">Add condition</button>
        </>
      )}

      {step.type === 'split' && (
        <>
          {(step.branches ?? []).map((b, i) => (
            <div className="field inline" key={i}>
              <label htmlFor={`split-weight-${i}`}>Path {i + 1} weight (%)</label>
              <input id={`split-weight-${i}`} type="number" min={0} max={100} value={b.weight} data-testid={`split-weight-${i}`}
                onChange={(e) => set({ branches: step.branches!.map((x, j) => (j === i ? { ...x, weight: Number(e.target.value) } : x)) })} />
              <button type="button" className="link" aria-label={`Remove path ${i + 1}`} onClick={() => set({ branches: step.branches!.filter((_, j) => j !== i) })}>Remove</button>
            </div>
          ))}
          <p className="muted">Total: {(step.branches ?? []).reduce((a, b) => a + b.weight, 0)}%</p>
          <button type="button" onClick={() => { const branches = [...(step.branches ?? []), { weight: 0, next: null }]; set({ branches: step.autoWinner ? withPathIds({ ...step, branches }) : branches }); }} data-testid="add-path">Add path</button>
        </>
      )}

      {step.type === 'updateContact' && <JsonField id="step-set" label="Properties to set (JSON)" value={step.set} onValidity={setValidity} onChange={(v) => set({ set: v })} />}

      {step.type === 'webhook' && (
        <>
          <div className="field">
            <label htmlFor="webhook-url">URL</label>
            <input id="webhook-url" type="url" value={step.url ?? ''} onChange={(e) => set({ url: e.target.value })} />
          </div>
          <div className="field">
            <label htmlFor="webhook-method">Method</label>
            <select id="webhook-method" value={step.method ?? 'POST'} onChange={(e) => set({ method: e.target.value })}>
              {['POST', 'PUT', 'PATCH', 'GET', 'DELETE'].map((m) => <option key={m}>{m}</option>)}
            </select>
          </div>
          <JsonField id="webhook-body" label="Body (a JSON object; Liquid inside its strings)" value={step.body} onValidity={bodyValidity} onChange={(v) => set({ body: v })} />
        </>
      )}

      {outlets(step).length > 0 && (
        <fieldset className="connections">
          <legend>Next steps</legend>
          {outlets(step).map((o) => (
            <div className="field" key={o.handle}>
              <label htmlFor={`next-${o.handle}`}>{o.handle === 'next' && !o.label ? 'Then' : `Then (${o.label})`}</label>
              <select id={`next-${o.handle}`} value={o.target ?? ''} data-testid={`next-${o.handle}`}
                onChange={(e) => onChange(connect(step, o.handle, e.target.value || null))}>
                <option value="">(end of workflow)</option>
                {others.map((s) => <option key={s} value={s}>{s}</option>)}
              </select>
            </div>
          ))}
        </fieldset>
      )}

      <div className="row">
        <button type="button" onClick={onMakeStart} disabled={isStart} data-testid="make-start">{isStart ? 'Start step' : 'Make start step'}</button>
        <button type="button" className="danger" onClick={onDelete} data-testid="delete-step">Delete step</button>
      </div>
    </form>
  );
}

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** The inbound webhook trigger's address and its secret, which the server shows once: on creation and on rotation. */
export interface WebhookTriggerInfo {
  url: string | null;
  secret: string | null;
  onRotate: (() => void) | null;
}

export function TriggerPanel({ trigger, onChange, errors, webhook }: {
  trigger: Trigger;
  onChange: (t: Trigger) => void;
  /** The server's errors for the trigger, by the path after `trigger.`. */
  errors: Record<string, string[]>;
  webhook: WebhookTriggerInfo;
}) {
  return (
    <form className="panel-form" aria-labelledby="trigger-title" data-testid="trigger-panel" onSubmit={(e) => e.preventDefault()}>
      <h2 id="trigger-title">Trigger</h2>
      <div className="field">
        <label htmlFor="trigger-type">Start a journey when</label>
        <select id="trigger-type" value={trigger.type} data-testid="trigger-type" onChange={(e) => onChange({ type: e.target.value as Trigger['type'] })}>
          <option value="event">an event happens</option>
          <option value="segmentEntry">a contact enters a segment</option>
          <option value="listJoin">a contact joins a list</option>
          <option value="dateProperty">a date property comes due</option>
          <option value="manual">enrolled by API or by hand</option>
          <option value="webhook">an inbound webhook arrives</option>
        </select>
      </div>
      {Object.entries(errors).filter(([k]) => k !== 'secret').map(([k, m]) => (
        <p key={k} className="error" role="alert" data-testid={`trigger-${k}-error`}>{m.join(' ')}</p>
      ))}
      {trigger.type === 'webhook' && (
        <fieldset data-testid="webhook-trigger">
          <legend>Inbound webhook</legend>
          {webhook.url ? (
            <p>POST to <code className="mono" data-testid="webhook-url">{webhook.url}</code></p>
          ) : (
            <p className="muted">Save the draft to get the address to call.</p>
          )}
          <p className="muted">
            Sign each request: header <code>X-Automator-Timestamp</code> (unix seconds) and <code>X-Automator-Signature: sha256=</code>
            hex HMAC-SHA256 of <code>&lt;timestamp&gt;.&lt;body&gt;</code> with the secret. Body <code>{'{ email | contactId, properties? }'}</code>.
          </p>
          {webhook.secret && (
            <div className="secret" role="status" data-testid="webhook-secret">
              <p>Signing secret, shown this once: copy it now.</p>
              <code className="mono" data-testid="webhook-secret-value">{webhook.secret}</code>
            </div>
          )}
          <div className="field">
            <label htmlFor="trigger-secret">Choose a secret instead (16+ characters; empty: one is made for you)</label>
            <input id="trigger-secret" type="password" autoComplete="off" value={trigger.secret ?? ''} data-testid="trigger-secret"
              aria-invalid={errors.secret !== undefined} aria-describedby={errors.secret ? 'trigger-secret-error' : undefined}
              onChange={(e) => onChange({ ...trigger, secret: e.target.value || undefined })} />
            {errors.secret && <p id="trigger-secret-error" className="error" role="alert" data-testid="trigger-secret-error">{errors.secret.join(' ')}</p>}
          </div>
          {webhook.onRotate && (
            <button type="button" onClick={webhook.onRotate} data-testid="webhook-secret-rotate">Rotate secret</button>
          )}
        </fieldset>
      )}
      {trigger.type === 'event' && (
        <>
          <div className="field">
            <label htmlFor="trigger-event">Event name</label>
            <input id="trigger-event" value={trigger.event ?? ''} data-testid="trigger-event" onChange={(e) => onChange({ ...trigger, event: e.target.value })} />
          </div>
          <JsonField id="trigger-filter" label="Property filter (JSON)" value={trigger.filter} onChange={(v) => onChange({ ...trigger, filter: Object.keys(v).length ? v : undefined })} />
        </>
      )}
      {trigger.type === 'segmentEntry' && (
        <div className="field">
          <label htmlFor="trigger-segment">Segment id</label>
          <input id="trigger-segment" value={trigger.segmentId ?? ''} onChange={(e) => onChange({ ...trigger, segmentId: e.target.value })} />
        </div>
      )}
      {trigger.type === 'listJoin' && (
        <div className="field">
          <label htmlFor="trigger-list">List id</label>
          <input id="trigger-list" value={trigger.listId ?? ''} onChange={(e) => onChange({ ...trigger, listId: e.target.value })} />
        </div>
      )}
      {trigger.type === 'dateProperty' && (
        <>
          <div className="field">
            <label htmlFor="trigger-property">Date property</label>
            <input id="trigger-property" value={trigger.property ?? ''} placeholder="trial_ends_at" onChange={(e) => onChange({ ...trigger, property: e.target.value })} />
          </div>
          <DurationField id="trigger-offset" label="Offset (negative: before)" value={trigger.offset ?? 'P0D'} allowNegative onChange={(v) => onChange({ ...trigger, offset: v })} />
        </>
      )}
    </form>
  );
}

/** A list of event names: each removable, a new one added with Enter or the button. */
function EventListField({ id, label, hint, events, onChange }: { id: string; label: string; hint: string; events: string[]; onChange: (events: string[]) => void }) {
  const [draft, setDraft] = useState('');
  const add = () => {
    const name = draft.trim();
    if (name && !events.includes(name)) onChange([...events, name]);
    setDraft('');
  };
  return (
    <fieldset data-testid={id}>
      <legend>{label}</legend>
      <p className="muted">{hint}</p>
      {events.length === 0 && <p className="muted" data-testid={`${id}-none`}>None.</p>}
      <ul className="chips">
        {events.map((e) => (
          <li key={e} data-testid={`${id}-item-${e}`}>
            <span className="mono">{e}</span>
            <button type="button" className="link" aria-label={`Remove ${label.toLowerCase()} ${e}`} onClick={() => onChange(events.filter((x) => x !== e))}>×</button>
          </li>
        ))}
      </ul>
      <div className="field inline">
        <label htmlFor={`${id}-new`} className="sr-only">Add to {label.toLowerCase()}</label>
        <input id={`${id}-new`} value={draft} placeholder="event name" data-testid={`${id}-new`}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              e.preventDefault();
              add();
            }
          }} />
        <button type="button" onClick={add} disabled={!draft.trim()} data-testid={`${id}-add`}>Add</button>
      </div>
    </fieldset>
  );
}

export function SettingsPanel({ settings, onChange, errors }: {
  settings: Settings;
  onChange: (s: Settings) => void;
  /** The server's errors for the settings, by the path after `settings.`. */
  errors: Record<string, string[]>;
}) {
  const window = settings.sendWindow;
  const reentry = reentryForm(settings.reentry);
  return (
    <form className="panel-form" aria-labelledby="settings-title" data-testid="settings-panel" onSubmit={(e) => e.preventDefault()}>
      <h2 id="settings-title">Settings</h2>
      {Object.entries(errors).map(([k, m]) => (
        <p key={k} className="error" role="alert" data-testid={`settings-${k}-error`}>{k}: {m.join(' ')}</p>
      ))}
      <div className="field">
        <label htmlFor="settings-reentry">Re-entry</label>
        <select id="settings-reentry" value={reentry.mode} data-testid="settings-reentry"
          onChange={(e) => {
            const mode = e.target.value;
            onChange({ ...settings, reentry: mode === 'after' ? { after: reentry.after } : mode });
          }}>
          <option value="never">never: a contact goes through once</option>
          <option value="after">after a period since the last entry</option>
          <option value="always">always: every time the trigger fires</option>
        </select>
      </div>
      {reentry.mode === 'after' && (
        <DurationField id="settings-reentry-after" label="Re-entry after" value={reentry.after} onChange={(v) => onChange({ ...settings, reentry: { after: v } })} />
      )}
      <EventListField id="settings-exit" label="Exit events" hint="A contact leaves the workflow, at any step, when one of these happens."
        events={settings.exitEvents} onChange={(exitEvents) => onChange({ ...settings, exitEvents })} />
      <div className="field">
        <label htmlFor="settings-goal">Goal event</label>
        <input id="settings-goal" value={settings.goalEvent ?? ''} placeholder="purchased" data-testid="settings-goal"
          onChange={(e) => onChange({ ...settings, goalEvent: e.target.value.trim() || undefined })} />
        <span className="muted">Counted as a conversion of the step and variant the contact last passed.</span>
      </div>
      <fieldset>
        <legend>Send window</legend>
        <div className="field inline">
          <input id="settings-window-on" type="checkbox" checked={window !== undefined}
            onChange={(e) => onChange({ ...settings, sendWindow: e.target.checked ? { start: '09:00', end: '18:00', days: DAYS.slice(0, 5) } : undefined })} />
          <label htmlFor="settings-window-on">Only send inside a window</label>
        </div>
        {window && (
          <>
            <div className="field inline">
              <label htmlFor="settings-window-start">From</label>
              <input id="settings-window-start" type="time" value={window.start} onChange={(e) => onChange({ ...settings, sendWindow: { ...window, start: e.target.value } })} />
              <label htmlFor="settings-window-end">to</label>
              <input id="settings-window-end" type="time" value={window.end} onChange={(e) => onChange({ ...settings, sendWindow: { ...window, end: e.target.value } })} />
            </div>
            <div className="days">
              {DAYS.map((d) => (
                <span key={d} className="inline">
                  <input id={`settings-day-${d}`} type="checkbox" checked={window.days.includes(d)}
                    onChange={(e) => onChange({ ...settings, sendWindow: { ...window, days: e.target.checked ? [...window.days, d] : window.days.filter((x) => x !== d) } })} />
                  <label htmlFor={`settings-day-${d}`}>{d}</label>
                </span>
              ))}
            </div>
          </>
        )}
      </fieldset>
      <fieldset>
        <legend>Frequency cap</legend>
        <div className="field inline">
          <input id="settings-cap-on" type="checkbox" checked={settings.frequencyCap !== undefined}
            onChange={(e) => onChange({ ...settings, frequencyCap: e.target.checked ? { max: 3, per: 'P1D' } : undefined })} />
          <label htmlFor="settings-cap-on">Limit sends per contact</label>
        </div>
        {settings.frequencyCap && (
          <>
            <div className="field">
              <label htmlFor="settings-cap-max">At most (sends)</label>
              <input id="settings-cap-max" type="number" min={1} value={settings.frequencyCap.max}
                onChange={(e) => onChange({ ...settings, frequencyCap: { ...settings.frequencyCap!, max: Number(e.target.value) } })} />
            </div>
            <DurationField id="settings-cap-per" label="Per" value={settings.frequencyCap.per} onChange={(v) => onChange({ ...settings, frequencyCap: { ...settings.frequencyCap!, per: v } })} />
          </>
        )}
      </fieldset>
      <div className="field">
        <label htmlFor="settings-tz">Default time zone</label>
        <input id="settings-tz" value={settings.timeZone} list="time-zones" onChange={(e) => onChange({ ...settings, timeZone: e.target.value })} />
        <datalist id="time-zones">
          {['UTC', 'Europe/London', 'Europe/Paris', 'America/New_York', 'America/Chicago', 'America/Los_Angeles', 'Asia/Tokyo', 'Australia/Sydney'].map((z) => <option key={z} value={z} />)}
        </datalist>
      </div>
    </form>
  );
}
