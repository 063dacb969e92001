import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, formatTime, type Page, type Suppression } from '../api';
import { actionError, noItems, QueryView, submitting } from '../query';
import { AddressInput, parseAddresses } from '../components/AddressInput';

const reasons = ['manual', 'unsubscribed', 'bounced', 'complained'];

interface ImportResult {
  added: number;
  existing: number;
  rejected: { index: number; errors: Record<string, string[]> }[];
}

export function SuppressionsPage() {
  const client = useQueryClient();
  const suppressions = useQuery({ queryKey: ['suppressions'], queryFn: () => api.get<Page<Suppression>>('/v1/suppressions?limit=500') });
  const [email, setEmail] = useState('');
  const [reason, setReason] = useState('manual');
  const [pasted, setPasted] = useState('');
  const [importReason, setImportReason] = useState('manual');
  const [imported, setImported] = useState<{ result: ImportResult; addresses: string[] } | null>(null);
  const refresh = () => client.invalidateQueries({ queryKey: ['suppressions'] });

  const add = useMutation({
    mutationFn: () => api.post<Suppression>('/v1/suppressions', { email: email.trim(), reason }),
    onSuccess: () => {
      setEmail('');
      void refresh();
    },
  });
  const remove = useMutation({
    mutationFn: (address: string) => api.del<void>(`/v1/suppressions/${encodeURIComponent(address)}`),
    onSuccess: () => void refresh(),
  });
  const importList = useMutation({
    mutationFn: async (addresses: string[]) => ({ result: await api.post<ImportResult>('/v1/suppressions/batch', { emails: addresses, reason: importReason }), addresses }),
    onSuccess: (outcome) => {
      setImported(outcome);
      setPasted('');
      void refresh();
    },
  });

  const submitAdd = submitting(() => add.mutate());
  const submitImport = submitting(() => importList.mutate(parseAddresses(pasted)));

  return (
    <section aria-labelledby="suppressions-title">
      <h1 id="suppressions-title">Suppressions</h1>
      <p className="muted">No email is sent to an address on this list, whatever the workflow.</p>
      <div className="row">
        <form className="card form" onSubmit={submitAdd} aria-labelledby="add-suppression-title">
          <h2 id="add-suppression-title">Add an address</h2>
          <label className="field">Email
            <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} data-testid="suppression-email" />
          </label>
          <label className="field">Reason
            <select value={reason} onChange={(e) => setReason(e.target.value)} data-testid="suppression-reason">
              {reasons.map((r) => <option key={r} value={r}>{r}</option>)}
            </select>
          </label>
          <button type="submit" disabled={add.isPending} data-testid="suppression-add">Add</button>
          {add.error && <p className="error" role="alert">{actionError(add.error)}</p>}
        </form>
        <form className="card form" onSubmit={submitImport} aria-labelledby="import-suppressions-title">
          <h2 id="import-suppressions-title">Import a list</h2>
          <AddressInput value={pasted} onChange={setPasted} testId="suppression-import" />
          <label className="field">Reason
            <select value={importReason} onChange={(e) => setImportReason(e.target.value)} data-testid="suppression-import-reason">
              {reasons.map((r) => <option key={r} value={r}>{r}</option>)}
            </select>
          </label>
          <button type="submit" disabled={importList.isPending || parseAddresses(pasted).length === 0} data-testid="suppression-import">Import</button>
          {importList.error && <p className="error" role="alert">{actionError(importList.error)}</p>}
          {imported && (
            <div role="status" data-testid="suppression-import-result">
              <p>Added {imported.result.added}, already listed {imported.result.existing}, rejected {imported.result.rejected.length}.</p>
              {imported.result.rejected.length > 0 && (
                <ul className="error">
                  {imported.result.rejected.map((r) => (
                    <li key={r.index}>“{imported.addresses[r.index]}”: {Object.values(r.errors).flat().join(' ')}</li>
                  ))}
                </ul>
              )}
            </div>
          )}
        </form>
      </div>
      <h2>On the list</h2>
      {remove.error && <p className="error" role="alert">{actionError(remove.error)}</p>}
      <QueryView query={suppressions} what="suppressions" empty="No address is suppressed." isEmpty={noItems}>
        {(page) => (
          <table className="table" data-testid="suppressions-table">
            <thead><tr><th scope="col">Email</th><th scope="col">Reason</th><th scope="col">Source</th><th scope="col">Since</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {page.items.map((s, i) => (
                <tr key={s.email ?? `erased-${i}`} data-testid={`suppression-row-${s.email ?? 'erased'}`}>
                  <td>{s.email ?? <span className="muted">erased (kept as a hash)</span>}</td>
                  <td>{s.reason}</td>
                  <td>{s.source ?? '—'}</td>
                  <td>{formatTime(s.createdAt)}</td>
                  <td>
                    {s.email && s.reason !== 'erased' && (
                      <button type="button" className="link" onClick={() => remove.mutate(s.email!)} aria-label={`Remove ${s.email}`} disabled={remove.isPending}>Remove</button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </QueryView>
      {suppressions.data?.nextCursor && <p className="muted">Showing the first 500.</p>}
    </section>
  );
}
