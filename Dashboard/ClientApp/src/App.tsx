import { useEffect, useState } from 'react';
import { api, getAccessToken, onAuthChange, refresh, setAccessToken } from './api';
import { Link, match, useRouter } from './router';
import { AuthPage } from './pages/Auth';
import { WorkflowsPage } from './pages/Workflows';
import { CanvasPage } from './pages/Canvas';
import { TemplatesPage } from './pages/Templates';
import { ProvidersPage } from './pages/Providers';
import { ResetPasswordPage } from './pages/ResetPassword';
import { AnalyticsPage, WorkflowAnalyticsPage } from './pages/Analytics';

export function App() {
  const { path, navigate } = useRouter();
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

  if (path === '/reset-password') {
    return <ResetPasswordPage />;
  }

  if (!signedIn) {
    return <AuthPage mode={path === '/signup' ? 'signup' : 'login'} onSignedIn={() => navigate(path === '/login' || path === '/signup' || path === '/' ? '/workflows' : path)} />;
  }

  const workflow = match('/workflows/:id', path);
  let page;
  if (workflow) {
    page = <CanvasPage key={workflow.id} workflowId={workflow.id === 'new' ? null : workflow.id} />;
  } else if (path.startsWith('/templates')) {
    page = <TemplatesPage selectedId={match('/templates/:id', path)?.id ?? null} />;
  } else if (match('/analytics/workflows/:id', path)) {
    const analytics = match('/analytics/workflows/:id', path)!;
    page = <WorkflowAnalyticsPage key={analytics.id} workflowId={analytics.id} />;
  } else if (path.startsWith('/analytics')) {
    page = <AnalyticsPage />;
  } else if (path.startsWith('/providers')) {
    page = <ProvidersPage />;
  } else {
    page = <WorkflowsPage />;
  }

  const signOut = async () => {
    try {
      await api.post('/v1/auth/logout');
    } catch {
      // Signing out locally is enough when the server is unreachable.
    }
    setAccessToken(null);
    navigate('/login');
  };

  const section = (prefix: string) => (path.startsWith(prefix) || (prefix === '/workflows' && path === '/') ? 'page' : undefined);
  return (
    <div className="shell">
      <header className="topbar">
        <span className="brand">Automator</span>
        <nav aria-label="Main">
          <Link to="/workflows" aria-current={section('/workflows')} data-testid="nav-workflows">Workflows</Link>
          <Link to="/templates" aria-current={section('/templates')} data-testid="nav-templates">Templates</Link>
          <Link to="/providers" aria-current={section('/providers')} data-testid="nav-providers">Providers</Link>
          <Link to="/analytics" aria-current={section('/analytics')} data-testid="nav-analytics">Analytics</Link>
        </nav>
        <button type="button" className="link" onClick={signOut} data-testid="sign-out">Sign out</button>
      </header>
      <main className="content">{page}</main>
    </div>
  );
}
