import { useEffect, useId, useState, type FormEvent } from "react";
import { useApi } from "../api/ApiContext";
import { toApiError, type ApiError } from "../api/client";
import type { CreateWorkflowRequest, Definition, ErrorDetail, Workflow } from "../api/types";

type Field = "definition" | "workflowId" | "input";

/** Maps an error detail's JSON path ("workflowId", "$.input.x", "body.definition", "/input") to a
 * form field; null when it names none of them. */
export function fieldForPath(path: string): Field | null {
  const segments = path
    .replace(/^\$/, "")
    .split(/[.[\]/]+/)
    .filter(Boolean);
  const first = segments[0] === "body" ? segments[1] : segments[0];
  if (first === "workflowId" || first === "workflow_id") return "workflowId";
  if (first === "definition") return "definition";
  if (first === "input") return "input";
  return null;
}

interface NewWorkflowFormProps {
  onCreated: (workflow: Workflow) => void;
  onCancel: () => void;
}

/** Starts a workflow. Errors the API finds are shown next to the field they concern. */
export function NewWorkflowForm({ onCreated, onCancel }: NewWorkflowFormProps) {
  const api = useApi();
  const ids = { definition: useId(), workflowId: useId(), input: useId() };
  const [definitions, setDefinitions] = useState<Definition[] | null>(null);
  const [definitionsError, setDefinitionsError] = useState<ApiError | null>(null);
  const [definition, setDefinition] = useState("");
  const [workflowId, setWorkflowId] = useState("");
  const [inputText, setInputText] = useState("");
  const [submitting, setSubmitting] = useState(false);
  const [formError, setFormError] = useState<ApiError | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Partial<Record<Field, string>>>({});
  const [otherDetails, setOtherDetails] = useState<ErrorDetail[]>([]);

  useEffect(() => {
    const controller = new AbortController();
    api.listDefinitions(controller.signal).then(
      (items) => {
        setDefinitions(items);
        setDefinition((current) => current || (items.find((d) => d.name === "orchestra") ?? items[0])?.name || "");
      },
      (caught: unknown) => {
        if (!controller.signal.aborted) setDefinitionsError(toApiError(caught));
      },
    );
    return () => controller.abort();
  }, [api]);

  async function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setFormError(null);
    setOtherDetails([]);
    const errors: Partial<Record<Field, string>> = {};
    const body: CreateWorkflowRequest = {};
    if (definition) body.definition = definition;
    const id = workflowId.trim();
    // The id's rules are the API's to enforce: its answer is shown next to the field.
    if (id) body.workflowId = id;
    if (inputText.trim()) {
      try {
        body.input = JSON.parse(inputText);
      } catch (caught) {
        errors.input = `Not valid JSON: ${caught instanceof Error ? caught.message : String(caught)}`;
      }
    }
    setFieldErrors(errors);
    if (Object.keys(errors).length) return;

    setSubmitting(true);
    try {
      const { workflow } = await api.createWorkflow(body);
      onCreated(workflow);
    } catch (caught) {
      const error = toApiError(caught);
      const byField: Partial<Record<Field, string>> = {};
      const unplaced: ErrorDetail[] = [];
      for (const detail of error.details) {
        const field = fieldForPath(detail.field);
        if (field) byField[field] = byField[field] ? `${byField[field]} ${detail.message}` : detail.message;
        else unplaced.push(detail);
      }
      setFormError(error);
      setFieldErrors(byField);
      setOtherDetails(unplaced);
    } finally {
      setSubmitting(false);
    }
  }

  const selected = definitions?.find((d) => d.name === definition);
  const describedBy = (field: Field, hint?: string) =>
    [fieldErrors[field] ? `${ids[field]}-error` : null, hint].filter(Boolean).join(" ") || undefined;

  return (
    <form className="card new-workflow" onSubmit={handleSubmit} noValidate aria-labelledby={`${ids.definition}-title`}>
      <header className="card__header">
        <h2 id={`${ids.definition}-title`}>New workflow</h2>
      </header>

      {formError && (
        <div className="banner banner--error" role="alert" data-testid="form-error">
          <p>{formError.message}</p>
          {otherDetails.length > 0 && (
            <ul>
              {otherDetails.map((detail) => (
                <li key={`${detail.field}:${detail.message}`}>
                  <code>{detail.field}</code>: {detail.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}

      <div className="field">
        <label htmlFor={ids.definition}>Definition</label>
        {definitionsError ? (
          <p className="field__error" role="alert">
            Could not load definitions: {definitionsError.message} The API's default definition will be used.
          </p>
        ) : (
          <select
            id={ids.definition}
            value={definition}
            onChange={(event) => setDefinition(event.target.value)}
            disabled={!definitions}
            aria-invalid={Boolean(fieldErrors.definition)}
            aria-describedby={describedBy("definition", selected ? `${ids.definition}-hint` : undefined)}
          >
            {!definitions && <option value="">Loading…</option>}
            {definitions?.map((d) => (
              <option key={d.name} value={d.name}>
                {d.name}
              </option>
            ))}
          </select>
        )}
        {selected && (
          <p className="field__hint" id={`${ids.definition}-hint`}>
            {selected.description} ({selected.tasks.map((task) => task.id).join(", ")})
          </p>
        )}
        <FieldError id={`${ids.definition}-error`} message={fieldErrors.definition} />
      </div>

      <div className="field">
        <label htmlFor={ids.workflowId}>
          Workflow id <span className="muted">(optional)</span>
        </label>
        <input
          id={ids.workflowId}
          value={workflowId}
          onChange={(event) => setWorkflowId(event.target.value)}
          placeholder="generated when empty"
          autoComplete="off"
          spellCheck={false}
          aria-invalid={Boolean(fieldErrors.workflowId)}
          aria-describedby={describedBy("workflowId", `${ids.workflowId}-hint`)}
        />
        <p className="field__hint" id={`${ids.workflowId}-hint`}>
          Letters, digits, <code>.</code>, <code>_</code> and <code>-</code>, up to 80. The same id and body twice
          starts one workflow.
        </p>
        <FieldError id={`${ids.workflowId}-error`} message={fieldErrors.workflowId} />
      </div>

      <div className="field">
        <label htmlFor={ids.input}>
          Input (JSON) <span className="muted">(optional)</span>
        </label>
        <textarea
          id={ids.input}
          value={inputText}
          onChange={(event) => setInputText(event.target.value)}
          rows={5}
          spellCheck={false}
          placeholder={'{"simulate": {"B2": {"fail_attempts": 1}}}'}
          aria-invalid={Boolean(fieldErrors.input)}
          aria-describedby={describedBy("input", `${ids.input}-hint`)}
        />
        <p className="field__hint" id={`${ids.input}-hint`}>
          The sample tasks honour <code>simulate.&lt;task&gt;</code>: <code>fail_attempts</code>, <code>sleep_ms</code>,{" "}
          <code>output_bytes</code>.
        </p>
        <FieldError id={`${ids.input}-error`} message={fieldErrors.input} />
      </div>

      <div className="form-actions">
        <button type="button" className="button" onClick={onCancel} disabled={submitting}>
          Close
        </button>
        <button type="submit" className="button button--primary" disabled={submitting} aria-busy={submitting}>
          {submitting ? "Starting…" : "Start workflow"}
        </button>
      </div>
    </form>
  );
}

function FieldError({ id, message }: { id: string; message: string | undefined }) {
  if (!message) return null;
  return (
    <p className="field__error" id={id}>
      {message}
    </p>
  );
}
