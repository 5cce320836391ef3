// app.js - mamori's web UI: one page, screens chosen by the URL's hash.
// Every datum comes from the JSON API (api.js) and is put in the page as
// text (never as HTML). No inline script or style: the server's CSP
// forbids both.
import { t, lang, setLang } from './i18n.js';
import { api, upload, session, onSessionGone, ApiError } from './api.js';
import { deviceGet, devicePut, deviceNew, deviceSign } from './device.js';
import { qrDraw } from './qr.js';

const $ = (id) => document.getElementById(id);
const main = $('main');

// h('tag.class', {attr: value, onclick: f}, children...): an element.
function h(spec, attrs, ...kids) {
  const [tag, ...cls] = spec.split('.');
  const e = document.createElement(tag);
  if (cls.length) e.className = cls.join(' ');
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined && k !== false) e.append(k instanceof Node ? k : String(k));
  return e;
}

let uid = 0;
// A labelled input: [label, input] for form.stack.
function field(label, attrs) {
  const id = `f${++uid}`;
  const tag = attrs && attrs.tag ? attrs.tag : 'input';
  const a = { ...attrs, id };
  delete a.tag;
  const input = h(tag, a);
  return [h('label', { for: id, text: label }), input];
}
function select(label, name, options, value) {
  const id = `f${++uid}`;
  const s = h('select', { id, name });
  for (const o of options) {
    const [v, txt] = Array.isArray(o) ? o : [o, o];
    s.append(h('option', { value: v, text: txt, selected: v === value }));
  }
  return [h('label', { for: id, text: label }), s];
}
const msg = (kind, text) => h(`div.msg.${kind}`, { role: kind === 'err' ? 'alert' : 'status', text });
function errText(e) {
  if (e instanceof ApiError) return t('error', e.message + (e.detail ? ` (${e.detail})` : ''));
  return t('error', String(e && e.message ? e.message : e));
}
function flash(kind, text) {
  const f = $('flash');
  f.replaceChildren(text ? msg(kind, text) : '');
}
function screen(title, ...kids) {
  // A screen whose data arrives after a logout is not drawn.
  if (stale()) return;
  main.replaceChildren(h('h2', { text: title }), ...kids);
  document.title = `${title} - mamori`;
}
// A form whose submit (Enter too) runs f(form data), showing errors in out.
function form(cls, kids, f, out) {
  const fm = h(`form.${cls}`, { novalidate: true }, kids);
  fm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const btn = fm.querySelector('button[type=submit]');
    if (btn) btn.disabled = true;
    out.replaceChildren();
    try {
      await f(Object.fromEntries(new FormData(fm)), fm);
    } catch (e) {
      out.replaceChildren(msg('err', errText(e)));
    } finally {
      if (btn) btn.disabled = false;
    }
  });
  return fm;
}
const submit = (text) => h('button', { type: 'submit', text });
const fmtTime = (s) => (s ? new Date(s).toLocaleString(lang() === 'en' ? 'en-GB' : 'ja-JP') : '');

// A table of objects: columns [[key, heading, (row) => node?]].
function table(rows, cols, label) {
  return h('table', { 'aria-label': label || null },
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col', text: c[1] })))),
    h('tbody', {}, rows.map((r) => h('tr', {}, cols.map((c) => {
      const v = c[2] ? c[2](r) : r[c[0]];
      return h(typeof v === 'number' ? 'td.num' : 'td', {}, v instanceof Node ? v : v === null || v === undefined ? '' : String(v));
    })))));
}

// ---- the frame: navigation, language, logout --------------------------------

const NAV = [
  ['dash', 'nav_dash'], ['records', 'nav_records'], ['add', 'nav_add'], ['entry', 'nav_entry'],
  ['import', 'nav_import'], ['exports', 'nav_exports'], ['audit', 'nav_audit'], ['admin', 'nav_admin', 'admin'],
];
function frame() {
  $('app-title').textContent = t('app');
  $('lang-toggle').textContent = t('lang');
  $('logout').textContent = t('logout');
  $('idle-continue').textContent = t('idle_continue');
  document.documentElement.lang = lang();
  const logged = session.user && !session.needs.length;
  $('nav').hidden = !logged;
  $('logout').hidden = !session.user;
  $('who').textContent = session.user ? `${session.user} (${session.role})` : '';
  const cur = (location.hash.slice(2).split('/')[0]) || 'dash';
  $('nav').replaceChildren(...NAV.filter((n) => !n[2] || n[2] === session.role).map(([k, m]) =>
    h(`a${k === cur ? '.active' : ''}`, { href: `#/${k}`, text: t(m), 'aria-current': k === cur ? 'page' : null })));
}

$('lang-toggle').addEventListener('click', () => {
  setLang(lang() === 'ja' ? 'en' : 'ja');
  route();
});
$('logout').addEventListener('click', () => logout(''));

