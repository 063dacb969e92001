import { Handle, Position, type Node, type NodeProps } from '@xyflow/react';
import { STEP_TYPES, outlets, type Step } from '../workflow';
import { formatRate, type AnalyticsCounts } from '../analytics';
import type { WinnerTest } from '../api';

export type StepNodeData = {
  step: Step;
  isStart: boolean;
  errors: string[];
  counts?: { waiting: number; passed: number };
  pulse: boolean;
  /** The send step's funnel when the overlay is on. */
  funnel?: AnalyticsCounts;
  /** The step's A/B test, when it has autoWinner set and the workflow has run. */
  test?: WinnerTest;
};

const FUNNEL = ['sent', 'delivered', 'opened', 'clicked'] as const;

export type StepNodeType = Node<StepNodeData, 'step'>;

function summary(step: Step): string {
  switch (step.type) {
    case 'send':
      return step.templateId ? `template ${step.templateId}` : 'no template';
    case 'delay':
      return step.duration ?? '';
    case 'waitUntil':
      return step.at ?? (step.property ? `${step.property} ${step.offset ?? ''}` : step.timeOfDay ? `at ${step.timeOfDay}` : '');
    case 'waitForEvent':
      return `${step.event || '?'} ≤ ${step.timeout ?? ''}`;
    case 'branch':
      return `${step.conditions?.length ?? 0} condition(s)`;
    case 'split':
      return (step.branches ?? []).map((b) => `${b.weight}`).join(' / ');
    case 'updateContact':
      return Object.keys(step.set ?? {}).join(', ') || 'nothing set';
    case 'webhook':
      return `${step.method ?? 'POST'} ${step.url ?? ''}`;
    default:
      return '';
  }
}

export function StepNode({ data, selected }: NodeProps<StepNodeType>) {
  const { step, isStart, errors, counts, pulse, funnel, test } = data;
  const label = STEP_TYPES.find((t) => t.type === step.type)?.label ?? step.type;
  const outs = outlets(step);
  return (
    <div
      className={`step-node type-${step.type}${selected ? ' selected' : ''}${errors.length ? ' invalid' : ''}${pulse ? ' pulse' : ''}`}
      data-testid={`step-${step.id}`}
      data-step-type={step.type}
      aria-label={`${label} step ${step.id}${errors.length ? ', has errors' : ''}`}
      aria-invalid={errors.length > 0}
    >
      <Handle type="target" position={Position.Top} id="in" data-testid={`handle-${step.id}-in`} />
      <div className="step-head">
        <span className="step-type">{label}</span>
        {isStart && <span className="badge start" title="Start step">start</span>}
      </div>
      <div className="step-id">{step.id}</div>
      <div className="step-summary">{summary(step)}</div>
      {counts && (
        <div className="step-counts" data-testid={`counts-${step.id}`}>
          <span title="Journeys waiting here now">waiting <b data-testid={`waiting-${step.id}`}>{counts.waiting}</b></span>
          <span title="Journeys that passed through">passed <b data-testid={`passed-${step.id}`}>{counts.passed}</b></span>
        </div>
      )}
      {funnel && (
        <ol className="step-funnel" data-testid={`funnel-${step.id}`} aria-label={`Funnel of ${step.id}`}>
          {FUNNEL.map((k) => (
            <li key={k} title={k === 'sent' ? 'Accepted by the provider' : `${formatRate(funnel.sent === 0 ? 0 : funnel[k] / funnel.sent)} of sent`}>
              <span className="funnel-bar" style={{ width: `${funnel.sent === 0 ? 0 : Math.min(100, (funnel[k] / funnel.sent) * 100)}%` }} />
              <span className="funnel-name">{k}</span><b data-testid={`funnel-${step.id}-${k}`}>{funnel[k]}</b>
            </li>
          ))}
        </ol>
      )}
      {test && <WinnerBadge test={test} />}
      {errors.length > 0 && (
        <ul className="step-errors" data-testid={`errors-${step.id}`} role="alert">
          {errors.map((e, i) => <li key={i}>{e}</li>)}
        </ul>
      )}
      <div className="outlet-labels">
        {outs.map((o, i) => (
          <span key={o.handle} style={{ left: `${((i + 1) / (outs.length + 1)) * 100}%` }}>{o.label}</span>
        ))}
      </div>
      {outs.map((o, i) => (
        <Handle
          key={o.handle}
          type="source"
          position={Position.Bottom}
          id={o.handle}
          style={{ left: `${((i + 1) / (outs.length + 1)) * 100}%` }}
          data-testid={`handle-${step.id}-${o.handle}`}
          aria-label={`Connect ${step.id} ${o.label || 'next'}`}
        />
      ))}
    </div>
  );
}

/** The test's state on the node: each variant's rate and samples, and the winner with the figures it was declared on. */
function WinnerBadge({ test }: { test: WinnerTest }) {
  const decided = test.status === 'decided';
  const figures = `likelihood ratio ${test.statistic == null ? '—' : test.statistic.toFixed(1)} of ${test.threshold.toFixed(0)} needed`;
  return (
    <div className={`step-test ${test.status}`} data-testid={`test-${test.stepId}`} title={`Judged by ${test.metric}; ${figures}; at least ${test.minSamples} per variant`}>
      <div className="step-test-head" data-testid={`test-${test.stepId}-status`}>
        {decided ? <>Winner <b>{test.winner}</b> on {test.metric}</> : <>Testing on {test.metric}</>}
      </div>
      <ul>
        {test.tallies.map((t) => (
          <li key={t.variant} className={decided && t.variant === test.winner ? 'winner' : undefined} data-testid={`test-${test.stepId}-${t.variant}`}>
            {t.variant}: {formatRate(t.rate)} of {t.samples}
          </li>
        ))}
      </ul>
      <div className="muted">{figures}</div>
    </div>
  );
}
