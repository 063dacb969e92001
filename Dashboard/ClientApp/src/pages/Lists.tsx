import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate } from 'react-router';
import { api, formatTime, type Contact, type EmailList, type Page } from '../api';
import { actionError, noItems, QueryView, submitting } from '../query';
import { AddressInput, parseAddresses } from '../components/AddressInput';

/** Every list with its size, and a form to create one. */
export function ListsPage() {
  const client = useQueryClient();
  const navigate = useNavigate();
  const lists = useQuery({ queryKey: ['lists'], queryFn: () => api.get<Page<EmailList>>('/v1/lists?limit=500') });
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const create = useMutation({
    mutationFn: () => api.post<EmailList>('/v1/lists', { name: name.trim(), description: description.trim() || undefined }),
    onSuccess: (list) => {
      void client.invalidateQueries({ queryKey: ['lists'] });
      navigate(`/lists/${list.id}`);
    },
  });
  const submit = submitting(() => create.mutate());

  return (
    <section aria-labelledby="lists-title">
      <h1 id="lists-title">Lists</h1>
      <form className="card row" onSubmit={submit} aria-labelledby="new-list-title">
        <h2 id="new-list-title" className="sr-only">New list</h2>
        <label className="field">Name
          <input required value={name} onChange={(e) => setName(e.target.value)} data-testid="list-name" />
        </label>
        <label className="field">Description
          <input value={description} onChange={(e) => setDescription(e.target.value)} data-testid="list-description" />
        </label>
        <div className="field">
          <span aria-hidden="true">&nbsp;</span>
          <button type="submit" disabled={create.isPending} data-testid="list-create">Create list</button>
        </div>
      </form>
      {create.error && <p className="error" role="alert">{actionError(create.error)}</p>}
      <QueryView query={lists} what="lists" empty="No lists yet." isEmpty={noItems}>
        {(page) => (
          <table className="table" data-testid="lists-table">
            <thead><tr><th scope="col">Name</th><th scope="col">Description</th><th scope="col">Members</th><th scope="col">Created</th></tr></thead>
            <tbody>
              {page.items.map((l) => (
                <tr key={l.id} data-testid={`list-row-${l.id}`}>
                  <td><Link to={`/lists/${l.id}`}>{l.name}</Link></td>
                  <td>{l.description ?? '—'}</td>
                  <td>{l.memberCount}</td>
                  <td>{formatTime(l.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </QueryView>
    </section>
  );
}

interface AddMembersResult {
  added: number;
  alreadyMembers: number;
  contactsCreated: number;
}

/** One list: its members, adding members by address (pasted or from a file), removing one. */
export function ListPage({ listId }: { listId: string }) {
  const client = useQueryClient();
  const list = useQuery({ queryKey: ['list', listId], queryFn: () => api.get<EmailList>(`/v1/lists/${listId}`) });
  const members = useQuery({ queryKey: ['list', listId, 'members'], queryFn: () => api.get<Page<Contact>>(`/v1/contacts?listId=${listId}&limit=500`) });
  const [pasted, setPasted] = useState('');
  const [result, setResult] = useState<AddMembersResult | null>(null);
  const changed = () => {
    void client.invalidateQueries({ queryKey: ['list', listId] });
    void client.invalidateQueries({ queryKey: ['lists'] });
  };
  const add = useMutation({
    mutationFn: () => api.post<AddMembersResult>(`/v1/lists/${listId}/members`, { emails: parseAddresses(pasted) }),
    onSuccess: (r) => {
      setResult(r);
      setPasted('');
      changed();
    },
  });
  const remove = useMutation({
    mutationFn: (contactId: string) => api.del<void>(`/v1/lists/${listId}/members/${contactId}`),
    onSuccess: changed,
  });
  const submit = submitting(() => {
    setResult(null);
    add.mutate();
  });

  return (
    <section aria-labelledby="list-title">
      <p><Link to="/lists">All lists</Link></p>
      <QueryView query={list} what="this list" empty="">
        {(l) => (
          <>
            <h1 id="list-title">{l.name}</h1>
            {l.description && <p className="muted">{l.description}</p>}
            <p data-testid="list-count">{l.memberCount} {l.memberCount === 1 ? 'member' : 'members'}</p>
          </>
        )}
      </QueryView>
      <form className="card form" onSubmit={submit} aria-labelledby="add-members-title">
        <h2 id="add-members-title">Add members</h2>
        <p className="muted">An address without a contact becomes a new contact.</p>
        <AddressInput value={pasted} onChange={setPasted} testId="list-members" />
        <div><button type="submit" disabled={add.isPending || parseAddresses(pasted).length === 0} data-testid="list-add">Add</button></div>
        {add.error && <p className="error" role="alert">{actionError(add.error)}</p>}
        {result && (
          <p role="status" data-testid="list-add-result">
            Added {result.added} ({result.contactsCreated} new contacts), already members {result.alreadyMembers}.
          </p>
        )}
      </form>
      <h2>Members</h2>
      {remove.error && <p className="error" role="alert">{actionError(remove.error)}</p>}
      <QueryView query={members} what="members" empty="No members yet." isEmpty={noItems}>
        {(page) => (
          <table className="table" data-testid="list-members-table">
            <thead><tr><th scope="col">Email</th><th scope="col">Status</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {page.items.map((c) => (
                <tr key={c.id} data-testid={`member-row-${c.email}`}>
                  <td><Link to={`/contacts/${c.id}`}>{c.email}</Link></td>
                  <td><span className={`badge status-${c.status}`}>{c.status}</span></td>
                  <td>
                    <button type="button" className="link danger" onClick={() => remove.mutate(c.id)} disabled={remove.isPending} aria-label={`Remove ${c.email} from the list`}>Remove</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </QueryView>
      {members.data?.nextCursor && <p className="muted">Showing the first 500 members.</p>}
    </section>
  );
}
