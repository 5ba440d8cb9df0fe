import { startPage, screens, allowed } from './api.js';
import { h, fill } from './dom.js';

const me = await startPage();
const mine = screens.filter(s => allowed(s, me.roles));
// One screen for the roles: go straight there.
if (mine.length === 1 && !new URLSearchParams(location.search).has('stay')) {
  location.replace(mine[0].href);
} else {
  fill('welcome', mine.length ? `Signed in as ${me.login}. Choose a screen:` : `Signed in as ${me.login}; your roles (${me.roles.join(', ')}) have no screen here — they use the API.`);
  fill('tiles', mine.map(s => h('a', { class: 'card', href: s.href }, h('h2', {}, s.title), h('p', { class: 'muted' }, s.about))));
}
