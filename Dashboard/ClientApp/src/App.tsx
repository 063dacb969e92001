import { lazy, Suspense, useEffect, useRef, useState } from 'react';
import { NavLink, Navigate, Route, Routes, useLocation, useNavigate, useParams } from 'react-router';
import { api, getAccessToken, onAuthChange, refresh, setAccessToken } from './api';
import { queryClient } from './query';
import { AuthPage } from './pages/Auth';
import { WorkflowsPage } from './pages/Workflows';
import { TemplatesPage } from './pages/Templates';
import { ProvidersPage } from './pages/Providers';
import { ResetPasswordPage } from './pages/ResetPassword';
import { ContactsPage } from './pages/Contacts';
import { ContactProfilePage } from './pages/ContactProfile';
import { SuppressionsPage } from './pages/Suppressions';
import { ListPage, ListsPage } from './pages/Lists';
import { ApiKeysPage } from './pages/ApiKeys';
import { UsersPage } from './pages/Users';

// The canvas (React Flow) and the charts (recharts) are the heavy parts: each loads when its page is first opened.
const CanvasPage = lazy(() => import('./pages/Canvas').then((m) => ({ default: m.CanvasPage })));
const AnalyticsPage = lazy(() => import('./pages/Analytics').then((m) => ({ default: m.AnalyticsPage })));
const WorkflowAnalyticsPage = lazy(() => import('./pages/Analytics').then((m) => ({ default: m.WorkflowAnalyticsPage })));

const sections: { to: string; label: string; id: string }[] = [
  { to: '/workflows', label: 'Workflows', id: 'workflows' },
  { to: '/templates', label: 'Templates', id: 'templates' },
  { to: '/contacts', label: 'Contacts', id: 'contacts' },
  { to: '/lists', label: 'Lists', id: 'lists' },
  { to: '/suppressions', label: 'Suppressions', id: 'suppressions' },
  { to: '/providers', label: 'Providers', id: 'providers' },
  { to: '/analytics', label: 'Analytics', id: 'analytics' },
  { to: '/users', label: 'Users', id: 'users' },
  { to: '/api-keys', label: 'API keys', id: 'api-keys' },
];

export function App() {
  const { pathname } = useLocation();
  const navigate = useNavigate();
  const [signedIn, setSignedIn] = useState(getAccessToken() !== null);
  const [restoring, setRestoring] = useState(true);

  useEffect(() => onAuthChange(setSignedIn), []);
  useEffect(() => {
    // A refresh cookie from an earlier visit restores the session without asking for the password again.
    void refresh().finally(() => setRestoring(false));
  }, []);

  if (restoring) {
    return <p className="loading" role="status">Loading…</p>;
  }

  if (pathname === '/reset-password') {
    return <ResetPasswordPage />;
  }

  if (!signedIn) {
    return (
      <AuthPage
        mode={pathname === '/signup' ? 'signup' : 'login'}
        onSignedIn={() => navigate(pathname === '/login' || pathname === '/signup' || pathname === '/' ? '/workflows' : pathname)}
      />
    );
  }

  const signOut = async () => {
    try {
      await api.post('/v1/auth/logout');
    } catch {
      // Signing out locally is enough when the server is unreachable.
    }
    setAccessToken(null);
    queryClient.clear();
    navigate('/login');
  };

  return (
    <div className="shell">
      <header className="topbar">
        <span className="brand">Automator</span>
        <nav aria-label="Main">
          {sections.map((s) => (
            <NavLink key={s.id} to={s.to} data-testid={`nav-${s.id}`}>{s.label}</NavLink>
          ))}
        </nav>
        <button type="button" className="link" onClick={signOut} data-testid="sign-out">Sign out</button>
      </header>
      <main className="content">
        <Suspense fallback={<p className="muted" role="status">Loading…</p>}>
          <Routes>
            <Route path="/workflows" element={<WorkflowsPage />} />
            <Route path="/workflows/:id" element={<CanvasRoute />} />
            <Route path="/templates" element={<TemplatesPage selectedId={null} />} />
            <Route path="/templates/:id" element={<TemplatesRoute />} />
            <Route path="/contacts" element={<ContactsPage />} />
            <Route path="/contacts/:id" element={<ContactProfileRoute />} />
            <Route path="/lists" element={<ListsPage />} />
            <Route path="/lists/:id" element={<ListRoute />} />
            <Route path="/suppressions" element={<SuppressionsPage />} />
            <Route path="/providers" element={<ProvidersPage />} />
            <Route path="/analytics" element={<AnalyticsPage />} />
            <Route path="/analytics/workflows/:id" element={<WorkflowAnalyticsRoute />} />
            <Route path="/users" element={<UsersPage />} />
            <Route path="/api-keys" element={<ApiKeysPage />} />
            <Route path="*" element={<Navigate to="/workflows" replace />} />
          </Routes>
        </Suspense>
      </main>
    </div>
  );
}

function CanvasRoute() {
  const { id = 'new' } = useParams();
  const created = (useLocation().state as { created?: boolean } | null)?.created === true;
  // A new draft, once saved, moves to its own address (state `created`) without remounting the canvas that holds it;
  // any other arrival, a reload included, opens the workflow of the address.
  const slot = useRef<{ key: string; workflowId: string | null } | null>(null);
  if (!(created && slot.current?.workflowId === null)) {
    slot.current = { key: id, workflowId: id === 'new' ? null : id };
  }
  return <CanvasPage key={slot.current!.key} workflowId={slot.current!.workflowId} />;
}

function TemplatesRoute() {
  const { id = null } = useParams();
  return <TemplatesPage selectedId={id} />;
}

function ContactProfileRoute() {
  const { id = '' } = useParams();
  return <ContactProfilePage key={id} contactId={id} />;
}

function WorkflowAnalyticsRoute() {
  const { id = '' } = useParams();
  return <WorkflowAnalyticsPage key={id} workflowId={id} />;
}

function ListRoute() {
  const { id = '' } = useParams();
  return <ListPage key={id} listId={id} />;
}
