import {
  Background, Controls, MiniMap, ReactFlow, ReactFlowProvider, useReactFlow,
  type Connection, type Edge, type EdgeChange, type NodeChange,
} from '@xyflow/react';
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from 'react';
import { ApiError, api, errorText, type Organization, type Page, type Template, type WinnerTest, type WorkflowStats } from '../api';
import { useLive } from '../live';
import { analyticsApi, analyticsErrorText, presetRange, type AnalyticsCounts } from '../analytics';
import { Link, useNavigate } from 'react-router';
import {
  STEP_TYPES, autoLayout, connect, emptyWorkflow, errorsByStep, newStep, outlets, removeStep, renameStep, toRequest,
  uniqueStepId, type Step, type StepType, type WorkflowDocument,
} from '../workflow';
import { StepNode, type StepNodeType } from './StepNode';
import { SettingsPanel, StepPanel, TriggerPanel } from './StepPanel';
import { variantProblems } from './SendVariantsEditor';
import { useHistory } from './useHistory';
import { JourneysPanel } from './Journeys';
import { EnrollPanel, VersionsPanel } from './WorkflowPanels';

const nodeTypes = { step: StepNode };
const ARROWS: Record<string, [number, number]> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

/** Undo and redo change the drawing, never what the server said the workflow is. */
const keepServerFields = (to: WorkflowDocument, from: WorkflowDocument): WorkflowDocument => ({ ...to, id: from.id, version: from.version, status: from.status });

function editable(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
}

/** The errors under <prefix>, keyed by the rest of their path. */
function below(errors: Record<string, string[]>, prefix: string): Record<string, string[]> {
  return Object.fromEntries(Object.entries(errors).filter(([k]) => k.startsWith(prefix)).map(([k, m]) => [k.slice(prefix.length), m]));
}
const DRAG_TYPE = 'application/x-automator-step';

type Panel = { kind: 'step'; id: string; tab: 'edit' | 'journeys' } | { kind: 'trigger' } | { kind: 'settings' } | { kind: 'versions' } | { kind: 'enroll' };

export function CanvasPage({ workflowId }: { workflowId: string | null }) {
  return (
    <ReactFlowProvider>
      <Canvas workflowId={workflowId} />
    </ReactFlowProvider>
  );
}

const FUNNEL_WINDOWS = { '24h': 'last 24 hours', '7d': 'last 7 days', '30d': 'last 30 days' } as const;

