/**
 * The card of a question Codex asks (`user_input`) or a form an MCP server asks
 * to fill (`elicitation`): options as radio buttons, free text where allowed
 * (masked for secret questions), one field per property of a form's schema.
 * Submit accepts with the answers; Decline declines.
 */
import * as React from 'react';

import { IApprovalBubble } from '../model/timeline';
import { Codex } from '../tokens';
import { classes, type IBubbleActions } from './context';

export function isQuestion(a: Codex.IApproval): boolean {
  return a.kind === 'user_input' || a.kind === 'elicitation';
}

const OUTCOME: { [decision: string]: string } = {
  accept: 'Answered',
  decline: 'Declined',
  cancel: 'Cancelled'
};

function QuestionField(props: {
  question: Codex.IQuestion;
  disabled: boolean;
  value: string;
  onChange: (value: string) => void;
}): JSX.Element {
  const { question: q, disabled, value, onChange } = props;
  const options = q.options ?? [];
  const isOption = options.some(o => o.label === value);
  const name = `jp-codex-q-${q.id}`;
  return (
    <fieldset className="jp-codex-Question" data-question-id={q.id}>
      <legend>
        {q.header && <b>{q.header}</b>} {q.question}
      </legend>
      {options.map(o => (
        <label className="jp-codex-QuestionOption" key={o.label}>
          <input
            type="radio"
            name={name}
            value={o.label}
            checked={value === o.label}
            disabled={disabled}
            onChange={() => onChange(o.label)}
          />
          <span>{o.label}</span>
          {o.description && (
            <span className="jp-codex-Dim"> — {o.description}</span>
          )}
        </label>
      ))}
      {(q.is_other || options.length === 0) && (
        <input
          className="jp-codex-QuestionText"
          type={q.is_secret ? 'password' : 'text'}
          autoComplete={q.is_secret ? 'off' : undefined}
          aria-label={q.question || q.id}
          placeholder={options.length ? 'Other answer' : 'Your answer'}
          disabled={disabled}
          value={isOption ? '' : value}
          onChange={e => onChange(e.currentTarget.value)}
        />
      )}
    </fieldset>
  );
}

function FormField(props: {
  name: string;
  schema: { [key: string]: any };
  required: boolean;
  disabled: boolean;
  value: unknown;
  onChange: (value: unknown) => void;
}): JSX.Element {
  const { name, schema, disabled, value, onChange } = props;
  const label = `${schema.title ?? name}${props.required ? ' *' : ''}`;
  let input: JSX.Element;
  if (Array.isArray(schema.enum)) {
    input = (
      <select
        disabled={disabled}
        value={String(value ?? '')}
        onChange={e => onChange(e.currentTarget.value)}
      >
        <option value="" />
        {schema.enum.map((v: unknown) => (
          <option key={String(v)} value={String(v)}>
            {String(v)}
          </option>
        ))}
      </select>
    );
  } else if (schema.type === 'boolean') {
    input = (
      <input
        type="checkbox"
        disabled={disabled}
        checked={Boolean(value)}
        onChange={e => onChange(e.currentTarget.checked)}
      />
    );
  } else {
    const numeric = schema.type === 'integer' || schema.type === 'number';
    input = (
      <input
        type={numeric ? 'number' : schema.format === 'password' ? 'password' : 'text'}
        disabled={disabled}
        value={value === undefined || value === null ? '' : String(value)}
        onChange={e => {
          const raw = e.currentTarget.value;
          onChange(
            numeric && raw !== ''
              ? schema.type === 'integer'
                ? parseInt(raw, 10)
                : parseFloat(raw)
              : raw
          );
        }}
      />
    );
  }
  return (
    <label className="jp-codex-FormField" data-field={name}>
      <span>{label}</span>
      {input}
      {schema.description && (
        <span className="jp-codex-Dim">{schema.description}</span>
      )}
    </label>
  );
}

export function QuestionCard(props: {
  bubble: IApprovalBubble;
  actions: IBubbleActions;
}): JSX.Element {
  const { bubble, actions } = props;
  const a = bubble.approval;
  const [values, setValues] = React.useState<{ [id: string]: unknown }>({});
  const [sent, setSent] = React.useState(false);
  const waiting = bubble.decision === null;
  const disabled = !waiting || sent;
  const set = (key: string) => (value: unknown) =>
    setValues(v => ({ ...v, [key]: value }));
  const questions = a.questions ?? [];
  const form = a.form ?? null;
  const properties: { [name: string]: any } = form?.schema?.properties ?? {};
  const required: string[] = form?.schema?.required ?? [];

  let ready: boolean;
  let answer: Codex.IAnswer;
  if (a.kind === 'user_input') {
    const answers: { [id: string]: string[] } = {};
    for (const q of questions) {
      const v = String(values[q.id] ?? '').trim();
      if (v) {
        answers[q.id] = [v];
      }
    }
    ready = Object.keys(answers).length === questions.length;
    answer = { answers };
  } else {
    const content: { [k: string]: unknown } = {};
    for (const [k, v] of Object.entries(values)) {
      if (v !== '' && v !== undefined) {
        content[k] = v;
      }
    }
    ready = required.every(k => content[k] !== undefined);
    answer = form?.schema ? { content } : {};
  }
  const decide = (decision: Codex.Decision) => {
    setSent(true);
    actions.decide(a.id, decision, decision === 'accept' ? answer : undefined);
  };
  return (
    <form
      className={classes(
        'jp-codex-ApprovalCard',
        'jp-codex-QuestionCard',
        waiting && 'jp-mod-waiting'
      )}
      data-approval-id={a.id}
      data-decision={bubble.decision ?? ''}
      onSubmit={e => {
        e.preventDefault();
        if (ready && !disabled) {
          decide('accept');
        }
      }}
    >
      <div className="jp-codex-BubbleTitle">
        {form ? `${form.server ?? 'An MCP server'} asks` : 'Codex asks you'}
      </div>
      {form?.message && <div className="jp-codex-Reason">{form.message}</div>}
      {form?.url && (
        <a href={form.url} target="_blank" rel="noopener noreferrer">
          {form.url}
        </a>
      )}
      {questions.map(q => (
        <QuestionField
          key={q.id}
          question={q}
          disabled={disabled}
          value={String(values[q.id] ?? '')}
          onChange={set(q.id)}
        />
      ))}
      {Object.entries(properties).map(([name, schema]) => (
        <FormField
          key={name}
          name={name}
          schema={schema}
          required={required.includes(name)}
          disabled={disabled}
          value={values[name]}
          onChange={set(name)}
        />
      ))}
      {waiting ? (
        <div className="jp-codex-ApprovalButtons">
          <button
            type="submit"
            className="jp-Button jp-mod-styled jp-mod-accept"
            disabled={disabled || !ready}
          >
            Submit
          </button>
          <button
            type="button"
            className="jp-Button jp-mod-styled jp-mod-warn"
            disabled={disabled}
            onClick={() => decide('decline')}
          >
            Decline
          </button>
        </div>
      ) : (
        <div className="jp-codex-Dim">
          {OUTCOME[bubble.decision!] ?? bubble.decision}
          {bubble.by === 'timeout' ? ' (timed out)' : ''}
        </div>
      )}
    </form>
  );
}
