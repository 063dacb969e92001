import { useState, type FormEvent } from 'react';
import { api, errorText } from '../api';
import { Link } from 'react-router';

/** Without a token: ask for a reset link by email. With the mailed link's token: choose a new password. */
export function ResetPasswordPage() {
  const token = new URLSearchParams(window.location.search).get('token') ?? '';
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      if (token) {
        await api.post('/v1/auth/password-reset/confirm', { token, password });
        setMessage('Your password is changed and every session is signed out. Sign in with the new password.');
      } else {
        await api.post('/v1/auth/password-reset', { email });
        setMessage('If an account uses this address, a link to reset its password is on its way.');
      }
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="auth">
      <h1>Automator</h1>
      <form onSubmit={submit} className="card form" data-testid="reset-form" aria-labelledby="reset-title">
        <h2 id="reset-title">{token ? 'Choose a new password' : 'Reset your password'}</h2>
        {token ? (
          <div className="field">
            <label htmlFor="password">New password</label>
            <input id="password" name="password" type="password" required minLength={10} autoComplete="new-password" value={password}
              onChange={(e) => setPassword(e.target.value)} data-testid="reset-password" />
          </div>
        ) : (
          <div className="field">
            <label htmlFor="email">Email</label>
            <input id="email" name="email" type="email" required autoComplete="email" value={email}
              onChange={(e) => setEmail(e.target.value)} data-testid="reset-email" />
          </div>
        )}
        {message && <p role="status" data-testid="reset-message">{message}</p>}
        {error && <p className="error" role="alert" data-testid="reset-error">{error}</p>}
        <button type="submit" disabled={busy} data-testid="reset-submit">{token ? 'Set password' : 'Send link'}</button>
        <p className="muted"><Link to="/login">Back to sign in</Link></p>
      </form>
    </main>
  );
}
