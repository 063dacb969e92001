// The workflow document of shared/api.md and the helpers the canvas needs around it.

export type StepType = 'send' | 'delay' | 'waitUntil' | 'waitForEvent' | 'branch' | 'split' | 'updateContact' | 'webhook' | 'exit';

export const STEP_TYPES: { type: StepType; label: string; hint: string }[] = [
  { type: 'send', label: 'Send email', hint: 'Send a template' },
  { type: 'delay', label: 'Delay', hint: 'Wait for a duration' },
  { type: 'waitUntil', label: 'Wait until', hint: 'A date, a property or a time of day' },
  { type: 'waitForEvent', label: 'Wait for event', hint: 'Until an event or a timeout' },
  { type: 'branch', label: 'Branch', hint: 'Conditions choose the path' },
  { type: 'split', label: 'Split', hint: 'Weighted random paths' },
  { type: 'updateContact', label: 'Update contact', hint: 'Set properties' },
  { type: 'webhook', label: 'Webhook', hint: 'Call a URL' },
  { type: 'exit', label: 'Exit', hint: 'Leave the workflow' },
];

export type Condition =
  | { opened: string }
  | { clicked: string }
  | { property: string; op: string; value: string }
  | { event: string; within?: string };

export interface Step {
  id: string;
  type: StepType;
  next?: string | null;
  templateId?: string;
  duration?: string;
  at?: string;
  property?: string;
  offset?: string;
  timeOfDay?: string;
  event?: string;
  filter?: Record<string, unknown>;
  timeout?: string;
  onTimeout?: string | null;
  conditions?: { when: Condition; next: string | null }[];
  else?: string | null;
  /** A split's paths; an id names the path in stats and is needed to test paths against each other. */
  branches?: { id?: string; weight: number; next: string | null }[];
  set?: Record<string, unknown>;
  url?: string;
  method?: string;
  /** The webhook's JSON body; Liquid is rendered inside its strings. */
  body?: unknown;
  /** A/B variants of a send step: each is sent to a share of contacts in proportion to its weight. */
  variants?: SendVariant[];
  /** On a send step with variants or a split: declare a winner by a sequential test and route later contacts to it. */
  autoWinner?: AutoWinner;
}

export type WinnerMetric = 'opened' | 'clicked' | 'goal';

export interface AutoWinner {
  metric: WinnerMetric;
  /** Contacts each variant needs before a winner may be declared (at least 100). */
  minSamples?: number;
  /** One minus the chance of declaring a winner between equal variants (0.8 to 0.999). */
  confidence?: number;
}

export interface SendVariant {
  id: string;
  weight: number;
  /** The variant's own template; the step's template when absent. */
  templateId?: string;
  /** A subject that replaces the template's. */
  subject?: string;
}

export interface Trigger {
  type: 'event' | 'segmentEntry' | 'listJoin' | 'dateProperty' | 'manual' | 'webhook';
  event?: string;
  filter?: Record<string, unknown>;
  segmentId?: string;
  listId?: string;
  property?: string;
  offset?: string;
  /** An inbound webhook's signing secret: sent only to choose one (16+ characters); the server never shows it again. */
  secret?: string;
}

/** What the server accepts: "never", "always", or `{ after: "<ISO 8601 duration>" }` (it also reads "P7D" and "after:P7D"). */
export type Reentry = 'never' | 'always' | { after: string } | string;

/** The re-entry setting as the form shows it, whichever of the server's forms it was saved in. */
export function reentryForm(value: Reentry | undefined): { mode: 'never' | 'always' | 'after'; after: string } {
  if (value === undefined || value === 'never') return { mode: 'never', after: 'P30D' };
  if (value === 'always') return { mode: 'always', after: 'P30D' };
  if (typeof value === 'object') return { mode: 'after', after: value.after };
  return { mode: 'after', after: value.startsWith('after:') ? value.slice('after:'.length) : value };
}

export interface Settings {
  reentry: Reentry;
  exitEvents: string[];
  goalEvent?: string;
  sendWindow?: { start: string; end: string; days: string[] };
  frequencyCap?: { max: number; per: string };
  timeZone: string;
}

