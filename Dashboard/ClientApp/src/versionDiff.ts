// What changed between two versions of a workflow, step by step (positions on the canvas are not a change).

interface Definition {
  name?: string;
  trigger?: unknown;
  settings?: unknown;
  start?: string | null;
  steps?: { id: string; [field: string]: unknown }[];
}

export interface StepChange {
  id: string;
  kind: 'added' | 'removed' | 'changed';
  /** For a changed step, the fields whose values differ. */
  fields: string[];
}

export interface VersionDiff {
  /** Workflow-level parts that differ: name, trigger, settings, start. */
  workflow: string[];
  steps: StepChange[];
}

/** JSON with object keys in order, so that two equal values compare equal however their keys were written. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined && v !== null);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export function diffVersions(from: Definition, to: Definition): VersionDiff {
  const workflow = (['name', 'trigger', 'settings', 'start'] as const).filter((k) => canonical(from[k]) !== canonical(to[k]));
  const before = new Map((from.steps ?? []).map((s) => [s.id, s]));
  const after = new Map((to.steps ?? []).map((s) => [s.id, s]));
  const steps: StepChange[] = [];
  for (const [id, step] of after) {
    const old = before.get(id);
    if (!old) {
      steps.push({ id, kind: 'added', fields: [] });
      continue;
    }
    const fields = [...new Set([...Object.keys(old), ...Object.keys(step)])]
      .filter((f) => f !== 'id' && canonical(old[f]) !== canonical(step[f]))
      .sort();
    if (fields.length > 0) steps.push({ id, kind: 'changed', fields });
  }
  for (const id of before.keys()) if (!after.has(id)) steps.push({ id, kind: 'removed', fields: [] });
  return { workflow, steps };
}
