import type { Step, WinnerMetric } from '../workflow';

const METRICS: { value: WinnerMetric; label: string }[] = [
  { value: 'opened', label: 'Opens (unique, per contact sent)' },
  { value: 'clicked', label: 'Clicks (unique, per contact sent)' },
  { value: 'goal', label: 'Goal reached (per contact entered)' },
];

const CONFIDENCES = [0.9, 0.95, 0.99];

/** Ids for a split's paths that have none: the winner is named by id. */
export function withPathIds(step: Step): Step['branches'] {
  const taken = new Set((step.branches ?? []).map((b) => b.id).filter(Boolean));
  let next = 0;
  const fresh = () => {
    let id: string;
    do id = String.fromCharCode(65 + next++); while (taken.has(id));
    taken.add(id);
    return id;
  };
  return (step.branches ?? []).map((b) => (b.id ? b : { ...b, id: fresh() }));
}

/**
 * "Pick a winner automatically" for a send step's variants or a split's paths: the metric, the samples each needs and
 * the confidence. The server runs a sequential test and, once it declares a winner, sends every later contact to it.
 */
export function AutoWinnerEditor({ step, hasGoal, serverErrors, onChange }: {
  step: Step;
  hasGoal: boolean;
  /** The server's errors for this step, keyed by the path after `steps.<id>.`. */
  serverErrors: Record<string, string[]>;
  onChange: (patch: Partial<Step>) => void;
}) {
  const arms = step.type === 'send' ? step.variants?.length ?? 0 : step.branches?.length ?? 0;
  if (arms < 2 && !step.autoWinner) return null;
  const settings = step.autoWinner;
  const errors = Object.entries(serverErrors).filter(([k]) => k.startsWith('autoWinner')).flatMap(([, m]) => m);
  const local = settings?.metric === 'goal' && !hasGoal ? ['Set a goal event in the workflow settings to judge by goals.'] : [];
  const toggle = (on: boolean) => {
    if (!on) return onChange({ autoWinner: undefined });
    const patch: Partial<Step> = { autoWinner: { metric: 'clicked', minSamples: 1000, confidence: 0.95 } };
    if (step.type === 'split') patch.branches = withPathIds(step);
    onChange(patch);
  };
  return (
    <fieldset className="auto-winner" data-testid="auto-winner">
      <legend>Winner</legend>
      <label className="checkbox">
        <input type="checkbox" checked={!!settings} onChange={(e) => toggle(e.target.checked)} data-testid="auto-winner-on" />
        Pick a winner automatically
      </label>
      {settings && (
        <>
          <div className="field">
            <label htmlFor="auto-winner-metric">Judge by</label>
            <select id="auto-winner-metric" value={settings.metric} data-testid="auto-winner-metric"
              onChange={(e) => onChange({ autoWinner: { ...settings, metric: e.target.value as WinnerMetric } })}>
              {METRICS.map((m) => <option key={m.value} value={m.value}>{m.label}</option>)}
            </select>
          </div>
          <div className="field inline">
            <label htmlFor="auto-winner-samples">Contacts per {step.type === 'send' ? 'variant' : 'path'} at least</label>
            <input id="auto-winner-samples" type="number" min={100} step={100} value={settings.minSamples ?? 100} data-testid="auto-winner-samples"
              onChange={(e) => onChange({ autoWinner: { ...settings, minSamples: Number(e.target.value) } })} />
          </div>
          <div className="field inline">
            <label htmlFor="auto-winner-confidence">Confidence</label>
            <select id="auto-winner-confidence" value={String(settings.confidence ?? 0.95)} data-testid="auto-winner-confidence"
              onChange={(e) => onChange({ autoWinner: { ...settings, confidence: Number(e.target.value) } })}>
              {CONFIDENCES.map((c) => <option key={c} value={String(c)}>{Math.round(c * 100)}%</option>)}
            </select>
          </div>
          <p className="muted">
            Checked after every send without a penalty for looking early; once a winner is declared, every later contact gets it.
          </p>
        </>
      )}
      {[...local, ...errors].length > 0 && <p className="error" role="alert" data-testid="auto-winner-error">{[...local, ...errors].join(' ')}</p>}
    </fieldset>
  );
}
