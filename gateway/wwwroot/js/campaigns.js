// The campaign manager's screen: segments with live counts (polled), build and launch a campaign, its progress from
// the campaign's live counters, and its results (by channel and by target segment) as charts.
import { api, startPage, screens, allowed, refuse, say } from './api.js';
import { h, fill, formatNumber, formatDate } from './dom.js';
import { progressBar, columnChart, barChart } from './charts.js';

const screen = screens.find(s => s.href === 'campaigns.html');
const me = await startPage();
if (!allowed(screen, me.roles)) {
  refuse(me, screen);
  throw new Error('no role for this screen');
}

const PollMs = 3000;
const ShardsPerSegment = 16;
// The campaigns shown: every campaign of the caller's unit (read from the server at load), and any saved or opened here since.
const known = new Set();
const remember = id => known.add(id);
let segments = [];

async function loadSegments() {
  segments = await api('/api/v1/segments');
  const select = document.getElementById('c-segment');
  const chosen = select.value;
  fill(select, segments.map(s => h('option', { value: s.id, selected: s.id === chosen }, `${s.name} (${s.id})`)));
  if (!segments.length) {
    return fill('segments', h('p', { class: 'muted' }, 'No segments yet.'));
  }
  const rows = segments.map(s => h('tr', { dataset: { segment: s.id } },
    h('td', {}, s.name, h('div', { class: 'muted small' }, s.listStamp != null ? 'static list' : s.expression)),
    h('td', { class: 'count', 'aria-live': 'polite' }, '…'),
    h('td', { class: 'backfill small muted' }, '')));
  fill('segments', h('table', {}, h('caption', { class: 'visually-hidden' }, 'Segments'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Segment'), h('th', { scope: 'col' }, 'Members'), h('th', { scope: 'col' }, 'Backfill'))),
    h('tbody', {}, rows)));
  await countSegments();
}

async function countSegments() {
  await Promise.all(segments.map(async s => {
    const row = document.querySelector(`tr[data-segment="${CSS.escape(s.id)}"]`);
    if (!row) return;
    try {
      const status = await api(`/api/v1/segments/${encodeURIComponent(s.id)}`);
      row.querySelector('.count').textContent = formatNumber(status.members);
      const b = status.backfill;
      row.querySelector('.backfill').textContent = b ? (b.finished ? 'up to date' : `${formatNumber(b.customersDone)} customers walked`) : '';
    } catch (error) {
      row.querySelector('.count').textContent = error.status === 404 ? 'gone' : '?';
    }
  }));
}

function definition() {
  const value = id => document.getElementById(id).value;
  const channel = value('c-channel');
  const start = value('c-start');
  return {
    name: value('c-name').trim(),
    type: 'single',
    segments: [value('c-segment')],
    channels: [channel],
    templates: { [channel]: { subject: value('c-subject') || null, body: value('c-body') } },
    startAt: start ? new Date(start + 'Z').toISOString() : null,
    controlShare: Number(value('c-control') || 0),
    consentMode: value('c-consent'),
  };
}

async function save(launch) {
  const id = document.getElementById('c-id').value.trim();
  if (!id) return say('build-status', 'Give the campaign an id.', 'error');
  try {
    say('build-status', 'Saving…');
    await api(`/api/v1/campaigns/${encodeURIComponent(id)}`, { method: 'PUT', body: definition() });
    remember(id);
    if (launch) {
      await api(`/api/v1/campaigns/${encodeURIComponent(id)}/launch`, { method: 'POST' });
    }
    say('build-status', launch ? `Campaign ${id} launched.` : `Campaign ${id} saved as a draft.`, 'ok');
    await showCampaigns();
  } catch (error) {
    say('build-status', error.message, 'error');
  }
}

document.getElementById('campaign-form').addEventListener('submit', e => { e.preventDefault(); save(false); });
document.getElementById('c-launch').addEventListener('click', () => {
  if (document.getElementById('campaign-form').reportValidity()) save(true);
});
document.getElementById('open-form').addEventListener('submit', e => {
  e.preventDefault();
  const id = document.getElementById('open-id').value.trim();
  if (id) { remember(id); showCampaigns(); }
});

async function control(id, verb) {
  try {
    await api(`/api/v1/campaigns/${encodeURIComponent(id)}/${verb}`, { method: 'POST' });
    await showCampaigns();
  } catch (error) {
    say('build-status', error.message, 'error');
  }
}

function campaignCard(id) {
  let card = document.querySelector(`section[data-campaign="${CSS.escape(id)}"]`);
  if (!card) {
    card = h('section', { class: 'card', dataset: { campaign: id }, 'aria-label': `Campaign ${id}` });
    document.getElementById('campaigns').prepend(card);
  }
  return card;
}

async function showCampaign(id) {
  const card = campaignCard(id);
  let status;
  try {
    status = await api(`/api/v1/campaigns/${encodeURIComponent(id)}`);
  } catch (error) {
    fill(card, h('h3', {}, id), h('p', { class: 'error' }, error.message));
    return false;
  }
  const d = status.definition;
  const shards = Math.max(1, (d.segments?.length ?? 1) * ShardsPerSegment);
  const suppressed = Object.values(status.suppressed ?? {}).reduce((a, b) => a + b, 0);
  const decided = status.sent + status.deferred + status.heldOut + suppressed;
  const running = status.state === 'running';
  const walkDone = status.state === 'completed' ? shards : Math.min(shards, status.shardsDone);
  fill(card,
    h('div', { class: 'row', style: 'justify-content:space-between' },
      h('h3', {}, d.name, ' ', h('span', { class: 'muted small' }, id)),
      h('span', { class: 'pill state', 'aria-label': 'State' }, status.state)),
    h('p', { class: 'small muted' }, `${d.type} · ${(d.channels ?? []).join(', ')} · segments ${(d.segments ?? []).join(', ')}`,
      status.launchedAt ? ` · launched ${formatDate(status.launchedAt)}` : '', status.finishedAt ? ` · finished ${formatDate(status.finishedAt)}` : ''),
    h('div', { class: 'grid' },
      h('div', {},
        h('div', { class: 'small' }, `Segments walked: ${walkDone} of ${shards} shards`),
        progressBar(`Segments walked for ${id}`, walkDone, shards),
        h('div', { class: 'small', style: 'margin-top:.5rem' }, `Decided: ${formatNumber(decided)} of ${formatNumber(status.targeted)} targeted`),
        progressBar(`Customers decided for ${id}`, decided, Math.max(decided, status.targeted)),
        h('dl', { class: 'facts small', style: 'margin-top:.5rem' },
          [['Targeted', status.targeted, 'targeted'], ['Sent', status.sent, 'sent'], ['Deferred', status.deferred, 'deferred'],
            ['Control group', status.heldOut, 'heldout'], ['Suppressed', suppressed, 'suppressed']]
            .map(([k, v, cls]) => [h('dt', {}, k), h('dd', { class: cls }, formatNumber(v))]),
          status.delivery ? [h('dt', {}, 'Delivered'), h('dd', {}, `${formatNumber(status.delivery.delivered)} (queued ${formatNumber(status.delivery.queued)}, waiting ${formatNumber(status.delivery.waitingForCapacity)}, failed ${formatNumber(status.delivery.failed)})`)] : null)),
      h('div', { class: 'results' }, h('p', { class: 'muted small' }, status.state === 'draft' ? 'Not launched yet.' : 'Loading results…'))),
    h('div', { class: 'row' },
      status.state === 'draft' ? h('button', { type: 'button', onclick: () => control(id, 'launch') }, 'Launch') : null,
      running ? h('button', { type: 'button', class: 'secondary', onclick: () => control(id, 'pause') }, 'Pause') : null,
      status.state === 'paused' ? h('button', { type: 'button', onclick: () => control(id, 'resume') }, 'Resume') : null,
      ['running', 'paused', 'scheduled'].includes(status.state) ? h('button', { type: 'button', class: 'danger', onclick: () => control(id, 'cancel') }, 'Cancel') : null));
  if (status.state !== 'draft') await showResults(id, card.querySelector('.results'));
  return running;
}

async function showResults(id, target) {
  try {
    const r = await api(`/api/v1/campaigns/${encodeURIComponent(id)}/results`);
    const pct = v => `${formatNumber(v * 100, 1)}%`;
    const bySegment = (r.bySegment ?? []).map(s => ({ label: s.segment, values: { contacted: s.contacted.responseRate, control: s.control.responseRate } }));
    fill(target,
      h('p', { class: 'small' }, `Response ${pct(r.contacted.responseRate)} contacted vs ${pct(r.control.responseRate)} control`,
        r.uplift != null ? ` · uplift ${pct(r.uplift)}` : '', ` · revenue ${formatNumber(r.contacted.revenue, 2)} · cost ${formatNumber(r.cost, 2)}`,
        r.roi != null ? ` · ROI ${formatNumber(r.roi, 2)}` : ''),
      columnChart(`Response rate by target segment, campaign ${id}`, bySegment.length ? bySegment : [{ label: 'all', values: { contacted: r.contacted.responseRate, control: r.control.responseRate } }],
        ['contacted', 'control'], { width: 420, height: 190, format: pct }),
      barChart(`Customers contacted by channel, campaign ${id}`, (r.byChannel ?? []).map(c => ({ label: c.name, value: c.customers })), { width: 420 }));
  } catch (error) {
    fill(target, h('p', { class: 'error small' }, error.message));
  }
}

async function showCampaigns() {
  const ids = [...known];
  if (!ids.length) return fill('campaigns', h('p', { class: 'muted', id: 'no-campaigns' }, 'No campaigns opened yet.'));
  document.getElementById('no-campaigns')?.remove();
  const running = await Promise.all(ids.map(showCampaign));
  return running.some(Boolean);
}

async function tick() {
  try {
    await countSegments();
    // Campaigns are re-read while one of them runs (and once more after), so progress moves by itself.
    if (document.querySelector('.pill.state') && [...document.querySelectorAll('.pill.state')].some(p => ['running', 'scheduled'].includes(p.textContent))) {
      await showCampaigns();
    }
  } finally {
    setTimeout(tick, PollMs);
  }
}

await loadSegments().catch(error => fill('segments', h('p', { class: 'error' }, error.message)));
for (const campaign of await api('/api/v1/campaigns').catch(() => [])) known.add(campaign.campaignId);
await showCampaigns();
setTimeout(tick, PollMs);
