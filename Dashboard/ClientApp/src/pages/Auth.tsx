import { useState, type FormEvent } from 'react';
import { api, errorText, setAccessToken, type AuthResponse } from '../api';
import { Link } from 'react-router';

export function AuthPage({ mode, onSignedIn }: { mode: 'login' | 'signup'; onSignedIn: () => void }) {
  const [organizationName, setOrganizationName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const signup = mode === 'signup';

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const response = signup
        ? await api.post<AuthResponse>('/v1/auth/signup', { organizationName, email, password })
        : await api.post<AuthResponse>('/v1/auth/login', { email, password });
      setAccessToken(response.accessToken, response.expiresIn);
      onSignedIn();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="auth">
      <h1>Automator</h1>
      <form onSubmit={submit} className="card form" data-testid={signup ? 'signup-form' : 'login-form'} aria-labelledby="auth-title">
        <h2 id="auth-title">{signup ? 'Create your account' : 'Sign in'}</h2>
        {signup && (
          <div className="field">
            <label htmlFor="organizationName">Organization name</label>
            <input id="organizationName" name="organizationName" required autoComplete="organization" value={organizationName}
              onChange={(e) => setOrganizationName(e.target.value)} data-testid="signup-organization" />
          </div>
        )}
        <div className="field">
          <label htmlFor="email">Email</label>
          <input id="email" name="email" type="email" required autoComplete="email" value={email}
            onChange={(e) => setEmail(e.target.value)} data-testid="auth-email" />
        </div>
        <div className="field">
          <label htmlFor="password">Password</label>
          <input id="password" name="password" type="password" required minLength={signup ? 8 : undefined}
            autoComplete={signup ? 'new-password' : 'current-password'} value={password}
            onChange={(e) => setPassword(e.target.value)} data-testid="auth-password" />
        </div>
        {error && <p className="error" role="alert" data-testid="auth-error">{error}</p>}
        <button type="submit" disabled={busy} data-testid="auth-submit">{signup ? 'Sign up' : 'Sign in'}</button>
        <p className="muted">
          {signup ? <>Already have an account? <Link to="/login" data-testid="to-login">Sign in</Link></>
            : <>New here? <Link to="/signup" data-testid="to-signup">Create an account</Link> · <Link to="/reset-password" data-testid="to-reset">Forgot your password?</Link></>}
        </p>
      </form>
    </main>
  );
}