// What belongs to one session: sessionGen counts the sessions this page
// has seen (a logout, another user); a screen drawn for an older one is
// stale. Cached data goes with its session.
let sessionGen = 0;
let drawGen = 0;
const stale = () => drawGen !== sessionGen;
function sessionReset() {
  sessionGen++;
  datasetsCache = null;
}

// A tab logged out stays out: while this mark is set, the page does not
// take up the session cookie again by itself (the server may not have
// ended that session); only a login clears it.
const OUT = 'mamori.out';

// Logging out clears the page first, before any request, so that nothing
// stays readable while the server answers; then it ends the session on
// the server. Repeated calls (the idle timer ticks on) join the first.
let loggingOut = null;
function logout(why) {
  if (!loggingOut) loggingOut = logoutNow(why).finally(() => { loggingOut = null; });
  return loggingOut;
}
async function logoutNow(why) {
  const had = !!session.user;
  const csrf = session.csrf;
  sessionStorage.setItem(OUT, '1');
  sessionStorage.setItem('mamori.why', why);
  sessionReset();
  Object.assign(session, { csrf: null, user: null, role: null, needs: [] });
  idleStop();
  main.replaceChildren();
  flash('', '');
  frame();
  document.title = 'mamori';
  if (had) await endSession(csrf);
  if (location.hash !== '#/login') location.hash = '#/login';
  else route();
}
onSessionGone(() => logout('session_gone'));

// DELETE /api/v1/session with the ended session's CSRF token. Until the
// server confirms (2xx, or 401: already ended) the login screen says the
// session may still be open, and the request is retried, less often each
// time; a login stops it (the cookie is then another session's).
const END_TIMEOUT_MS = 10000;
let ending = null; // { csrf, tries, timer } while not confirmed
async function endSession(csrf) {
  endCancel();
  const e = { csrf, tries: 0, timer: null };
  ending = e;
  await endTry(e);
}
function endCancel() {
  if (ending && ending.timer) clearTimeout(ending.timer);
  ending = null;
}
async function endTry(e) {
  e.timer = null;
  e.tries++;
  const ac = new AbortController();
  const tm = setTimeout(() => ac.abort(), END_TIMEOUT_MS);
  let done = false;
  try {
    const headers = { 'Accept-Language': lang() === 'en' ? 'en' : 'ja' };
    if (e.csrf) headers['X-CSRF-Token'] = e.csrf;
    const r = await fetch('/api/v1/session', { method: 'DELETE', headers, credentials: 'same-origin', cache: 'no-store', signal: ac.signal });
    done = r.ok || r.status === 401;
  } catch (err) {
    /* no answer in time, or none at all: not confirmed */
  } finally {
    clearTimeout(tm);
  }
  if (ending !== e) return; // a login came in between
  if (done) {
    ending = null;
  } else {
    e.timer = setTimeout(() => endTry(e), Math.min(60, 3 * 2 ** (e.tries - 1)) * 1000);
  }
  const box = $('logout-state');
  if (box) box.replaceChildren(...endNote(done));
}
// What the login screen says about the last logout.
function endNote(confirmed) {
  if (ending) return [msg('err', t('logout_unconfirmed'))];
  return confirmed ? [msg('ok', t('logout_confirmed'))] : [];
}

// ---- idle timeout (the screen-lock measure) ----------------------------------
// The limit comes from the server (GET /api/v1/session: idle_seconds); a
// dialog warns before it (a minute, or half the limit if shorter) and its
// "continue" makes a request; at the limit the page logs out.
let idleTimer = null;
function idleStart() {
  idleStop();
  idleTimer = setInterval(idleTick, 500);
}
function idleStop() {
  if (idleTimer) clearInterval(idleTimer);
  idleTimer = null;
  if ($('idle-dialog').open) $('idle-dialog').close();
}
function idleTick() {
  if (!session.user || loggingOut) return;
  const left = session.idle - (Date.now() - session.last) / 1000;
  const warnAt = Math.min(60, session.idle / 2);
  const d = $('idle-dialog');
  if (left <= 0) {
    logout('idle_out');
  } else if (left <= warnAt) {
    $('idle-text').textContent = t('idle_warn', Math.ceil(left));
    if (!d.open) {
      d.showModal();
      $('idle-continue').focus();
    }
  } else if (d.open) {
    d.close();
  }
}
$('idle-continue').addEventListener('click', async () => {
  try {
    await whoami();
    $('idle-dialog').close();
  } catch (e) {
    /* onSessionGone has logged out */
  }
});

async function whoami() {
  const s = await api('GET', '/api/v1/session');
  if (s.user !== session.user) sessionReset();
  Object.assign(session, { user: s.user, role: s.role, csrf: s.csrf, needs: s.needs || [] });
  if (s.idle_seconds) session.idle = s.idle_seconds;
  return s;
}

// ---- login, device enrolment, first login ------------------------------------

async function deviceStateText() {
  const d = await deviceGet();
  if (!d || d.state === 'new') return t('device_state', t('device_none'));
  return t('device_state', d.state === 'approved' ? t('device_ok') : t('device_pend'));
}

