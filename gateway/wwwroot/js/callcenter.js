// The agent's screen: find a customer, then the live view. The view re-reads itself when the customer changes:
// GET /api/v1/customers/{id}/live (server-sent events: ready, changed); where that stream is not available the
// screen re-reads every few seconds instead.
import { api, startPage, screens, allowed, refuse, say } from './api.js';
import { h, fill, table, formatDate, formatMoney, formatNumber } from './dom.js';

const screen = screens.find(s => s.href === 'callcenter.html');
const me = await startPage();
if (!allowed(screen, me.roles)) {
  refuse(me, screen);
  throw new Error('no role for this screen');
}

const HistoryPage = 20;
const PollSeconds = 3;
let current = null;       // customer id shown
let live = null;          // EventSource
let poll = null;          // fallback timer
let lastSeen = null;      // eventCount of the view shown, to skip redundant redraws
let historyNext = null;

const newId = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`);
const fullName = v => [v.firstName, v.lastName].filter(Boolean).join(' ') || v.customerId;
const path = id => `/api/v1/customers/${encodeURIComponent(id)}`;

document.getElementById('search-form').addEventListener('submit', async e => {
  e.preventDefault();
  const kind = document.getElementById('search-kind').value;
  const value = document.getElementById('search-value').value.trim();
  fill('search-results');
  if (!value) return say('search-status', 'Type something to search for.', 'error');
  if (kind === 'id') return open(value);
  say('search-status', 'Searching…');
  try {
    const found = await api(`/api/v1/lookup?${kind}=${encodeURIComponent(value)}`);
    const ids = found.customerIds ?? [];
    if (ids.length === 0) return say('search-status', `No customer found for ${kind} "${value}".`);
    if (ids.length === 1 && kind !== 'name') return open(ids[0]);
    say('search-status', `${ids.length} customer${ids.length === 1 ? '' : 's'} found${found.conflict && kind !== 'name' ? ' — the same contact point is held by more than one customer (merge?)' : ''}.`);
    const views = await Promise.all(ids.slice(0, 25).map(id => api(path(id)).catch(() => null)));
    fill('search-results', ids.slice(0, 25).map((id, i) => {
      const v = views[i];
      return h('li', {}, h('button', { type: 'button', class: 'secondary', onclick: () => open(id) }, v ? fullName(v) : id),
        ' ', h('span', { class: 'muted small' }, [id, v?.emails?.[0], v?.phones?.[0], v?.region].filter(Boolean).join(' · ')));
    }));
  } catch (error) {
    say('search-status', error.message, 'error');
  }
});

async function open(id) {
  stopWatching();
  current = id;
  lastSeen = null;
  say('search-status', '');
  try {
    await refresh(true);
  } catch (error) {
    current = null;
    document.getElementById('customer').hidden = true;
    return say('search-status', error.status === 404 ? `No customer ${id}.` : error.message, 'error');
  }
  history.replaceState(null, '', `?customer=${encodeURIComponent(id)}`);
  watch(id);
}

async function refresh(force = false) {
  const id = current;
  const view = await api(path(id));
  if (id !== current) return;
  if (!force && lastSeen === view.eventCount) return;
  lastSeen = view.eventCount;
  render(view);
  await loadHistory(true);
}

function watch(id) {
  if (typeof EventSource === 'undefined') return startPolling();
  live = new EventSource(`${path(id)}/live`);
  // 'ready' also follows a reconnect, after which notices may have been missed: re-read (a no-op when unchanged).
  live.addEventListener('ready', () => {
    setLive(true);
    refresh().catch(error => say('action-status', error.message, 'error'));
  });
  live.addEventListener('changed', () => refresh().catch(error => say('action-status', error.message, 'error')));
  live.onerror = () => {
    // A closed stream (404, 401, not built) falls back to polling; a dropped one reconnects by itself.
    if (live && live.readyState === EventSource.CLOSED) {
      live = null;
      startPolling();
    }
  };
  setLive(false, 'Connecting…');
}

function startPolling() {
  setLive(false, `Refreshing every ${PollSeconds} s`);
  poll = setInterval(() => refresh().catch(() => {}), PollSeconds * 1000);
}

function stopWatching() {
  live?.close();
  live = null;
  clearInterval(poll);
  poll = null;
}

function setLive(on, text) {
  const el = document.getElementById('live');
  el.textContent = on ? 'Live' : text;
  el.className = on ? 'live' : 'live polling';
}

function render(v) {
  document.getElementById('customer').hidden = false;
  fill('customer-name', fullName(v));
  const address = v.address ? [v.address.line1, v.address.line2, v.address.postalCode, v.address.city, v.address.country].filter(Boolean).join(', ') : '';
  const facts = [
    ['Customer id', v.customerId],
    ['E-mail', v.emails.join(', ')],
    ['Phone', v.phones.join(', ')],
    ['Born', v.birthDate],
    ['Address', address],
    ['Region', v.region],
    ['Unit', v.orgUnit],
    ['Preferred channel', v.preferredChannel],
    ['Account manager', v.accountManager],
    ['Purchases', v.transactions.purchaseCount ? `${v.transactions.purchaseCount} · ${formatMoney(v.transactions.purchaseTotal)} (last 90 days ${formatMoney(v.transactions.spend90Days)})` : ''],
    ['Deposits', v.transactions.depositCount ? `${v.transactions.depositCount} · ${formatMoney(v.transactions.depositTotal)}` : ''],
    ['Tags', v.tags.length ? v.tags.map(t => h('span', { class: 'pill' }, t)) : ''],
    ['Segments', v.segments.length ? v.segments.map(t => h('span', { class: 'pill' }, t)) : ''],
    ['Events', h('span', { id: 'event-count' }, formatNumber(v.eventCount))],
    ['Updated', formatDate(v.updatedAt)],
  ].filter(([, value]) => value !== undefined && value !== null && value !== '');
  fill('profile', facts.map(([k, value]) => [h('dt', {}, k), h('dd', {}, value)]));

  const scores = Object.entries(v.scores ?? {});
  fill('scores', scores.length ? scores.map(([name, s]) => h('li', { dataset: { score: name } },
    h('strong', {}, name), ': ', formatNumber(s.value, 2), s.label ? ` (${s.label})` : '',
    s.reasons?.length ? h('ul', { class: 'small muted' }, s.reasons.map(r => h('li', {}, r))) : null))
    : h('li', { class: 'muted' }, 'No scores yet.'));

  fill('nba', v.nextBestActions.length ? v.nextBestActions.map(a => h('li', { dataset: { offer: a.offerId } },
    h('strong', {}, a.name), ' ', h('span', { class: 'pill' }, a.channel),
    h('div', { class: 'small muted' }, `score ${formatNumber(a.score, 2)} · propensity ${formatNumber(a.propensity * 100, 0)}% · value ${formatMoney(a.value)}`),
    h('div', { class: 'small' }, a.reason),
    h('div', { class: 'row', style: 'margin-top:.3rem' },
      h('button', { type: 'button', 'aria-label': `Accept ${a.name}`, onclick: () => outcome(a, 'accepted') }, 'Accept'),
      h('button', { type: 'button', class: 'danger', 'aria-label': `Decline ${a.name}`, onclick: () => outcome(a, 'declined') }, 'Decline'))))
    : h('li', { class: 'muted' }, 'Nothing to offer now.'));

  fill('products', v.products.length ? table(['Product', 'Category', 'Status', 'Opened'],
    v.products.map(p => [p.name ?? p.productId, p.category ?? '', p.status, formatDate(p.openedAt)]), 'Products')
    : h('p', { class: 'muted' }, 'No products.'));

  const cases = [...v.openCases, ...v.recentCases.filter(c => !v.openCases.some(o => o.caseId === c.caseId))];
  fill('cases', cases.length ? table(['Case', 'Subject', 'Status', 'Opened', ''],
    cases.map(c => [c.kind, c.subject ?? '', c.status, formatDate(c.openedAt),
      c.status !== 'closed' ? h('button', { type: 'button', class: 'secondary', 'aria-label': `Close case ${c.subject ?? c.caseId}`, onclick: () => closeCase(c) }, 'Close') : '']), 'Cases')
    : h('p', { class: 'muted' }, 'No cases.'));

  fill('alerts', v.alerts.length ? v.alerts.map(a => h('li', {}, h('strong', {}, a.kind), ': ', a.message, ' ', h('span', { class: 'muted small' }, formatDate(a.at))))
    : h('li', { class: 'muted' }, 'No alerts.'));
}

async function loadHistory(reset) {
  const id = current;
  const before = reset ? '' : `&before=${encodeURIComponent(historyNext)}`;
  const page = await api(`${path(id)}/history?limit=${HistoryPage}${before}`);
  if (id !== current) return;
  historyNext = page.next;
  const rows = page.items.map(e => [formatDate(e.occurredAt), e.type, e.channel ?? '',
    e.data?.subject ?? e.data?.productName ?? e.data?.offerId ?? (e.data?.amount != null ? formatMoney(e.data.amount) : ''),
    e.data?.outcome ?? '', e.data?.agent ?? e.source ?? '']);
  const container = document.getElementById('history');
  if (reset || !container.querySelector('tbody')) {
    fill(container, rows.length ? table(['When', 'Type', 'Channel', 'About', 'Outcome', 'By'], rows, 'Contact history') : h('p', { class: 'muted' }, 'No history.'));
  } else {
    const body = container.querySelector('tbody');
    for (const r of rows) body.append(h('tr', {}, r.map(c => h('td', {}, c))));
  }
  document.getElementById('history-more').hidden = !historyNext;
}

document.getElementById('history-more').addEventListener('click', () => loadHistory(false).catch(error => say('action-status', error.message, 'error')));

async function postEvent(type, data, channel = 'phone') {
  await api(`${path(current)}/events`, {
    method: 'POST',
    body: { eventId: `ui-${newId()}`, type, occurredAt: new Date().toISOString(), source: 'callcenter', channel, data },
  });
  await refresh(true);
}

async function outcome(action, answer) {
  try {
    await api(`${path(current)}/offers/${encodeURIComponent(action.offerId)}/outcome`, {
      method: 'POST', body: { outcome: answer, channel: action.channel, agent: me.login, eventId: `ui-${newId()}` },
    });
    say('action-status', `Recorded: ${action.name} ${answer}.`, 'ok');
    await refresh(true);
  } catch (error) {
    say('action-status', error.message, 'error');
  }
}

async function closeCase(c) {
  try {
    await postEvent(`${c.kind}.closed`, { caseId: c.caseId, agent: me.login });
    say('action-status', `Case closed: ${c.subject ?? c.caseId}.`, 'ok');
  } catch (error) {
    say('action-status', error.message, 'error');
  }
}

document.getElementById('case-form').addEventListener('submit', async e => {
  e.preventDefault();
  const kind = document.getElementById('case-kind').value;
  const subject = document.getElementById('case-subject').value.trim();
  if (!subject) return say('action-status', 'A case needs a subject.', 'error');
  try {
    await postEvent(`${kind}.opened`, { caseId: `case-${newId()}`, subject, agent: me.login });
    document.getElementById('case-subject').value = '';
    say('action-status', `Case opened: ${subject}.`, 'ok');
  } catch (error) {
    say('action-status', error.message, 'error');
  }
});

document.getElementById('contact-form').addEventListener('submit', async e => {
  e.preventDefault();
  const type = document.getElementById('contact-type').value;
  const subject = document.getElementById('contact-subject').value.trim();
  const result = document.getElementById('contact-outcome').value.trim();
  if (!subject) return say('action-status', 'A contact needs a subject.', 'error');
  try {
    await postEvent(type, { subject, agent: me.login, outcome: result || null });
    document.getElementById('contact-subject').value = '';
    document.getElementById('contact-outcome').value = '';
    say('action-status', `Contact recorded: ${subject}.`, 'ok');
  } catch (error) {
    say('action-status', error.message, 'error');
  }
});

const start = new URLSearchParams(location.search).get('customer');
if (start) open(start);