export interface WorkflowDocument {
  id?: string;
  version?: number;
  status?: 'draft' | 'active' | 'paused' | 'archived';
  name: string;
  trigger: Trigger;
  settings: Settings;
  start: string | null;
  steps: Step[];
  layout?: Record<string, { x: number; y: number }>;
}

export function emptyWorkflow(): WorkflowDocument {
  return {
    name: 'Untitled workflow',
    trigger: { type: 'event', event: '' },
    settings: { reentry: 'never', exitEvents: [], timeZone: 'UTC' },
    start: null,
    steps: [],
  };
}

export function newStep(type: StepType, id: string): Step {
  switch (type) {
    case 'send':
      return { id, type, templateId: '', next: null };
    case 'delay':
      return { id, type, duration: 'P1D', next: null };
    case 'waitUntil':
      return { id, type, timeOfDay: '10:00', next: null };
    case 'waitForEvent':
      return { id, type, event: '', timeout: 'P3D', next: null, onTimeout: null };
    case 'branch':
      return { id, type, conditions: [{ when: { opened: '' }, next: null }], else: null };
    case 'split':
      return { id, type, branches: [{ weight: 50, next: null }, { weight: 50, next: null }] };
    case 'updateContact':
      return { id, type, set: {}, next: null };
    case 'webhook':
      return { id, type, url: 'https://', method: 'POST', body: {}, next: null };
    case 'exit':
      return { id, type };
  }
}

/** The outgoing connection points of a step: handle id, label, and the step id it points to. */
export function outlets(step: Step): { handle: string; label: string; target: string | null | undefined }[] {
  switch (step.type) {
    case 'exit':
      return [];
    case 'waitForEvent':
      return [
        { handle: 'next', label: 'event', target: step.next },
        { handle: 'onTimeout', label: 'timeout', target: step.onTimeout },
      ];
    case 'branch':
      return [
        ...(step.conditions ?? []).map((c, i) => ({ handle: `c${i}`, label: `if ${i + 1}`, target: c.next })),
        { handle: 'else', label: 'else', target: step.else },
      ];
    case 'split':
      return (step.branches ?? []).map((b, i) => ({ handle: `b${i}`, label: `${b.weight}%`, target: b.next }));
    default:
      return [{ handle: 'next', label: '', target: step.next }];
  }
}

/** A copy of the step with the outlet <handle> pointing at <target>. */
export function connect(step: Step, handle: string, target: string | null): Step {
  const copy: Step = structuredClone(step);
  if (handle === 'next') {
    copy.next = target;
  } else if (handle === 'onTimeout') {
    copy.onTimeout = target;
  } else if (handle === 'else') {
    copy.else = target;
  } else if (handle.startsWith('c') && copy.conditions) {
    copy.conditions[Number(handle.slice(1))].next = target;
  } else if (handle.startsWith('b') && copy.branches) {
    copy.branches[Number(handle.slice(1))].next = target;
  }
  return copy;
}

/** Renames a step and every reference to it. */
export function renameStep(steps: Step[], from: string, to: string): Step[] {
  return steps.map((s) => {
    let copy: Step = s.id === from ? { ...structuredClone(s), id: to } : structuredClone(s);
    for (const outlet of outlets(copy)) {
      if (outlet.target === from) {
        copy = connect(copy, outlet.handle, to);
      }
    }
    if (copy.conditions) {
      copy.conditions = copy.conditions.map((c) => {
        const when = c.when as Record<string, unknown>;
        if (when.opened === from) return { ...c, when: { opened: to } };
        if (when.clicked === from) return { ...c, when: { clicked: to } };
        return c;
      });
    }
    return copy;
  });
}

/** Drops references to a removed step. */
export function removeStep(steps: Step[], id: string): Step[] {
  return steps
    .filter((s) => s.id !== id)
    .map((s) => {
      let copy = s;
      for (const outlet of outlets(s)) {
        if (outlet.target === id) {
          copy = connect(copy, outlet.handle, null);
        }
      }
      return copy;
    });
}

export function uniqueStepId(steps: Step[], type: StepType): string {
  const taken = new Set(steps.map((s) => s.id));
  for (let i = 1; ; i++) {
    const id = `${type}${i}`;
    if (!taken.has(id)) {
      return id;
    }
  }
}