function Canvas({ workflowId }: { workflowId: string | null }) {
  const navigate = useNavigate();
  const flow = useReactFlow();
  const wrapper = useRef<HTMLDivElement>(null);
  const history = useHistory<WorkflowDocument>(emptyWorkflow());
  const doc = history.value;
  const setDoc = history.replace;
  const [loaded, setLoaded] = useState(workflowId === null);
  const [templates, setTemplates] = useState<Template[]>([]);
  const [panel, setPanel] = useState<Panel>({ kind: 'trigger' });
  const [stepErrors, setStepErrors] = useState<Record<string, string[]>>({});
  const [fieldErrors, setFieldErrors] = useState<Record<string, string[]>>({});
  const [invalid, setInvalid] = useState<Record<string, string>>({});
  const [shownSecret, setShownSecret] = useState<string | null>(null);
  const [organizationId, setOrganizationId] = useState<string | null>(null);
  const [generalErrors, setGeneralErrors] = useState<string[]>([]);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [dirty, setDirty] = useState(false);
  const [counts, setCounts] = useState<Record<string, { waiting: number; passed: number }>>({});
  const [tests, setTests] = useState<Record<string, WinnerTest>>({});
  const [pulses, setPulses] = useState<Record<string, number>>({});
  const [funnelOn, setFunnelOn] = useState(false);
  const [funnelWindow, setFunnelWindow] = useState<'24h' | '7d' | '30d'>('30d');
  const [funnel, setFunnel] = useState<Record<string, AnalyticsCounts> | null>(null);
  const [funnelMessage, setFunnelMessage] = useState<string | null>(null);
  const id = doc.id ?? workflowId;

  // The funnel reads the chosen window of the analytics rollups each time it is shown.
  useEffect(() => {
    if (!funnelOn || !id) return;
    let cancelled = false;
    setFunnel(null);
    setFunnelMessage('Loading the funnel…');
    const label = FUNNEL_WINDOWS[funnelWindow];
    analyticsApi.workflow(id, presetRange(funnelWindow))
      .then((report) => {
        if (cancelled) return;
        setFunnel(Object.fromEntries(report.steps.map((s) => [s.stepId, s.counts])));
        setFunnelMessage(report.counts.sent === 0 ? `Funnel: nothing sent in the ${label}` : `Funnel: ${label}`);
      })
      .catch((err: unknown) => !cancelled && setFunnelMessage(analyticsErrorText(err)));
    return () => {
      cancelled = true;
    };
  }, [funnelOn, funnelWindow, id]);

  useEffect(() => {
    api.get<Page<Template>>('/v1/templates?limit=200').then((p) => setTemplates(p.items)).catch(() => setTemplates([]));
  }, []);

  useEffect(() => {
    if (!workflowId) return;
    let cancelled = false;
    api.get<WorkflowDocument>(`/v1/workflows/${workflowId}`)
      .then((w) => {
        if (cancelled) return;
        const full: WorkflowDocument = { ...emptyWorkflow(), ...w, settings: { ...emptyWorkflow().settings, ...w.settings } };
        // Saved positions stand; only steps without one (a workflow written through the API) are placed.
        history.reset({ ...full, layout: autoLayout(full) });
        setLoaded(true);
      })
      .catch((err) => !cancelled && setGeneralErrors([errorText(err)]));
    return () => {
      cancelled = true;
    };
  }, [workflowId]);

  const loadStats = useCallback(async () => {
    if (!id) return;
    try {
      const stats = await api.get<WorkflowStats>(`/v1/workflows/${id}/stats`);
      const next: Record<string, { waiting: number; passed: number }> = {};
      for (const [step, s] of Object.entries(stats.steps ?? {})) next[step] = { waiting: s.waiting ?? 0, passed: s.passed ?? 0 };
      setCounts(next);
      setTests(stats.autoWinners ?? {});
    } catch {
      // No stats yet (a draft never activated): live changes start from zero.
    }
  }, [id]);

  useEffect(() => {
    void loadStats();
  }, [loadStats]);

  // A/B tests decide as results arrive, which the live hub does not carry: read them again while one is running.
  const testing = Object.values(tests).some((t) => t.status === 'testing');
  useEffect(() => {
    if (!testing) return;
    const timer = window.setInterval(() => void loadStats(), 30_000);
    return () => window.clearInterval(timer);
  }, [testing, loadStats]);

  const liveState = useLive({
    stats: (s) => {
      if (s.workflowId !== id) return;
      setCounts((current) => {
        const next = { ...current };
        for (const [step, delta] of Object.entries(s.steps)) {
          const c = next[step] ?? { waiting: 0, passed: 0 };
          next[step] = s.delta === false ? delta : { waiting: Math.max(0, c.waiting + delta.waiting), passed: c.passed + delta.passed };
        }
        return next;
      });
    },
    journeyMoved: (moves) => {
      const touched = moves.filter((m) => m.workflowId === id).map((m) => m.toStep).filter((s): s is string => !!s);
      if (touched.length) {
        const now = Date.now();
        setPulses((p) => ({ ...p, ...Object.fromEntries(touched.map((s) => [s, now])) }));
      }
    },
  });

  /** An edit: one step of undo, or one with the previous edit of the same <group> made just before. */
  const update = (change: (d: WorkflowDocument) => WorkflowDocument, group?: string) => {
    history.edit(change, group);
    setDirty(true);
  };

  const undo = () => {
    if (history.undo(keepServerFields)) setDirty(true);
  };

  const redo = () => {
    if (history.redo(keepServerFields)) setDirty(true);
  };

  const deleteStep = (stepId: string) => {
    update((d) => ({ ...d, steps: removeStep(d.steps, stepId), start: d.start === stepId ? null : d.start }));
    setPanel({ kind: 'trigger' });
  };

  const addStep = (type: StepType, position?: { x: number; y: number }) => {
    const stepId = uniqueStepId(doc.steps, type);
    const fallback = { x: 80 + (doc.steps.length % 3) * 240, y: 40 + Math.floor(doc.steps.length / 3) * 150 };
    update((d) => ({
      ...d,
      start: d.start ?? stepId,
      steps: [...d.steps, newStep(type, stepId)],
      layout: { ...d.layout, [stepId]: position ?? fallback },
    }));
    setPanel({ kind: 'step', id: stepId, tab: 'edit' });
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    const type = e.dataTransfer.getData(DRAG_TYPE) as StepType;
    if (!STEP_TYPES.some((t) => t.type === type)) return;
    const at = flow.screenToFlowPosition({ x: e.clientX - 90, y: e.clientY - 30 });
    addStep(type, { x: Math.round(at.x), y: Math.round(at.y) });
  };

  const now = Date.now();
  const nodes: StepNodeType[] = useMemo(() => doc.steps.map((s) => ({
    id: s.id,
    type: 'step' as const,
    position: doc.layout?.[s.id] ?? { x: 0, y: 0 },
    selected: panel.kind === 'step' && panel.id === s.id,
    data: {
      step: s,
      isStart: doc.start === s.id,
      errors: stepErrors[s.id] ?? [],
      counts: id ? counts[s.id] ?? { waiting: 0, passed: 0 } : undefined,
      test: tests[s.id],
      pulse: now - (pulses[s.id] ?? 0) < 800,
      funnel: funnelOn && funnel && s.type === 'send' ? funnel[s.id] ?? { sent: 0, delivered: 0, opened: 0, clicked: 0, bounced: 0, complained: 0, unsubscribed: 0, goals: 0 } : undefined,
    },
  // eslint-disable-next-line react-hooks/exhaustive-deps
  })), [doc, panel, stepErrors, counts, tests, pulses, id, funnelOn, funnel]);

  const edges: Edge[] = useMemo(() => doc.steps.flatMap((s) => outlets(s)
    .filter((o) => o.target)
    .map((o) => ({
      id: `${s.id}:${o.handle}`,
      source: s.id,
      sourceHandle: o.handle,
      target: o.target!,
      targetHandle: 'in',
      label: o.label || undefined,
      data: { handle: o.handle },
    }))), [doc.steps]);

  const onNodesChange = (changes: NodeChange<StepNodeType>[]) => {
    for (const change of changes) {
      if (change.type === 'position' && change.position) {
        // A drag moves the node live and is one step of undo when dropped; positions are kept in whole units.
        const position = { x: Math.round(change.position.x), y: Math.round(change.position.y) };
        const move = (d: WorkflowDocument) => ({ ...d, layout: { ...d.layout, [change.id]: position } });
        if (change.dragging) {
          history.preview(move);
        } else {
          update(move);
        }
      } else if (change.type === 'select' && change.selected) {
        setPanel((p) => (p.kind === 'step' && p.id === change.id ? p : { kind: 'step', id: change.id, tab: defaultTab() }));
      } else if (change.type === 'remove') {
        deleteStep(change.id);
      }
    }
  };

  const onEdgesChange = (changes: EdgeChange[]) => {
    for (const change of changes) {
      if (change.type === 'remove') {
        const [source, handle] = change.id.split(':');
        update((d) => ({ ...d, steps: d.steps.map((s) => (s.id === source ? connect(s, handle, null) : s)) }));
      }
    }
  };

  const onConnect = (c: Connection) => {
    if (!c.source || !c.target || c.source === c.target) return;
    update((d) => ({ ...d, steps: d.steps.map((s) => (s.id === c.source ? connect(s, c.sourceHandle ?? 'next', c.target) : s)) }));
  };

  const report = (err: unknown) => {
    if (err instanceof ApiError && err.problem.errors) {
      const { byStep, general } = errorsByStep(err.problem.errors, doc.steps);
      setStepErrors(byStep);
      setFieldErrors(err.problem.errors);
      setGeneralErrors(general.length ? general : Object.keys(byStep).length ? [] : [err.message]);
      const first = Object.keys(byStep)[0];
      const keys = Object.keys(err.problem.errors);
      if (first) setPanel({ kind: 'step', id: first, tab: 'edit' });
      else if (keys.some((k) => k.startsWith('trigger'))) setPanel({ kind: 'trigger' });
      else if (keys.some((k) => k.startsWith('settings'))) setPanel({ kind: 'settings' });
    } else {
      setGeneralErrors([errorText(err)]);
    }
  };

  /** What cannot be saved as it stands (JSON being edited, variants), named by step; nothing is sent while there is any. */
  const unsaveable = (): string[] => [
    ...Object.entries(invalid).map(([key, message]) => `${key}: ${message}`),
    ...doc.steps.flatMap((s) => {
      const { byIndex, list } = variantProblems(s.variants ?? []);
      return [...Object.entries(byIndex).flatMap(([i, m]) => m.map((x) => `steps.${s.id}.variants[${i}]: ${x}`)), ...list.map((x) => `steps.${s.id}.variants: ${x}`)];
    }),
  ];

  const save = async (): Promise<string | null> => {
    setMessage(null);
    const problems = unsaveable();
    if (problems.length) {
      setGeneralErrors(problems);
      return null;
    }
    setBusy(true);
    setGeneralErrors([]);
    try {
      const body = toRequest(doc);
      const saved = id
        ? await api.put<WorkflowDocument>(`/v1/workflows/${id}`, body)
        : await api.post<WorkflowDocument>('/v1/workflows', body);
      const savedId = saved?.id ?? id;
      // A webhook trigger's secret comes back once, when the server made or took it: shown, never kept in the draft.
      if (saved?.trigger?.secret) setShownSecret(saved.trigger.secret);
      setDoc((d) => ({
        ...d, id: savedId ?? undefined, version: saved?.version ?? d.version, status: saved?.status ?? d.status ?? 'draft',
        trigger: { ...d.trigger, secret: undefined },
      }));
      setStepErrors({});
      setFieldErrors({});
      setDirty(false);
      setMessage('Draft saved');
      // The address names the saved draft; `created` keeps this canvas mounted (see App.tsx).
      if (!id && savedId) navigate(`/workflows/${savedId}`, { replace: true, state: { created: true } });
      return savedId ?? null;
    } catch (err) {
      report(err);
      return null;
    } finally {
      setBusy(false);
    }
  };

  const act = async (action: 'publish' | 'activate' | 'pause' | 'resume' | 'archive') => {
    let target = id;
    if (action === 'publish' && (dirty || !id)) target = await save();
    if (!target) return;
    setBusy(true);
    setGeneralErrors([]);
    try {
      const result = await api.post<Partial<WorkflowDocument> | undefined>(`/v1/workflows/${target}/${action}`);
      const status = result?.status ?? (action === 'pause' ? 'paused' : action === 'archive' ? 'archived' : action === 'publish' ? undefined : 'active');
      setDoc((d) => ({ ...d, status: status ?? d.status, version: result?.version ?? d.version }));
      setStepErrors({});
      setFieldErrors({});
      setMessage(action === 'publish' ? `Published version ${result?.version ?? ''}`.trim() : `Workflow ${status ?? action}`);
      if (action === 'activate' || action === 'resume') void loadStats();
    } catch (err) {
      report(err);
    } finally {
      setBusy(false);
    }
  };

  const selected = panel.kind === 'step' ? doc.steps.find((s) => s.id === panel.id) : undefined;
  // In live mode (an active or paused workflow) a click on a step lists its journeys; otherwise it edits the step.
  const defaultTab = (): 'edit' | 'journeys' => (id && (doc.status === 'active' || doc.status === 'paused') ? 'journeys' : 'edit');

  const rotateSecret = async () => {
    if (!id) return;
    setGeneralErrors([]);
    try {
      const rotated = await api.post<{ secret: string }>(`/v1/workflows/${id}/webhook-secret/rotate`);
      setShownSecret(rotated.secret);
      setMessage('New signing secret made: the previous one no longer verifies');
    } catch (err) {
      report(err);
    }
  };

  const onInvalid = useCallback((stepId: string, field: string, problem: string | null) => {
    const key = `steps.${stepId}.${field}`;
    setInvalid((current) => {
      if (problem === null) {
        if (!(key in current)) return current;
        const { [key]: _, ...rest } = current;
        return rest;
      }
      return { ...current, [key]: problem };
    });
  }, []);
  const selectedId = panel.kind === 'step' ? panel.id : null;
  const onSelectedInvalid = useCallback((field: string, problem: string | null) => selectedId && onInvalid(selectedId, field, problem), [selectedId, onInvalid]);

  // Keys: Ctrl+Z undo, Ctrl+Shift+Z (or Ctrl+Y) redo, arrows move the selected step (Shift: further), Delete removes it.
  // Keys typed into a field stay the field's. Read before React Flow's own node keys, so a move is always the same size.
  const keys = useRef<(e: KeyboardEvent) => void>(() => undefined);
  keys.current = (e: KeyboardEvent) => {
    if (e.defaultPrevented || editable(e.target)) return;
    const mod = e.ctrlKey || e.metaKey;
    const handled = () => {
      e.preventDefault();
      e.stopPropagation();
    };
    if (mod && e.key.toLowerCase() === 'z') {
      handled();
      if (e.shiftKey) redo();
      else undo();
    } else if (mod && e.key.toLowerCase() === 'y') {
      handled();
      redo();
    } else if (!mod && selected && ARROWS[e.key]) {
      handled();
      const [dx, dy] = ARROWS[e.key];
      const step = e.shiftKey ? 50 : 10;
      const stepId = selected.id;
      update((d) => {
        const from = d.layout?.[stepId] ?? { x: 0, y: 0 };
        return { ...d, layout: { ...d.layout, [stepId]: { x: from.x + dx * step, y: from.y + dy * step } } };
      }, `move:${stepId}`);
    } else if (!mod && selected && e.key === 'Delete') {
      handled();
      deleteStep(selected.id);
    }
  };
  useEffect(() => {
    const listener = (e: KeyboardEvent) => keys.current(e);
    window.addEventListener('keydown', listener, true);
    return () => window.removeEventListener('keydown', listener, true);
  }, []);

  useEffect(() => {
    if (doc.trigger.type !== 'webhook' || organizationId) return;
    api.get<Organization>('/v1/organization').then((o) => setOrganizationId(o.id)).catch(() => setOrganizationId(null));
  }, [doc.trigger.type, organizationId]);

  const rename = (from: string, to: string): string | null => {
    if (!/^[A-Za-z0-9_?.-]{1,64}$/.test(to)) return 'Use 1 to 64 letters, digits, _ - . or ?';
    if (doc.steps.some((s) => s.id === to)) return `A step named ${to} exists`;
    update((d) => {
      const layout = { ...d.layout };
      if (layout[from]) {
        layout[to] = layout[from];
        delete layout[from];
      }
      return { ...d, steps: renameStep(d.steps, from, to), start: d.start === from ? to : d.start, layout };
    });
    setPanel({ kind: 'step', id: to, tab: 'edit' });
    return null;
  };

  if (!loaded) {
    return generalErrors.length ? <p className="error" role="alert">{generalErrors.join('\n')}</p> : <p role="status">Loading workflow…</p>;
  }

  const status = doc.status ?? 'draft';
  return (
    <div className="canvas-page">
      <div className="toolbar" role="toolbar" aria-label="Workflow actions">
        <label htmlFor="workflow-name" className="sr-only">Workflow name</label>
        <input id="workflow-name" className="name" value={doc.name} onChange={(e) => update((d) => ({ ...d, name: e.target.value }), 'name')} data-testid="workflow-name" />
        <span className={`badge status-${status}`} data-testid="workflow-status" aria-label={`Status ${status}`}>{status}</span>
        {doc.version !== undefined && <span className="muted" data-testid="workflow-version">v{doc.version}</span>}
        <button type="button" onClick={undo} disabled={!history.canUndo} data-testid="undo" title="Undo (Ctrl+Z)" aria-keyshortcuts="Control+Z">Undo</button>
        <button type="button" onClick={redo} disabled={!history.canRedo} data-testid="redo" title="Redo (Ctrl+Shift+Z)" aria-keyshortcuts="Control+Shift+Z">Redo</button>
        <button type="button" onClick={() => void save()} disabled={busy} data-testid="save-draft">Save draft</button>
        <button type="button" onClick={() => void act('publish')} disabled={busy} data-testid="publish">Publish</button>
        <button type="button" onClick={() => void act('activate')} disabled={busy || !id} data-testid="activate">Activate</button>
        <button type="button" onClick={() => void act('pause')} disabled={busy || !id} data-testid="pause">Pause</button>
        <button type="button" onClick={() => void act('resume')} disabled={busy || !id} data-testid="resume">Resume</button>
        <button type="button" className="link" onClick={() => setPanel({ kind: 'trigger' })} data-testid="open-trigger">Trigger</button>
        <button type="button" className="link" onClick={() => setPanel({ kind: 'settings' })} data-testid="open-settings">Settings</button>
        <button type="button" className="link" onClick={() => setPanel({ kind: 'versions' })} disabled={!id} data-testid="open-versions">Versions</button>
        <button type="button" className="link" onClick={() => setPanel({ kind: 'enroll' })} disabled={!id} data-testid="open-enroll">Enroll</button>
        <button type="button" disabled={busy || !id || status === 'archived'} data-testid="archive"
          onClick={() => { if (window.confirm('Archive this workflow? Its journeys end and it cannot be edited again.')) void act('archive'); }}>Archive</button>
        <button type="button" aria-pressed={funnelOn} disabled={!id} onClick={() => setFunnelOn((on) => !on)} data-testid="funnel-toggle" title="Sent, delivered, opened and clicked per send step over the chosen window">Funnel</button>
        {funnelOn && (
          <select aria-label="Funnel window" value={funnelWindow} onChange={(e) => setFunnelWindow(e.target.value as '24h' | '7d' | '30d')} data-testid="funnel-window">
            {Object.entries(FUNNEL_WINDOWS).map(([k, label]) => <option key={k} value={k}>{label}</option>)}
          </select>
        )}
        {funnelOn && <span className="muted" role="status" data-testid="funnel-message">{funnelMessage}</span>}
        {id && <Link to={`/analytics/workflows/${id}`} data-testid="canvas-analytics">Analytics</Link>}
        <span className={`live-dot ${liveState.toLowerCase()}`} data-testid="live-state" title={`Live updates: ${liveState}`}>live: {liveState}</span>
        {dirty && <span className="muted">unsaved changes</span>}
        <span role="status" className="message" data-testid="canvas-message">{message}</span>
      </div>
      {generalErrors.length > 0 && (
        <ul className="error banner" role="alert" data-testid="workflow-errors">{generalErrors.map((e, i) => <li key={i}>{e}</li>)}</ul>
      )}
      <div className="canvas-body">
        <aside className="palette" aria-label="Steps palette">
          <h2>Steps</h2>
          <p className="muted">Drag onto the canvas, or press to add.</p>
          {STEP_TYPES.map((t) => (
            <button
              type="button"
              key={t.type}
              className={`palette-item type-${t.type}`}
              draggable
              onDragStart={(e) => {
                e.dataTransfer.setData(DRAG_TYPE, t.type);
                e.dataTransfer.effectAllowed = 'move';
              }}
              onClick={() => addStep(t.type)}
              title={t.hint}
              aria-label={`Add ${t.label} step`}
              data-testid={`palette-${t.type}`}
            >
              {t.label}
            </button>
          ))}
        </aside>
        <div className="flow" ref={wrapper} onDragOver={(e) => { e.preventDefault(); e.dataTransfer.dropEffect = 'move'; }} onDrop={onDrop} data-testid="canvas">
          <ReactFlow<StepNodeType, Edge>
            nodes={nodes}
            edges={edges}
            nodeTypes={nodeTypes}
            onNodesChange={onNodesChange}
            onEdgesChange={onEdgesChange}
            onConnect={onConnect}
            onNodeClick={(_, node) => setPanel(panel.kind === 'step' && panel.id === node.id ? panel : { kind: 'step', id: node.id, tab: defaultTab() })}
            onPaneClick={() => setPanel({ kind: 'trigger' })}
            fitView={workflowId !== null}
            deleteKeyCode={null}
            proOptions={{ hideAttribution: true }}
          >
            <Background />
            <Controls />
            <MiniMap pannable zoomable nodeColor="#94a3b8" ariaLabel="Workflow overview" />
          </ReactFlow>
        </div>
        <aside className="side-panel" aria-label="Details">
          {selected && panel.kind === 'step' && (
            <>
              <div className="tabs" role="tablist" aria-label="Step views">
                <button type="button" role="tab" aria-selected={panel.tab === 'edit'} onClick={() => setPanel({ ...panel, tab: 'edit' })} data-testid="tab-edit">Edit</button>
                <button type="button" role="tab" aria-selected={panel.tab === 'journeys'} disabled={!id} onClick={() => setPanel({ ...panel, tab: 'journeys' })} data-testid="tab-journeys">Journeys</button>
              </div>
              {panel.tab === 'edit' ? (
                <StepPanel
                  step={selected}
                  steps={doc.steps}
                  templates={templates}
                  errors={stepErrors[selected.id] ?? []}
                  fieldErrors={below(fieldErrors, `steps.${selected.id}.`)}
                  onInvalid={onSelectedInvalid}
                  isStart={doc.start === selected.id}
                  hasGoal={!!doc.settings.goalEvent}
                  onChange={(s: Step) => update((d) => ({ ...d, steps: d.steps.map((x) => (x.id === selected.id ? s : x)) }), `step:${selected.id}`)}
                  onRename={(to) => rename(selected.id, to)}
                  onDelete={() => deleteStep(selected.id)}
                  onMakeStart={() => update((d) => ({ ...d, start: selected.id }))}
                />
              ) : (
                id && <JourneysPanel workflowId={id} stepId={selected.id} />
              )}
            </>
          )}
          {panel.kind === 'trigger' && (
            <TriggerPanel trigger={doc.trigger} errors={below(fieldErrors, 'trigger.')} onChange={(t) => update((d) => ({ ...d, trigger: t }), 'trigger')}
              webhook={{
                url: id && organizationId ? `${window.location.origin}/hooks/workflows/${organizationId}/${id}` : null,
                secret: shownSecret,
                onRotate: id ? () => void rotateSecret() : null,
              }} />
          )}
          {panel.kind === 'versions' && id && <VersionsPanel workflowId={id} latest={doc.version} onPublish={() => void act('publish')} />}
          {panel.kind === 'enroll' && id && <EnrollPanel workflowId={id} active={status === 'active'} />}
          {panel.kind === 'settings' && <SettingsPanel settings={doc.settings} errors={below(fieldErrors, 'settings.')} onChange={(s) => update((d) => ({ ...d, settings: s }), 'settings')} />}
          {!id && <p className="muted">Save the draft to see live counts and journeys.</p>}
          <button type="button" className="link" onClick={() => navigate('/workflows')}>Back to workflows</button>
        </aside>
      </div>
    </div>
  );
}
