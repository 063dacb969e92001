import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { api, type Contact, type Page } from '../api';
import { noItems, QueryView, submitting } from '../query';

/** Search by email or by one property's value; the search stays in the address (?email= or ?property=&value=). */
export function ContactsPage() {
  const [params, setParams] = useSearchParams();
  const [email, setEmail] = useState(params.get('email') ?? '');
  const [property, setProperty] = useState(params.get('property') ?? '');
  const [value, setValue] = useState(params.get('value') ?? '');
  const query = params.toString();
  const contacts = useQuery({
    queryKey: ['contacts', query],
    queryFn: () => api.get<Page<Contact>>(`/v1/contacts?limit=100${query ? `&${query}` : ''}`),
  });

  const search = submitting(() => {
    const next = new URLSearchParams();
    if (email.trim()) next.set('email', email.trim());
    if (property.trim()) {
    next.set('property', property.trim());
    next.set('value', value);
    }
    setParams(next);
  });

  return (
    <section aria-labelledby="contacts-title">
      <h1 id="contacts-title">Contacts</h1>
      <form className="row card" role="search" aria-label="Search contacts" onSubmit={search}>
        <label className="field">Email
          <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} data-testid="contacts-email" />
        </label>
        <label className="field">Property
          <input value={property} onChange={(e) => setProperty(e.target.value)} placeholder="plan" data-testid="contacts-property" />
        </label>
        <label className="field">Value
          <input value={value} onChange={(e) => setValue(e.target.value)} placeholder="pro" data-testid="contacts-value" />
        </label>
        <div className="field">
          <span aria-hidden="true">&nbsp;</span>
          <button type="submit" data-testid="contacts-search">Search</button>
        </div>
      </form>
      <QueryView query={contacts} what="contacts" empty={query ? 'No contact matches this search.' : 'No contacts yet.'} isEmpty={noItems}>
        {(page) => (
          <table className="table" data-testid="contacts-table">
            <caption className="sr-only">Contacts found</caption>
            <thead>
              <tr><th scope="col">Email</th><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Engagement</th></tr>
            </thead>
            <tbody>
              {page.items.map((c) => (
                <tr key={c.id} data-testid={`contact-row-${c.id}`}>
                  <td><Link to={`/contacts/${c.id}`}>{c.email}</Link></td>
                  <td>{[c.firstName, c.lastName].filter(Boolean).join(' ') || '—'}</td>
                  <td><span className={`badge status-${c.status}`}>{c.status}</span></td>
                  <td>{c.engagementScore}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </QueryView>
      {contacts.data?.nextCursor && <p className="muted">Showing the first 100: narrow the search to see others.</p>}
    </section>
  );
}
