// Calls the gateway's /api/v1 with the session cookie; a 401 sends the browser to the sign-in page and back.
import { h, fill } from './dom.js';

export class ApiError extends Error {
  constructor(status, problem) {
    super(describe(status, problem));
    this.status = status;
    this.problem = problem;
  }
}

function describe(status, problem) {
  if (!problem) return `The server answered ${status}.`;
  const fields = problem.errors ? Object.entries(problem.errors).map(([f, p]) => `${f}: ${[].concat(p).join(', ')}`) : [];
  return [problem.title ?? `The server answered ${status}`, problem.detail, ...fields].filter(Boolean).join(' — ');
}

export function signInUrl() {
  return 'signin.html?next=' + encodeURIComponent(location.pathname + location.search);
}

export async function api(path, { method = 'GET', body, signal } = {}) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' }, signal };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 401 && !path.startsWith('/api/v1/auth/session')) {
    location.assign(signInUrl());
    throw new ApiError(401, { title: 'Sign-in required' });
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { title: text }; }
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** The screens and who may open them (an administrator may open every screen). */
export const screens = [
  { href: 'callcenter.html', title: 'Call center', roles: ['agent'], about: 'Find a customer and work the live view: offers, cases, contacts.' },
  { href: 'campaigns.html', title: 'Campaigns', roles: ['campaignManager'], about: 'Segments with live counts, build and launch campaigns, progress and results.' },
  { href: 'analyst.html', title: 'Analyst', roles: ['analyst', 'campaignManager'], about: 'Segment profiles: value, churn risk, region, channel response, ARPU.' },
];

export function allowed(screen, roles) {
  return roles.includes('administrator') || screen.roles.some(r => roles.includes(r));
}

/**
 * Reads who is signed in, draws the header (who, the screens the roles allow, sign out), and answers the caller.
 * Without a session the browser goes to the sign-in page instead.
 */
export async function startPage() {
  const me = await api('/api/v1/auth/me');
  const here = location.pathname.split('/').pop() || 'index.html';
  const header = document.getElementById('top');
  fill(header,
    h('a', { class: 'brand', href: 'index.html' }, 'OrleansCrm'),
    h('nav', { 'aria-label': 'Screens' },
      screens.filter(s => allowed(s, me.roles)).map(s =>
        h('a', { href: s.href, 'aria-current': s.href === here ? 'page' : null }, s.title))),
    h('span', { class: 'who', id: 'who' }, `${me.login} · ${me.roles.join(', ')}${me.orgUnit ? ' · ' + me.orgUnit : ''}`),
    h('button', { type: 'button', class: 'secondary', id: 'signout', onclick: signOut }, 'Sign out'));
  return me;
}

async function signOut() {
  try {
    await fetch('/api/v1/auth/session', { method: 'DELETE', credentials: 'same-origin' });
  } finally {
    location.assign('signin.html');
  }
}

/** Shows a message in a status element (role=status or alert in the markup). */
export function say(id, text, kind = '') {
  const el = document.getElementById(id);
  el.textContent = text;
  el.className = 'status ' + kind;
}

/** For screens a role may not open: says so instead of showing empty panels. */
export function refuse(me, screen) {
  fill(document.querySelector('main'),
    h('h1', {}, screen.title),
    h('p', { role: 'alert' }, `${me.login} has no role for this screen (it needs ${screen.roles.join(' or ')}).`),
    h('p', {}, h('a', { href: 'index.html' }, 'Back to the start page')));
}
