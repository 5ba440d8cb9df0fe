// The analyst's screen: a segment's profile from GET /api/v1/segments/{id}/statistics (a random sample of its members):
// ARPU and purchase value, mean scores (churn risk and propensities on a 0–1 scale, value scores apart), size over
// time, and breakdowns by region, preferred channel and the channels customers were in touch on.
import { api, startPage, screens, allowed, refuse, say } from './api.js';
import { h, fill, formatNumber, formatMoney } from './dom.js';
import { barChart, lineChart, itemsOf } from './charts.js';

const screen = screens.find(s => s.href === 'analyst.html');
const me = await startPage();
if (!allowed(screen, me.roles)) {
  refuse(me, screen);
  throw new Error('no role for this screen');
}

const segments = await api('/api/v1/segments');
const select = document.getElementById('segment');
const wanted = new URLSearchParams(location.search).get('segment');
fill(select, segments.map(s => h('option', { value: s.id, selected: s.id === wanted }, `${s.name} (${s.id})`)));
if (!segments.length) say('analyst-status', 'No segments yet: a campaign manager defines them.');

document.getElementById('segment-form').addEventListener('submit', e => {
  e.preventDefault();
  show(select.value);
});

async function show(id) {
  if (!id) return;
  say('analyst-status', 'Reading a sample of the members…');
  try {
    const stats = await api(`/api/v1/segments/${encodeURIComponent(id)}/statistics`);
    const segment = segments.find(s => s.id === id);
    document.getElementById('profile').hidden = false;
    fill('profile-title', `${segment?.name ?? id}: ${formatNumber(stats.members)} members`);
    fill('figures',
      [['Members', formatNumber(stats.members), 'members'], ['Sampled', formatNumber(stats.sampled), 'sampled'],
        ['ARPU (30 days)', formatMoney(stats.arpuMonthly), 'arpu-monthly'], ['ARPU (365 days)', formatMoney(stats.arpuYearly), 'arpu-yearly'],
        ['Mean purchase total', formatMoney(stats.meanPurchaseTotal), 'mean-purchase']]
        .map(([k, v, id2]) => [h('dt', {}, k), h('dd', { id: id2 }, v)]));
    const scores = Object.entries(stats.meanScores ?? {}).map(([label, value]) => ({ label, value }));
    const unit = scores.filter(s => s.value >= 0 && s.value <= 1);
    const other = scores.filter(s => !(s.value >= 0 && s.value <= 1));
    fill('size-chart', lineChart('Members over time', (stats.sizeOverTime ?? []).map(p => ({ label: p.day, value: p.members })), { width: 420 }));
    fill('risk-chart', barChart('Mean churn risk and propensity scores', unit, { width: 420, format: v => formatNumber(v, 2) }));
    fill('value-chart', barChart('Mean value scores', other, { width: 420, format: v => formatNumber(v, 1) }));
    fill('region-chart', barChart('Members by region', itemsOf(stats.byRegion), { width: 420 }));
    fill('channel-chart', barChart('Members in touch by channel', itemsOf(stats.byContactChannel), { width: 420 }));
    fill('preferred-chart', barChart('Members by preferred channel', itemsOf(stats.byPreferredChannel), { width: 420 }));
    say('analyst-status', `Profile of ${segment?.name ?? id} from ${formatNumber(stats.sampled)} sampled members.`, 'ok');
    history.replaceState(null, '', `?segment=${encodeURIComponent(id)}`);
  } catch (error) {
    say('analyst-status', error.message, 'error');
  }
}

if (wanted || segments.length) show(select.value);
