import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, formatTime, type Page, type User } from '../api';
import { actionError, noItems, QueryView, submitting } from '../query';

interface Role {
  name: string;
  scopes: string[];
}

interface Invited extends User {
  inviteToken: string;
  inviteExpiresAt: string;
}

/** Invite users, change their role, disable or restore them. */
export function UsersPage() {
  const client = useQueryClient();
  const users = useQuery({ queryKey: ['users'], queryFn: () => api.get<Page<User>>('/v1/users?limit=500') });
  const roles = useQuery({ queryKey: ['roles'], queryFn: () => api.get<{ roles: Role[] }>('/v1/users/roles'), staleTime: Infinity });
  const roleNames = roles.data?.roles.map((r) => r.name) ?? [];
  const [email, setEmail] = useState('');
  const [role, setRole] = useState('marketer');
  const [invited, setInvited] = useState<Invited | null>(null);
  const refresh = () => client.invalidateQueries({ queryKey: ['users'] });

  const invite = useMutation({
    mutationFn: () => api.post<Invited>('/v1/users', { email: email.trim(), role }),
    onSuccess: (user) => {
      setInvited(user);
      setEmail('');
      void refresh();
    },
  });
  const update = useMutation({
    mutationFn: ({ id, body }: { id: string; body: { role?: string; disabled?: boolean } }) => api.patch<User>(`/v1/users/${id}`, body),
    onSuccess: () => void refresh(),
  });

  const submit = submitting(() => invite.mutate());

  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users and roles</h1>
      <form className="card row" onSubmit={submit} aria-labelledby="invite-title">
        <h2 id="invite-title" className="sr-only">Invite a user</h2>
        <label className="field">Email
          <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} data-testid="invite-email" />
        </label>
        <label className="field">Role
          <select value={role} onChange={(e) => setRole(e.target.value)} data-testid="invite-role">
            {(roleNames.length > 0 ? roleNames : [role]).map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
        </label>
        <div className="field">
          <span aria-hidden="true">&nbsp;</span>
          <button type="submit" disabled={invite.isPending} data-testid="invite-submit">Invite</button>
        </div>
      </form>
      {invite.error && <p className="error" role="alert">{actionError(invite.error)}</p>}
      {invited && (
        <div className="card" role="status" data-testid="invite-created">
          <p>{invited.email} is invited as {invited.role} until {formatTime(invited.inviteExpiresAt)}. The invitation token is shown only this once:</p>
          <p className="secret mono">{invited.inviteToken}</p>
          <p className="muted">They accept it with <code>POST /v1/auth/accept-invite</code> and choose a password.</p>
        </div>
      )}
      {update.error && <p className="error" role="alert" data-testid="users-error">{actionError(update.error)}</p>}
      <QueryView query={users} what="users" empty="No users." isEmpty={noItems}>
        {(page) => (
          <table className="table" data-testid="users-table">
            <thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Status</th><th scope="col">Since</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {page.items.map((u) => (
                <tr key={u.id} data-testid={`user-row-${u.email}`}>
                  <td>{u.email}</td>
                  <td>
                    <label className="sr-only" htmlFor={`role-${u.id}`}>Role of {u.email}</label>
                    <select id={`role-${u.id}`} value={u.role} disabled={update.isPending}
                      onChange={(e) => update.mutate({ id: u.id, body: { role: e.target.value } })} data-testid={`user-role-${u.email}`}>
                      {(roleNames.includes(u.role) ? roleNames : [u.role, ...roleNames]).map((r) => <option key={r} value={r}>{r}</option>)}
                    </select>
                  </td>
                  <td><span className={`badge status-${u.status}`} data-testid={`user-status-${u.email}`}>{u.status}</span></td>
                  <td>{formatTime(u.createdAt)}</td>
                  <td>
                    <button type="button" className={u.status === 'disabled' ? 'link' : 'link danger'} disabled={update.isPending}
                      onClick={() => update.mutate({ id: u.id, body: { disabled: u.status !== 'disabled' } })}
                      aria-label={`${u.status === 'disabled' ? 'Restore' : 'Disable'} ${u.email}`} data-testid={`user-toggle-${u.email}`}>
                      {u.status === 'disabled' ? 'Restore' : 'Disable'}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </QueryView>
    </section>
  );
}
