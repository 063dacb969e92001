import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, formatTime, type ApiKey, type Page } from '../api';
import { actionError, noItems, QueryView, submitting } from '../query';

interface CreatedKey extends ApiKey {
  key: string;
}

/** Create (the secret is shown once), list and revoke the organization's API keys. */
export function ApiKeysPage() {
  const client = useQueryClient();
  const keys = useQuery({ queryKey: ['api-keys'], queryFn: () => api.get<Page<ApiKey>>('/v1/api-keys?limit=500') });
  const scopes = useQuery({ queryKey: ['api-key-scopes'], queryFn: () => api.get<{ scopes: string[] }>('/v1/api-keys/scopes'), staleTime: Infinity });
  const [name, setName] = useState('');
  const [chosen, setChosen] = useState<string[]>([]);
  const [created, setCreated] = useState<CreatedKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);

  const create = useMutation({
    mutationFn: () => api.post<CreatedKey>('/v1/api-keys', { name: name.trim(), scopes: chosen }),
    onSuccess: (key) => {
      setCreated(key);
      setName('');
      setChosen([]);
      void client.invalidateQueries({ queryKey: ['api-keys'] });
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api.del<void>(`/v1/api-keys/${id}`),
    onSuccess: () => {
      setRevoking(null);
      void client.invalidateQueries({ queryKey: ['api-keys'] });
    },
  });

  const toggle = (scope: string, on: boolean) => setChosen((c) => (on ? [...c, scope] : c.filter((s) => s !== scope)));
  const submit = submitting(() => {
    setCreated(null);
    create.mutate();
  });

  return (
    <section aria-labelledby="api-keys-title">
      <h1 id="api-keys-title">API keys</h1>
      <p className="muted">A key calls the API as the organization (header <code>X-Api-Key</code>) with the scopes chosen here.</p>
      <form className="card form" onSubmit={submit} aria-labelledby="new-key-title">
        <h2 id="new-key-title">New key</h2>
        <label className="field">Name
          <input required value={name} onChange={(e) => setName(e.target.value)} data-testid="api-key-name" />
        </label>
        <fieldset>
          <legend>Scopes</legend>
          <QueryView query={scopes} what="the scopes" empty="">
            {(s) => (
              <div className="scopes" data-testid="api-key-scopes">
                {s.scopes.map((scope) => (
                  <label key={scope} className="inline">
                    <input type="checkbox" checked={chosen.includes(scope)} onChange={(e) => toggle(scope, e.target.checked)} />
                    <span className="mono">{scope}</span>
                  </label>
                ))}
              </div>
            )}
          </QueryView>
        </fieldset>
        <div>
          <button type="submit" disabled={create.isPending || chosen.length === 0} data-testid="api-key-create">Create key</button>
          {chosen.length === 0 && <span className="muted"> Choose at least one scope.</span>}
        </div>
        {create.error && <p className="error" role="alert">{actionError(create.error)}</p>}
      </form>
      {created && (
        <div className="card" role="status" data-testid="api-key-created">
          <h2>Key “{created.name}” created</h2>
          <p>Copy it now: it is shown only this once.</p>
          <p className="secret mono" data-testid="api-key-secret">{created.key}</p>
          <button type="button" onClick={() => void navigator.clipboard?.writeText(created.key)}>Copy</button>{' '}
          <button type="button" onClick={() => setCreated(null)}>Done</button>
        </div>
      )}
      <h2>Keys</h2>
      {revoke.error && <p className="error" role="alert">{actionError(revoke.error)}</p>}
      {revoking && (
        <div role="alertdialog" aria-labelledby="revoke-title" className="card" data-testid="revoke-confirm">
          <h2 id="revoke-title">Revoke “{revoking.name}”?</h2>
          <p>Every call made with it is refused from now on.</p>
          <button type="button" className="danger" onClick={() => revoke.mutate(revoking.id)} disabled={revoke.isPending} data-testid="revoke-confirm-button" autoFocus>Revoke</button>{' '}
          <button type="button" onClick={() => setRevoking(null)}>Cancel</button>
        </div>
      )}
      <QueryView query={keys} what="API keys" empty="No API keys." isEmpty={noItems}>
        {(page) => (
          <table className="table" data-testid="api-keys-table">
            <thead><tr><th scope="col">Name</th><th scope="col">Key</th><th scope="col">Scopes</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {page.items.map((k) => (
                <tr key={k.id} data-testid={`api-key-row-${k.id}`}>
                  <td>{k.name}</td>
                  <td className="mono">{k.prefix}…</td>
                  <td className="mono">{k.scopes.join(', ')}</td>
                  <td>{formatTime(k.createdAt)}</td>
                  <td>{formatTime(k.lastUsedAt)}</td>
                  <td><button type="button" className="link danger" onClick={() => setRevoking(k)} aria-label={`Revoke ${k.name}`}>Revoke</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </QueryView>
    </section>
  );
}