/** Positions for steps without a saved layout: columns by distance from the start step (a breadth-first walk with its own queue, no recursion). */
export function autoLayout(doc: WorkflowDocument): Record<string, { x: number; y: number }> {
  const layout: Record<string, { x: number; y: number }> = { ...(doc.layout ?? {}) };
  const byId = new Map(doc.steps.map((s) => [s.id, s]));
  const depth = new Map<string, number>();
  const queue: string[] = [];
  if (doc.start && byId.has(doc.start)) {
    depth.set(doc.start, 0);
    queue.push(doc.start);
  }
  for (let head = 0; head < queue.length; head++) {
    const id = queue[head];
    for (const o of outlets(byId.get(id)!)) {
      if (o.target && byId.has(o.target) && !depth.has(o.target)) {
        depth.set(o.target, depth.get(id)! + 1);
        queue.push(o.target);
      }
    }
  }
  const rows = new Map<number, number>();
  doc.steps.forEach((s) => {
    if (layout[s.id]) return;
    const d = depth.get(s.id) ?? 0;
    const row = rows.get(d) ?? 0;
    rows.set(d, row + 1);
    layout[s.id] = { x: 80 + row * 240, y: 40 + d * 150 };
  });
  return layout;
}

/** ISO 8601 durations the forms produce and read: PnD, PTnH, PTnM, PTnS. */
export function parseDuration(value: string | undefined): { amount: number; unit: 'D' | 'H' | 'M' | 'S' } {
  const m = /^(-?)P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(value ?? '');
  if (!m) return { amount: 1, unit: 'D' };
  const sign = m[1] ? -1 : 1;
  if (m[2]) return { amount: sign * Number(m[2]), unit: 'D' };
  if (m[3]) return { amount: sign * Number(m[3]), unit: 'H' };
  if (m[4]) return { amount: sign * Number(m[4]), unit: 'M' };
  if (m[5]) return { amount: sign * Number(m[5]), unit: 'S' };
  return { amount: 0, unit: 'D' };
}

export function formatDuration(amount: number, unit: 'D' | 'H' | 'M' | 'S'): string {
  const sign = amount < 0 ? '-' : '';
  const n = Math.abs(Math.trunc(amount));
  return unit === 'D' ? `${sign}P${n}D` : `${sign}PT${n}${unit}`;
}

/** Maps ProblemDetails `errors` to step ids ("welcome", "steps[welcome].templateId", "steps.welcome"); the rest is general. */
export function errorsByStep(errors: Record<string, string[]> | undefined, steps: Step[]): { byStep: Record<string, string[]>; general: string[] } {
  const byStep: Record<string, string[]> = {};
  const general: string[] = [];
  const ids = new Set(steps.map((s) => s.id));
  for (const [key, messages] of Object.entries(errors ?? {})) {
    let id: string | undefined;
    if (ids.has(key)) {
      id = key;
    } else {
      const m = /steps?(?:\[["']?([^\]"']+)["']?\]|\.([^.[\]]+))/i.exec(key);
      const candidate = m?.[1] ?? m?.[2];
      if (candidate && ids.has(candidate)) {
        id = candidate;
      } else if (candidate && /^\d+$/.test(candidate) && steps[Number(candidate)]) {
        id = steps[Number(candidate)].id;
      }
    }
    if (id) {
      (byStep[id] ??= []).push(...messages);
    } else {
      general.push(...messages.map((m) => (key ? `${key}: ${m}` : m)));
    }
  }
  return { byStep, general };
}

/** The document to POST/PUT: the api.md shape with the canvas `layout` of the steps that exist, rounded to whole units. */
export function toRequest(doc: WorkflowDocument): Omit<WorkflowDocument, 'id' | 'version' | 'status'> {
  const layout: Record<string, { x: number; y: number }> = {};
  for (const s of doc.steps) {
    const p = doc.layout?.[s.id];
    if (p && Number.isFinite(p.x) && Number.isFinite(p.y)) layout[s.id] = { x: Math.round(p.x), y: Math.round(p.y) };
  }
  const { secret, ...trigger } = doc.trigger;
  return {
    name: doc.name,
    trigger: secret ? { ...trigger, secret } : trigger,
    settings: doc.settings,
    start: doc.start,
    steps: doc.steps,
    layout,
  };
}