async function scrLogin() {
  const out = h('div');
  const why = sessionStorage.getItem('mamori.why');
  sessionStorage.removeItem('mamori.why');
  if (why) out.append(msg('info', t(why)));
  const ended = h('div', { id: 'logout-state' }, ...endNote(false));
  const fm = form('stack', [
    ...field(t('user'), { name: 'user', autocomplete: 'username', required: true, autofocus: true }),
    ...field(t('password'), { name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    ...field(t('otp'), { name: 'otp', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 12 }),
    h('div.full', {}, submit(t('login'))),
  ], async (v) => {
    const d = await deviceGet();
    const body = { user: v.user, password: v.password };
    if (v.otp) body.otp = v.otp;
    if (d && d.keys) {
      const ch = await api('GET', '/api/v1/session/challenge');
      body.device = { public_key: d.pk, challenge: ch.challenge, signature: await deviceSign(d, ch.vault_id, v.user, ch.challenge) };
    }
    let r;
    try {
      r = await api('POST', '/api/v1/session', body);
    } catch (e) {
      if (e.code === 'device_not_approved') {
        out.replaceChildren(msg('err', !d || !d.keys ? t('no_device') : d.state === 'pending' ? t('device_pending') : t('device_refused')),
          h('p', {}, h('a', { href: '#/enrol', text: t('go_enrol') })));
        return;
      }
      throw e;
    }
    sessionStorage.removeItem(OUT);
    endCancel();
    ended.replaceChildren();
    if (d && d.keys && d.state !== 'approved') {
      d.state = 'approved';
      await devicePut(d);
    }
    session.csrf = r.csrf;
    await whoami();
    idleStart();
    location.hash = session.needs.includes('password') ? '#/passwd' : session.needs.includes('mfa') ? '#/mfa' : '#/dash';
  }, out);
  screen(t('login_title'), h('section.card', {}, ended, fm, out,
    h('p.muted', { id: 'device-state', text: await deviceStateText() }),
    h('p', {}, h('a', { href: '#/enrol', text: t('go_enrol') }))));
  fm.querySelector('input').focus();
}

async function scrEnrol() {
  const out = h('div');
  const d = await deviceGet();
  const fm = form('stack', [
    ...field(t('user'), { name: 'user', autocomplete: 'username', required: true }),
    ...field(t('password'), { name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    ...field(t('otp'), { name: 'otp', inputmode: 'numeric', autocomplete: 'one-time-code' }),
    ...field(t('device_name'), { name: 'name', required: true, maxlength: 60, value: d && d.name ? d.name : '' }),
    h('div.full', {}, submit(t('enrol'))),
  ], async (v) => {
    if (!crypto.subtle || !window.CryptoKey) throw new Error(t('webcrypto_missing'));
    let dev = await deviceGet();
    if (!dev || !dev.keys) {
      try {
        dev = await deviceNew(v.name);
      } catch (e) {
        throw new Error(t('webcrypto_missing'));
      }
    }
    const body = { user: v.user, password: v.password, name: v.name, public_key: dev.pk };
    if (v.otp) body.otp = v.otp;
    const r = await api('POST', '/api/v1/devices', body);
    dev.state = 'pending';
    dev.id = r.id;
    dev.name = v.name;
    await devicePut(dev);
    out.replaceChildren(msg('ok', t('enrolled_wait')));
    $('device-state').textContent = await deviceStateText();
  }, out);
  screen(t('enrol_title'), h('section.card', {}, h('p', { text: t('enrol_help') }), fm, out,
    h('p.muted', { id: 'device-state', text: await deviceStateText() }),
    h('p', {}, h('a', { href: '#/login', text: t('back_login') }))));
  fm.querySelector('input').focus();
}

function scrPasswd() {
  const out = h('div');
  const fm = form('stack', [
    ...field(t('current_pw'), { name: 'current', type: 'password', autocomplete: 'current-password', required: true }),
    ...field(t('new_pw'), { name: 'new', type: 'password', autocomplete: 'new-password', required: true }),
    ...field(t('new_pw2'), { name: 'new2', type: 'password', autocomplete: 'new-password', required: true }),
    h('div.full', {}, submit(t('change'))),
  ], async (v) => {
    if (v.new !== v.new2) throw new Error(t('pw_differ'));
    const r = await api('POST', '/api/v1/session/password', { current: v.current, new: v.new });
    session.needs = r.needs || [];
    await whoami();
    location.hash = session.needs.includes('mfa') ? '#/mfa' : '#/dash';
  }, out);
  screen(t('passwd_title'), h('section.card', {}, h('p', { text: t('passwd_help') }), fm, out));
  fm.querySelector('input').focus();
}

async function scrMfa() {
  const out = h('div');
  screen(t('mfa_title'), h('p', { text: t('loading') }));
  let e;
  try {
    e = await api('POST', '/api/v1/mfa/enroll');
  } catch (err) {
    main.append(msg('err', errText(err)));
    return;
  }
  const canvas = h('canvas.qr', { id: 'mfa-qr', role: 'img', 'aria-label': 'QR' });
  qrDraw(canvas, e.uri);
  const fm = form('stack', [
    ...field(t('confirm_code'), { name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', required: true }),
    h('div.full', {}, submit(t('confirm'))),
  ], async (v) => {
    const r = await api('POST', '/api/v1/mfa/confirm', { code: v.code });
    const done = h('button', { type: 'button', text: t('done'), onclick: async () => {
      await whoami();
      location.hash = '#/dash';
    } });
    screen(t('recovery_title'), h('section.card', {}, h('p', { text: t('recovery_help') }),
      h('ul.codes', { id: 'recovery-codes' }, r.recovery_codes.map((c) => h('li', { text: c }))), done));
    done.focus();
  }, out);
  screen(t('mfa_title'), h('section.card', {}, h('p', { text: t('mfa_help') }), canvas,
    h('p', {}, `${t('secret')}: `, h('span.secretbox', { id: 'mfa-secret', text: e.secret })), fm, out));
  fm.querySelector('input').focus();
}

// ---- dashboard ---------------------------------------------------------------

async function scrDash() {
  screen(t('dash_title'), h('p', { text: t('loading') }));
  const safe = (p) => p.then((v) => ({ v }), (e) => ({ e }));
  const admin = session.role === 'admin';
  const [ds, bk, ver, ex, dv] = await Promise.all([
    safe(api('GET', '/api/v1/datasets')), safe(api('GET', '/api/v1/backups')),
    safe(api('GET', '/api/v1/audit/verify')), safe(api('GET', '/api/v1/exports')),
    admin ? safe(api('GET', '/api/v1/devices')) : Promise.resolve({ v: null })]);
  const kids = [];
  kids.push(h('h3', { text: t('datasets') }), ds.e ? msg('err', errText(ds.e))
    : table(ds.v, [['name', t('dataset')], ['records', t('records_n')], ['client', 'client'], ['purpose', 'purpose']], t('datasets')));
  const last = bk.v && bk.v.length ? bk.v[0] : null;
  kids.push(h('h3', { text: t('last_backup') }), h('p', { id: 'dash-backup', text: bk.e ? t('not_allowed') : last ? `${fmtTime(last.created)} (${last.records})` : t('none') }));
  kids.push(h('h3', { text: t('chain') }), h('p', { id: 'dash-chain', text: ver.e ? (ver.e.code === 'tamper' ? t('chain_bad', ver.e.detail) : t('not_allowed')) : t('chain_ok', ver.v.entries) }));
  if (admin) {
    const pe = (ex.v || []).filter((x) => x.state === 'pending');
    const pd = (dv.v || []).filter((x) => x.state === 'pending');
    kids.push(h('h3', { text: t('pending_exports') }), pe.length ? table(pe, [['id', '#'], ['dataset', t('dataset')], ['requester', t('requester')], ['reason', t('reason')]]) : h('p', { text: t('none') }));
    kids.push(h('h3', { text: t('pending_devices') }), pd.length ? table(pd, [['name', t('device_name')], ['requested_by', t('requester')], ['created', t('created'), (r) => fmtTime(r.created)]]) : h('p', { text: t('none') }));
  }
  screen(t('dash_title'), h('section.card', {}, kids));
}

// ---- records -----------------------------------------------------------------

// The session's datasets (reset with the session: sessionReset).
let datasetsCache = null;
async function datasets() {
  if (datasetsCache) return datasetsCache;
  const gen = sessionGen;
  const list = await api('GET', '/api/v1/datasets');
  if (gen === sessionGen) datasetsCache = list;
  return list;
}

function recordTable(rec, fields) {
  const names = fields ? fields.map((f) => f.name) : Object.keys(rec).filter((k) => !['id', 'version', 'masked'].includes(k));
  return table(names.map((n) => ({ n, v: rec[n] ?? '' })), [['n', t('field')], ['v', t('value')]], t('record_title'));
}

async function scrRecords(ds0, field0, value0) {
  const out = h('div');
  const list = await datasets();
  if (!list.length) return screen(t('nav_records'), h('p', { text: t('none') }));
  const cur = list.find((d) => d.name === ds0) || list[0];
  const searchable = (d) => d.fields.filter((f) => f.searchable).map((f) => f.name);
  const [dsl, dss] = select(t('dataset'), 'ds', list.map((d) => d.name), cur.name);
  const [fl, fs] = select(t('field'), 'field', searchable(cur), field0);
  dss.addEventListener('change', () => {
    const d = list.find((x) => x.name === dss.value);
    fs.replaceChildren(...searchable(d).map((n) => h('option', { value: n, text: n })));
  });
  const fm = form('inline', [h('label', {}, dsl.textContent, dss), h('label', {}, fl.textContent, fs),
    h('label', {}, t('value'), h('input', { name: 'value', required: true, value: value0 || '', id: 'search-value', autocomplete: 'off', spellcheck: 'false' })),
    submit(t('search'))], async (v) => {
    const q = new URLSearchParams([[v.field, v.value]]);
    const rows = await api('GET', `/api/v1/datasets/${encodeURIComponent(v.ds)}/records?${q}`);
    const d = list.find((x) => x.name === v.ds);
    const cols = [['id', 'id', (r) => h('a', { href: `#/record/${encodeURIComponent(v.ds)}/${r.id}`, text: r.id.slice(0, 8) })],
      ...d.fields.slice(0, 6).map((f) => [f.name, f.name]), ['masked', t('masked'), (r) => (r.masked ? '✓' : '')]];
    out.replaceChildren(h('p', { id: 'result-count', text: t('results', rows.length) }), table(rows, cols, t('results', rows.length)));
  }, out);
  screen(t('nav_records'), h('section.card', {}, fm), out);
  fm.querySelector('#search-value').focus();
}

async function scrRecord(ds, id) {
  screen(t('record_title'), h('p', { text: t('loading') }));
  try {
    const [rec, list] = await Promise.all([api('GET', `/api/v1/datasets/${encodeURIComponent(ds)}/records/${encodeURIComponent(id)}`), datasets()]);
    const d = list.find((x) => x.name === ds);
    screen(`${t('record_title')} ${rec.id}`, h('section.card', { id: 'record-view' },
      h('p.muted', { text: `${ds} · v${rec.version}${rec.masked ? ` · ${t('masked')}` : ''}` }), recordTable(rec, d && d.fields)));
  } catch (e) {
    screen(t('record_title'), msg('err', errText(e)));
  }
}

// A form with one input per field of dataset d (values left empty).
function fieldInputs(d) {
  return d.fields.flatMap((f) => field(`${f.name} (${f.type})`, { name: `v.${f.name}`, autocomplete: 'off', spellcheck: 'false' }));
}
function fieldValues(v) {
  const o = {};
  for (const [k, x] of Object.entries(v)) if (k.startsWith('v.') && x !== '') o[k.slice(2)] = x;
  return o;
}

async function dsPicker(title, render) {
  const list = await datasets();
  const [l, s] = select(t('dataset'), 'ds', list.map((d) => d.name));
  const slot = h('div');
  const draw = () => slot.replaceChildren(render(list.find((d) => d.name === s.value)));
  s.addEventListener('change', draw);
  screen(title, h('section.card', {}, h('p', {}, l, ' ', s), slot));
  if (list.length) draw();
}

async function scrAdd() {
  await dsPicker(t('add_title'), (d) => {
    const out = h('div');
    const fm = form('stack', [...fieldInputs(d), h('div.full', {}, submit(t('add')))], async (v, f) => {
      const r = await api('POST', `/api/v1/datasets/${encodeURIComponent(d.name)}/records`, fieldValues(v));
      f.reset();
      datasetsCache = null;
      out.replaceChildren(msg('ok', t('added', r.id)));
    }, out);
    return h('div', {}, fm, out);
  });
}

// ---- verified entry ----------------------------------------------------------

async function scrEntry() {
  const pend = h('div', { id: 'entry-pending' });
  await dsPicker(t('entry_title'), (d) => {
    const out = h('div');
    const fm = form('stack', [...fieldInputs(d), h('div.full', {}, submit(t('entry_start')))], async (v, f) => {
      await api('POST', `/api/v1/datasets/${encodeURIComponent(d.name)}/entries`, fieldValues(v));
      f.reset();
      out.replaceChildren(msg('ok', t('entry_started')));
      await loadPending();
    }, out);
    return h('div', {}, h('h3', { text: t('entry_first') }), fm, out);
  });
  if (stale()) return;
  main.append(h('section.card', {}, h('h3', { text: t('entry_pending') }), pend));
  async function loadPending() {
    try {
      const rows = await api('GET', '/api/v1/entries');
      pend.replaceChildren(rows.length ? table(rows, [['id', 'id', (r) => r.id.slice(0, 8)], ['dataset', t('dataset')],
        ['entered_by', t('entered_by')], ['created', t('created'), (r) => fmtTime(r.created)],
        ['', '', (r) => (r.entered_by === session.user ? '' : h('button.secondary', { type: 'button', text: t('entry_second'), 'data-entry': r.id, onclick: () => second(r) }))]])
        : h('p', { text: t('none') }));
    } catch (e) {
      pend.replaceChildren(msg('err', errText(e)));
    }
  }
  // The second form starts empty: the first keying's values are never sent
  // to the browser.
  async function second(r) {
    const d = (await datasets()).find((x) => x.name === r.dataset);
    const out = h('div', { id: 'verify-result' });
    const fm = form('stack', [...fieldInputs(d), h('div.full', {}, submit(t('entry_verify')))], async (v) => {
      try {
        const x = await api('POST', `/api/v1/entries/${r.id}/verify`, fieldValues(v));
        out.replaceChildren(msg('ok', t('entry_verified', x.record_id)));
        await loadPending();
      } catch (e) {
        if (e.code === 'mismatch') out.replaceChildren(msg('err', t('entry_mismatch', (e.body.error.fields || []).join(', '))));
        else throw e;
      }
    }, out);
    fm.id = 'verify-form';
    const box = h('section.card', { id: 'second-keying' }, h('h3', { text: `${t('entry_second')} (${r.dataset})` }), fm, out);
    if (!pend.isConnected) return; // the screen is gone (a logout)
    const old = $('second-keying');
    if (old) old.replaceWith(box);
    else main.append(box);
    fm.querySelector('input').focus();
  }
  await loadPending();
}

// ---- import (POST /api/v1/datasets/{ds}/import, raw CSV body) ----------------

async function scrImport() {
  await dsPicker(t('import_title'), (d) => {
    const out = h('div', { id: 'import-result' });
    const bar = h('progress', { max: 1, value: 0, hidden: true, id: 'import-progress' });
    const fm = form('stack', [
      ...field(t('file'), { name: 'file', type: 'file', accept: '.csv,text/csv', required: true }),
      ...select(t('encoding'), 'encoding', [['auto', t('enc_auto')], ['utf-8', 'UTF-8'], ['cp932', 'Shift_JIS (CP932)']], 'auto'),
      h('label', {}, h('input', { type: 'checkbox', name: 'skip', value: '1' }), ` ${t('skip_invalid')}`), h('span'),
      h('div.full', {}, submit(t('upload'))), h('div.full', {}, bar),
    ], async (v) => {
      const q = new URLSearchParams({ encoding: v.encoding, skip_invalid: v.skip ? '1' : '0' });
      bar.hidden = false;
      bar.value = 0;
      let r;
      try {
        r = await upload(`/api/v1/datasets/${encodeURIComponent(d.name)}/import?${q}`, v.file, 'text/csv', (p) => { bar.value = p; });
      } catch (e) {
        const det = e.body && e.body.error && e.body.error.detail;
        if (det && typeof det === 'object') r = det;
        else throw e;
      }
      bar.value = 1;
      datasetsCache = null;
      out.replaceChildren(msg(r.rejected ? 'err' : 'ok', t('import_result', r.rows, r.imported, r.rejected, r.duplicates)),
        h('p.muted', { text: `SHA-256 ${r.sha256 || ''}` }),
        (r.problems || []).length ? table(r.problems, [['line', t('line')], ['column', t('column')], ['rule', t('rule')]]) : '');
    }, out);
    return h('div', {}, fm, out);
  });
}

// ---- exports -----------------------------------------------------------------

// A certificate file as PEM text: PEM as it is, DER (a .cer from Windows)
// wrapped. The server parses and checks it.
async function certPem(file) {
  if (file.size > 64 * 1024) throw new Error(t('recipient_cert_big'));
  const bytes = new Uint8Array(await file.arrayBuffer());
  const text = new TextDecoder('latin1').decode(bytes);
  if (text.includes('-----BEGIN CERTIFICATE-----')) return text;
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  const b64 = btoa(bin).replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

async function scrExports() {
  const out = h('div');
  const ledger = h('div', { id: 'ledger' });
  const shown = h('div', { id: 'export-run' });
  const list = await datasets().catch(() => []);
  const kids = [];
  if (session.role === 'operator') {
    const [fl, fmt] = select(t('format'), 'format', [['zip', 'ZIP (AES-256)'], ['cms', t('cms_format')]]);
    // CMS goes to the recipient's certificate: no password to send.
    const [cl, cert] = field(t('recipient_cert'), { name: 'cert', type: 'file', accept: '.pem,.crt,.cer,.der' });
    const certRow = h('div.full', { hidden: true }, cl, cert, h('p.muted', { text: t('recipient_cert_hint') }));
    fmt.addEventListener('change', () => { certRow.hidden = fmt.value !== 'cms'; });
    const fm = form('stack', [
      ...select(t('dataset'), 'dataset', list.map((d) => d.name)),
      ...field(t('reason'), { name: 'reason', required: true, maxlength: 255 }),
      fl, fmt, certRow,
      ...select(t('encoding'), 'encoding', [['utf-8', 'UTF-8'], ['cp932', 'Shift_JIS (CP932)']]),
      h('div.full', {}, submit(t('request'))),
    ], async (v) => {
      delete v.cert;
      if (v.format === 'cms') {
        if (!cert.files.length) throw new Error(t('recipient_cert_needed'));
        v.recipient_cert = await certPem(cert.files[0]);
      }
      const r = await api('POST', '/api/v1/exports', v);
      out.replaceChildren(msg('ok', t('requested', r.id)));
      await load();
    }, out);
    kids.push(h('section.card', {}, h('h3', { text: t('export_request') }), fm, out));
  }
  kids.push(shown, h('section.card', {}, h('h3', { text: t('ledger') }), ledger));
  screen(t('export_title'), ...kids);
  const act = (label, f, id) => h('button.secondary', { type: 'button', text: label, 'data-export': id, onclick: async (ev) => {
    ev.target.disabled = true;
    try {
      await f();
    } catch (e) {
      out.replaceChildren(msg('err', errText(e)));
      if (!out.isConnected) shown.replaceChildren(msg('err', errText(e)));
    }
    await load();
  } });
  async function run(x) {
    const r = await api('POST', `/api/v1/exports/${x.id}/run`);
    // Shown once: kept only in this element, never stored.
    shown.replaceChildren(h('section.card', {}, msg('ok', t('export_done', r.count)),
      r.password ? h('p', {}, `${t('export_pw')}: `, h('span.secretbox', { id: 'export-password', text: r.password })) : '',
      h('p.muted', { text: `SHA-256 ${r.sha256}` })));
    const a = h('a', { href: r.download, download: '', hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
  }
  async function load() {
    try {
      const rows = await api('GET', '/api/v1/exports');
      ledger.replaceChildren(rows.length ? table(rows, [['id', '#'], ['dataset', t('dataset')], ['requester', t('requester')],
        ['reason', t('reason')], ['state', t('state')], ['count', t('records_n')],
        ['', '', (x) => h('span.actions', {},
          session.role === 'admin' && x.state === 'pending' && x.requester !== session.user ? [act(t('approve'), () => api('POST', `/api/v1/exports/${x.id}/approve`), `approve-${x.id}`),
            act(t('reject'), () => api('POST', `/api/v1/exports/${x.id}/reject`), `reject-${x.id}`)] : '',
          x.state === 'approved' && x.requester === session.user ? act(t('run'), () => run(x), `run-${x.id}`) : '')]], t('ledger'))
        : h('p', { text: t('none') }));
    } catch (e) {
      ledger.replaceChildren(msg('err', errText(e)));
    }
  }
  await load();
}

// ---- audit log ---------------------------------------------------------------

async function scrAudit() {
  const out = h('div', { id: 'audit-list' });
  const vout = h('div', { id: 'audit-verify' });
  const fm = form('inline', [
    h('label', {}, t('user'), h('input', { name: 'user', size: 12, autocomplete: 'off', spellcheck: 'false' })),
    h('label', {}, t('action'), h('input', { name: 'action', size: 14, autocomplete: 'off', spellcheck: 'false' })),
    h('label', {}, t('from'), h('input', { name: 'from', type: 'date' })),
    h('label', {}, t('to'), h('input', { name: 'to', type: 'date' })),
    h('label', {}, t('last_n'), h('input', { name: 'last', type: 'number', min: 1, max: 10000, value: 200 })),
    submit(t('filter')),
  ], async (v) => {
    const q = new URLSearchParams();
    for (const k of ['user', 'action', 'last']) if (v[k]) q.set(k, v[k]);
    // The days are local: sent as UTC times.
    const iso = (d) => new Date(d).toISOString().replace(/\.\d+Z$/, 'Z');
    if (v.from) q.set('from', iso(`${v.from}T00:00:00`));
    if (v.to) q.set('to', iso(`${v.to}T23:59:59`));
    const rows = await api('GET', `/api/v1/audit?${q}`);
    out.replaceChildren(table(rows.reverse(), [['seq', '#'], ['time', t('time'), (r) => fmtTime(r.time)], ['user', t('user')],
      ['device', t('device')], ['action', t('action')], ['dataset', t('dataset')], ['outcome', t('outcome')], ['count', t('records_n')], ['detail', t('detail')]], t('audit_title')));
  }, out);
  const vb = h('button.secondary', { type: 'button', id: 'audit-verify-btn', text: t('verify'), onclick: async () => {
    try {
      const r = await api('GET', '/api/v1/audit/verify');
      vout.replaceChildren(msg('ok', t('chain_ok', r.entries)));
    } catch (e) {
      vout.replaceChildren(msg('err', e.code === 'tamper' ? t('chain_bad', e.detail) : errText(e)));
    }
  } });
  screen(t('audit_title'), h('section.card', {}, fm, h('p', {}, vb), vout), out);
  fm.requestSubmit();
}

// ---- admin -------------------------------------------------------------------

async function scrAdmin() {
  const out = h('div');
  const users = h('div', { id: 'admin-users' });
  const devs = h('div', { id: 'admin-devices' });
  const rev = h('div', { id: 'admin-review' });
  const btn = (label, f, id) => h('button.secondary', { type: 'button', text: label, 'data-id': id, onclick: async () => {
    try {
      await f();
      out.replaceChildren(msg('ok', t('saved')));
    } catch (e) {
      out.replaceChildren(msg('err', errText(e)));
    }
    await load();
  } });
  const addForm = form('inline', [
    h('label', {}, t('user'), h('input', { name: 'name', required: true, size: 14 })),
    h('label', {}, t('role'), h('select', { name: 'role' }, ['operator', 'viewer', 'auditor', 'admin'].map((r) => h('option', { value: r, text: r })))),
    h('label', {}, t('initial_pw'), h('input', { name: 'password', type: 'password', required: true, autocomplete: 'new-password' })),
    submit(t('add')),
  ], async (v, f) => {
    await api('POST', '/api/v1/users', v);
    f.reset();
    out.replaceChildren(msg('ok', t('saved')));
    await load();
  }, out);
  const resetBox = h('div', { id: 'admin-reset' });
  // A new initial password for name: the user must change it at the next
  // login.
  function resetForm(name) {
    const fm = form('inline', [
      h('label', {}, `${t('reset')}: ${name} — ${t('initial_pw')}`, h('input', { name: 'password', type: 'password', required: true, autocomplete: 'new-password' })),
      submit(t('reset')),
    ], async (v) => {
      await api('POST', `/api/v1/users/${encodeURIComponent(name)}/reset`, { password: v.password });
      resetBox.replaceChildren();
      out.replaceChildren(msg('ok', t('saved')));
      await load();
    }, out);
    resetBox.replaceChildren(fm);
    fm.querySelector('input').focus();
  }
  screen(t('admin_title'), out, h('section.card', {}, h('h3', { text: t('users') }), users, resetBox, h('h3', { text: t('add_user') }), addForm),
    h('section.card', {}, h('h3', { text: t('devices') }), devs), h('section.card', {}, h('h3', { text: t('review') }), rev));
  async function load() {
    const [u, d, r] = await Promise.all([api('GET', '/api/v1/users'), api('GET', '/api/v1/devices'), api('GET', '/api/v1/access-review')].map((p) => p.catch((e) => e)));
    users.replaceChildren(u instanceof Error ? msg('err', errText(u)) : table(u, [['name', t('user')], ['role', t('role')], ['mfa', 'MFA'],
      ['last_login', t('time'), (x) => fmtTime(x.last_login)], ['locked_until', 'lock', (x) => fmtTime(x.locked_until)],
      ['', '', (x) => h('span.actions', {}, btn(t('unlock'), () => api('POST', `/api/v1/users/${encodeURIComponent(x.name)}/unlock`), `unlock-${x.name}`),
        h('button.secondary', { type: 'button', text: t('reset'), 'data-id': `reset-${x.name}`, onclick: () => resetForm(x.name) }))]], t('users')));
    devs.replaceChildren(d instanceof Error ? msg('err', errText(d)) : table(d, [['name', t('device_name')], ['state', t('state')],
      ['requested_by', t('requester')], ['approved_by', t('approve')], ['last_used', t('time'), (x) => fmtTime(x.last_used)],
      ['', '', (x) => h('span.actions', {}, x.state === 'pending' ? btn(t('approve'), () => api('POST', `/api/v1/devices/${x.id}/approve`), `approve-${x.id}`) : '',
        x.state !== 'revoked' ? btn(t('revoke'), () => api('POST', `/api/v1/devices/${x.id}/revoke`), `revoke-${x.id}`) : '')]], t('devices')));
    const rr = r instanceof Error ? r : Array.isArray(r) ? r : r.users || [];
    rev.replaceChildren(rr instanceof Error ? msg('err', errText(rr)) : table(rr, [['user', t('user')], ['role', t('role')], ['mfa', 'MFA'],
      ['devices', t('devices')], ['last_login', t('time'), (x) => fmtTime(x.last_login)], ['flags', 'flags', (x) => (x.flags || []).join(', ')]], t('review')));
  }
  await load();
}

// ---- routing -----------------------------------------------------------------

// One screen at a time: a hash change while a screen is still loading is
// drawn after it (else the older screen could land over the newer).
let routing = Promise.resolve();
function route() {
  routing = routing.then(routeNow, routeNow);
  return routing;
}

const OPEN = { login: scrLogin, enrol: scrEnrol };
async function routeNow() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const name = parts[0] || 'dash';
  flash('', '');
  if (!session.user && !sessionStorage.getItem(OUT)) {
    try {
      await whoami();
      idleStart();
    } catch (e) {
      /* no session */
    }
  }
  drawGen = sessionGen;
  frame();
  if (!session.user && !OPEN[name]) {
    location.hash = '#/login';
    return;
  }
  if (session.user && session.needs.length && !['passwd', 'mfa'].includes(name)) {
    location.hash = session.needs.includes('password') ? '#/passwd' : '#/mfa';
    return;
  }
  if (session.user && OPEN[name]) {
    location.hash = '#/dash';
    return;
  }
  const screens = {
    login: scrLogin, enrol: scrEnrol, passwd: scrPasswd, mfa: scrMfa, dash: scrDash,
    records: () => scrRecords(parts[1], parts[2], parts[3]), record: () => scrRecord(parts[1], parts[2]),
    add: scrAdd, entry: scrEntry, import: scrImport, exports: scrExports, audit: scrAudit, admin: scrAdmin,
  };
  try {
    await (screens[name] || scrDash)();
  } catch (e) {
    if (!(e instanceof ApiError && e.code === 'session')) flash('err', errText(e));
  }
  main.focus();
}

window.addEventListener('hashchange', route);
route();
