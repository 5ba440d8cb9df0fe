import { api, screens, allowed } from './api.js';

// Only a page of this site: ?next= is resolved as the browser would resolve it ("/\\evil.example" and
// "//evil.example" name other sites) and followed only when it stays on this origin.
function nextPage(roles) {
  const next = new URLSearchParams(location.search).get('next');
  if (next) {
    try {
      const target = new URL(next, location.origin);
      if (target.origin === location.origin && !target.pathname.endsWith('signin.html')) {
        return target.pathname + target.search + target.hash;
      }
    } catch {
      // Not an address: the default page below.
    }
  }
  const own = screens.filter(s => allowed(s, roles));
  return own.length === 1 ? own[0].href : 'index.html';
}

document.getElementById('signin-form').addEventListener('submit', async event => {
  event.preventDefault();
  const status = document.getElementById('signin-status');
  const login = document.getElementById('login').value.trim();
  const password = document.getElementById('password').value;
  if (!login || !password) {
    status.textContent = 'Enter your login and password.';
    status.className = 'status error';
    return;
  }
  const button = document.getElementById('signin-button');
  button.disabled = true;
  status.textContent = 'Signing in…';
  status.className = 'status';
  try {
    const session = await api('/api/v1/auth/session', { method: 'POST', body: { login, password } });
    location.assign(nextPage(session.roles ?? []));
  } catch (error) {
    status.textContent = error.status === 401 ? 'The login or password is wrong.' : error.message;
    status.className = 'status error';
    button.disabled = false;
  }
});

// The button stays disabled until the handler above is attached: a click before the script ran would submit the form
// natively, and the credentials must never leave except through the API call.
document.getElementById('signin-button').disabled = false;
