// app.js - mamori's web UI: one page, screens chosen by the URL's hash.
// Every datum comes from the JSON API (api.js) and is put in the page as
// text (never as HTML). No inline script or style: the server's CSP
// forbids both.
import { t, tv, T, live, Label, lang, setLang } from './i18n.js';
import { api, upload, session, onSessionGone, onApiCall, ApiError } from './api.js';
import { deviceGet, devicePut, deviceNew, deviceSign } from './device.js';
import { qrDraw } from './qr.js';

const $ = (id) => document.getElementById(id);
const main = $('main');

// h('tag.class', {attr: value, onclick: f}, children...): an element.
// Text, attributes and children may be Labels (i18n.js T, live): they are
// kept with their node, and relabel() gives them again in a new language.
const LBL = Symbol('labels');
function labelled(node, where, l) {
  node[LBL] = node[LBL] || {};
  node[LBL][where] = l;
}
function h(spec, attrs, ...kids) {
  const [tag, ...cls] = spec.split('.');
  const e = document.createElement(tag);
  if (cls.length) e.className = cls.join(' ');
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) {
      e.addEventListener(k.slice(2), v);
      continue;
    }
    if (v instanceof Label) labelled(e, k, v);
    if (k === 'text') e.textContent = String(v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const k of kids.flat()) {
    if (k === null || k === undefined || k === false) continue;
    if (k instanceof Label) {
      const n = document.createTextNode(String(k));
      labelled(n, 'text', k);
      e.append(n);
    } else {
      e.append(k instanceof Node ? k : String(k));
    }
  }
  return e;
}
// The Labels under root (and the page's title) in the current language.
let title = '';
function relabel(root) {
  const w = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
  for (let n = w.currentNode; n; n = w.nextNode()) {
    for (const [k, l] of Object.entries(n[LBL] || {})) {
      if (k === 'text') n.textContent = String(l);
      else n.setAttribute(k, String(l));
    }
  }
  document.title = title ? `${title} - mamori` : 'mamori';
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
// A message. Put in a screen's message area (note), a live region there
// before it; role 'alert' only for a message drawn as a screen's content.
const msg = (kind, text, role) => h(`div.msg.${kind}`, { role, text });
// A screen's message area: a live region in the page from the start (one
// inserted with its message may go unannounced), whose content is
// replaced.
const note = (attrs) => h('div', { ...attrs, 'aria-live': 'polite' });
// An error as a Label: the server's message stays in the language it came
// in (the page asked for it in that one).
function errText(e) {
  if (e instanceof ApiError) {
    // No message from mamorid: no answer, or another server's page.
    if (e.raw) return T('error', e.status ? T('http_error', e.status) : T('net_error'));
    const m = e.message + (e.detail ? ` (${e.detail})` : '');
    return T('error', m);
  }
  if (e && e.label instanceof Label) return T('error', e.label);
  return T('error', String(e && e.message ? e.message : e));
}
// An error of the page's own, in the language of the moment.
function fail(key, ...args) {
  const e = new Error(t(key, ...args));
  e.label = T(key, ...args);
  return e;
}
function flash(kind, text) {
  const f = $('flash');
  f.replaceChildren(text ? msg(kind, text) : '');
}
function screen(heading, ...kids) {
  // A screen whose data arrives after a logout is not drawn.
  if (stale()) return;
  main.replaceChildren(h('h2', { text: heading }), ...kids);
  title = heading;
  document.title = `${heading} - mamori`;
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

// A button's action f: the button disabled while it runs (no second
// request from a double click), and the keyboard kept in place when f
// draws the button's table again: on the button of the same id in the
// same section, else on the first button of its row (disable gives
// enable) or of the next row with one.
async function busy(b, f) {
  const had = document.activeElement === b;
  const box = b.closest('section') || main;
  const key = b.dataset.id || b.dataset.export;
  const tr = b.closest('tbody > tr');
  const at = tr ? [...tr.parentElement.children].indexOf(tr) : -1;
  b.disabled = true;
  try {
    await f();
  } finally {
    b.disabled = false;
  }
  if (!had || stale()) return;
  if (b.isConnected) {
    b.focus();
    return;
  }
  const same = [...box.querySelectorAll('button')].find((x) => key && (x.dataset.id || x.dataset.export) === key);
  const rows = [...box.querySelectorAll('tbody > tr')];
  const next = same || (at < 0 ? null : [...rows.slice(at), ...rows.slice(0, at).reverse()]
    .map((r) => r.querySelector('button')).find(Boolean));
  if (next) next.focus();
}
const timeText = (s) => (s ? new Date(s).toLocaleString(lang() === 'en' ? 'en-GB' : 'ja-JP') : '');
const fmtTime = (s) => (s ? live(() => timeText(s)) : '');

// A table of objects: columns [[key, heading, (row) => node?, class?]]
// (class "word": a column of identifiers, not broken inside one). The
// heading ACTIONS: a column of buttons, headed 操作 (Actions).
const ACTIONS = Symbol('actions');
function table(rows, cols, label) {
  return h('table', { 'aria-label': label || null },
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col', text: c[1] === ACTIONS ? T('actions') : c[1] })))),
    h('tbody', {}, rows.map((r) => h('tr', {}, cols.map((c) => {
      const v = c[2] ? c[2](r) : r[c[0]];
      const cls = typeof v === 'number' ? '.num' : c[3] ? `.${c[3]}` : '';
      return h(`td${cls}`, {}, v instanceof Node || v instanceof Label ? v : v === null || v === undefined ? '' : String(v));
    })))));
}

// ---- the frame: navigation, language, logout --------------------------------

// The screens of each role, as the server's rules allow them (lib/guard.c):
// admins run the vault and never read personal data; operators work on
// the records of the datasets granted to them; viewers search and read
// them masked; auditors read the log, the ledger and the access review.
// A screen a role cannot use is not in its menu, and is refused by name.
const ANY = ['admin', 'operator', 'viewer', 'auditor'];
const NAV = [
  ['dash', 'nav_dash', ANY], ['records', 'nav_records', ['operator', 'viewer']],
  ['add', 'nav_add', ['operator']], ['entry', 'nav_entry', ['operator']],
  ['import', 'nav_import', ['operator']], ['exports', 'nav_exports', ['operator', 'admin', 'auditor']],
  ['audit', 'nav_audit', ['admin', 'auditor']], ['review', 'nav_review', ['admin', 'auditor']],
  ['admin', 'nav_admin', ['admin']],
];
const ROLE_SCREENS = {
  ...Object.fromEntries(NAV.map((n) => [n[0], n[2]])),
  record: ['operator', 'viewer'], passwd: ANY, mfa: ANY,
};
const allowed = (name) => (ROLE_SCREENS[name] || ANY).includes(session.role);
const roleName = (r) => live(() => tv('role_', r));

function frame() {
  $('app-title').textContent = t('app');
  $('lang-toggle').textContent = t('lang');
  // The button names the other language, in that language.
  $('lang-toggle').lang = lang() === 'en' ? 'ja' : 'en';
  $('logout').textContent = t('logout');
  $('idle-continue').textContent = t('idle_continue');
  $('nav').setAttribute('aria-label', t('menu'));
  document.documentElement.lang = lang();
  const logged = session.user && !session.needs.length;
  $('nav').hidden = !logged;
  $('logout').hidden = !session.user;
  $('who').textContent = session.user ? `${session.user} (${tv('role_', session.role)})` : '';
  const cur = (location.hash.slice(2).split('/')[0]) || 'dash';
  $('nav').replaceChildren(...NAV.filter((n) => n[2].includes(session.role)).map(([k, m]) =>
    h(`a${k === cur ? '.active' : ''}`, { href: `#/${k}`, text: t(m), 'aria-current': k === cur ? 'page' : null })));
}

// The language changes the words only: the screen stays as it is, with
// what was typed, found or shown once.
$('lang-toggle').addEventListener('click', () => {
  setLang(lang() === 'ja' ? 'en' : 'ja');
  frame();
  relabel(document.body);
  if ($('idle-dialog').open) idleTick();
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
// The session is the browser's (one cookie for every tab): a logout in
// one tab is said to the others (LOGGED_OUT, the storage event), which
// log out too, without asking the server again (elsewhere).
let loggingOut = null;
function logout(why, elsewhere) {
  if (!loggingOut) loggingOut = logoutNow(why, elsewhere).finally(() => { loggingOut = null; });
  return loggingOut;
}
async function logoutNow(why, elsewhere) {
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
  title = '';
  document.title = 'mamori';
  if (had && !elsewhere) {
    localStorage.setItem(LOGGED_OUT, JSON.stringify({ at: Date.now(), why }));
    await endSession(csrf);
  }
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
  if (ending) return [msg('err', T('logout_unconfirmed'))];
  return confirmed ? [msg('ok', T('logout_confirmed'))] : [];
}

// ---- idle timeout (the screen-lock measure) ----------------------------------
// The limit comes from the server (GET /api/v1/session: idle_seconds). It
// counts the user's idleness, not a tab's: any activity (a key, a click,
// the pointer, a scroll, a call to the server) in any tab of the browser
// sets one shared time (ACTIVE, in localStorage), and each tab counts from
// it. So the warning (a minute before, or half the limit if shorter) comes
// only when every tab has been idle, and its "continue" in one tab
// dismisses it in all (the storage event). At the limit the page logs
// out, and with it every tab. The server ends a session idle by its own
// clock, which only requests move: while the user works without one (a
// long form), a request now and then (TOUCHED: the last one) keeps it.
const ACTIVE = 'mamori.active';
const TOUCHED = 'mamori.touched';
const LOGGED_OUT = 'mamori.logout';
// A login in one tab is said to the others (LOGGED_IN): the browser's
// cookie is that session now, so they take it up (and its CSRF token).
const LOGGED_IN = 'mamori.login';
let idleTimer = null;
let activeLocal = 0; // this tab's last write of ACTIVE
let keeping = false; // a keep-alive request is on its way
const stamp = (k) => Number(localStorage.getItem(k)) || 0;
function idleStart() {
  idleStop();
  localStorage.setItem(TOUCHED, String(Date.now()));
  activity(true);
  idleTimer = setInterval(idleTick, 500);
}
function idleStop() {
  if (idleTimer) clearInterval(idleTimer);
  idleTimer = null;
  if ($('idle-dialog').open) $('idle-dialog').close();
}
// The user did something (force: "continue", a login). While the warning
// is up, only its button counts: the page under it stays hidden until the
// user answers it. Written at most once a second.
function activity(force) {
  if (!session.user || loggingOut || (!force && $('idle-dialog').open)) return;
  const now = Date.now();
  if (!force && now - activeLocal < 1000) return;
  activeLocal = now;
  localStorage.setItem(ACTIVE, String(now));
}
for (const ev of ['keydown', 'pointerdown', 'pointermove', 'wheel', 'scroll', 'input', 'touchstart'])
  window.addEventListener(ev, () => activity(false), { capture: true, passive: true });
onApiCall((background) => {
  if (session.user) localStorage.setItem(TOUCHED, String(Date.now()));
  if (!background) activity(false);
});
function idleTick() {
  if (!session.user || loggingOut) return;
  const now = Date.now();
  const last = Math.max(activeLocal, stamp(ACTIVE));
  const left = session.idle - (now - last) / 1000;
  const warnAt = Math.min(60, session.idle / 2);
  const d = $('idle-dialog');
  if (left <= 0) {
    logout('idle_out');
    return;
  }
  if (left <= warnAt) {
    $('idle-text').textContent = t('idle_warn', Math.ceil(left));
    if (!d.open) {
      d.showModal();
      $('idle-continue').focus();
    }
  } else if (d.open) {
    d.close();
  }
  const touched = stamp(TOUCHED);
  if (!keeping && last > touched && now - touched >= Math.min(60, session.idle / 3) * 1000) {
    keeping = true;
    whoami({ background: true }).catch(() => { /* onSessionGone has logged out */ })
      .finally(() => { keeping = false; });
  }
}
$('idle-continue').addEventListener('click', async () => {
  activity(true);
  $('idle-dialog').close();
  try {
    await whoami();
  } catch (e) {
    /* onSessionGone has logged out */
  }
});
// The other tabs: their activity and "continue" (ACTIVE), their logout,
// their language.
window.addEventListener('storage', (e) => {
  if (e.key === ACTIVE) {
    idleTick();
  } else if (e.key === LOGGED_OUT && e.newValue && session.user && !loggingOut) {
    let why = '';
    try {
      why = JSON.parse(e.newValue).why;
    } catch (err) {
      /* not ours */
    }
    logout(why || 'logout_elsewhere', true);
  } else if (e.key === LOGGED_IN && e.newValue && !loggingOut) {
    const before = session.user;
    sessionStorage.removeItem(OUT);
    endCancel();
    whoami().then(() => {
      idleStart();
      // The same user keeps the screen (and what is typed in it); anyone
      // else, or a tab that was logged out, starts on the dashboard.
      if (before !== session.user) {
        if (location.hash !== '#/dash') location.hash = '#/dash';
        else route();
      }
    }).catch(() => { /* no session after all: stays as it is */ });
  } else if (e.key === 'mamori.lang') {
    frame();
    relabel(document.body);
  }
});

async function whoami(opts) {
  const s = await api('GET', '/api/v1/session', undefined, opts);
  if (s.user !== session.user) sessionReset();
  Object.assign(session, { user: s.user, role: s.role, csrf: s.csrf, needs: s.needs || [] });
  if (s.idle_seconds) session.idle = s.idle_seconds;
  return s;
}

// ---- login, device enrolment, first login ------------------------------------

async function deviceStateText() {
  const d = await deviceGet();
  if (!d || d.state === 'new') return T('device_state', T('device_none'));
  return T('device_state', d.state === 'approved' ? T('device_ok') : T('device_pend'));
}

async function scrLogin() {
  const out = note();
  const why = sessionStorage.getItem('mamori.why');
  sessionStorage.removeItem('mamori.why');
  const ended = note({ id: 'logout-state' });
  const fm = form('stack', [
    ...field(T('user'), { name: 'user', autocomplete: 'username', required: true, autofocus: true }),
    ...field(T('password'), { name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    ...field(T('otp'), { name: 'otp', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 12 }),
    h('div.full', {}, submit(T('login'))),
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
        out.replaceChildren(msg('err', !d || !d.keys ? T('no_device') : d.state === 'pending' ? T('device_pending') : T('device_refused')),
          h('p', {}, h('a', { href: '#/enrol', text: T('go_enrol') })));
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
    localStorage.setItem(LOGGED_IN, JSON.stringify({ at: Date.now() }));
    location.hash = session.needs.includes('password') ? '#/passwd' : session.needs.includes('mfa') ? '#/mfa' : '#/dash';
  }, out);
  screen(T('login_title'), h('section.card', {}, ended, fm, out,
    h('p.muted', { id: 'device-state', text: await deviceStateText() }),
    h('p', {}, h('a', { href: '#/enrol', text: T('go_enrol') }))));
  fm.querySelector('input').focus();
  // What the last logout left to say: put in the live regions once they
  // are in the page, so that it is announced.
  setTimeout(() => {
    if (why && !out.childNodes.length) out.append(msg('info', T(why)));
    if (!ended.childNodes.length) ended.append(...endNote(false));
  }, 100);
}

async function scrEnrol() {
  const out = note();
  const d = await deviceGet();
  const fm = form('stack', [
    ...field(T('user'), { name: 'user', autocomplete: 'username', required: true }),
    ...field(T('password'), { name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    ...field(T('otp'), { name: 'otp', inputmode: 'numeric', autocomplete: 'one-time-code' }),
    ...field(T('device_name'), { name: 'name', required: true, maxlength: 60, value: d && d.name ? d.name : '' }),
    h('div.full', {}, submit(T('enrol'))),
  ], async (v) => {
    if (!crypto.subtle || !window.CryptoKey) throw fail('webcrypto_missing');
    let dev = await deviceGet();
    if (!dev || !dev.keys) {
      try {
        dev = await deviceNew(v.name);
      } catch (e) {
        throw fail('webcrypto_missing');
      }
    }
    const body = { user: v.user, password: v.password, name: v.name, public_key: dev.pk };
    if (v.otp) body.otp = v.otp;
    const r = await api('POST', '/api/v1/devices', body);
    dev.state = 'pending';
    dev.id = r.id;
    dev.name = v.name;
    await devicePut(dev);
    out.replaceChildren(msg('ok', T('enrolled_wait')));
    const st = $('device-state');
    if (st) st.replaceChildren(h('span', { text: await deviceStateText() }));
  }, out);
  screen(T('enrol_title'), h('section.card', {}, h('p', { text: T('enrol_help') }), fm, out,
    h('p.muted', { id: 'device-state', text: await deviceStateText() }),
    h('p', {}, h('a', { href: '#/login', text: T('back_login') }))));
  fm.querySelector('input').focus();
}

function scrPasswd() {
  const out = note();
  const fm = form('stack', [
    ...field(T('current_pw'), { name: 'current', type: 'password', autocomplete: 'current-password', required: true }),
    ...field(T('new_pw'), { name: 'new', type: 'password', autocomplete: 'new-password', required: true }),
    ...field(T('new_pw2'), { name: 'new2', type: 'password', autocomplete: 'new-password', required: true }),
    h('div.full', {}, submit(T('change'))),
  ], async (v) => {
    if (v.new !== v.new2) throw fail('pw_differ');
    const r = await api('POST', '/api/v1/session/password', { current: v.current, new: v.new });
    session.needs = r.needs || [];
    await whoami();
    location.hash = session.needs.includes('mfa') ? '#/mfa' : '#/dash';
  }, out);
  screen(T('passwd_title'), h('section.card', {}, h('p', { text: T('passwd_help') }), fm, out));
  fm.querySelector('input').focus();
}

async function scrMfa() {
  const out = note();
  screen(T('mfa_title'), h('p', { text: T('loading') }));
  let e;
  try {
    e = await api('POST', '/api/v1/mfa/enroll');
  } catch (err) {
    main.append(msg('err', errText(err), 'alert'));
    return;
  }
  const canvas = h('canvas.qr', { id: 'mfa-qr', role: 'img', 'aria-label': T('qr') });
  qrDraw(canvas, e.uri);
  const fm = form('stack', [
    ...field(T('confirm_code'), { name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', required: true }),
    h('div.full', {}, submit(T('confirm'))),
  ], async (v) => {
    const r = await api('POST', '/api/v1/mfa/confirm', { code: v.code });
    const done = h('button', { type: 'button', text: T('done'), onclick: async () => {
      await whoami();
      location.hash = '#/dash';
    } });
    screen(T('recovery_title'), h('section.card', {}, h('p', { text: T('recovery_help') }),
      h('ul.codes', { id: 'recovery-codes' }, r.recovery_codes.map((c) => h('li', { text: c }))), done));
    done.focus();
  }, out);
  screen(T('mfa_title'), h('section.card', {}, h('p', { text: T('mfa_help') }), canvas,
    h('p', {}, live(() => `${t('secret')}: `), h('span.secretbox', { id: 'mfa-secret', text: e.secret })), fm, out));
  fm.querySelector('input').focus();
}

// ---- dashboard ---------------------------------------------------------------

async function scrDash() {
  screen(T('dash_title'), h('p', { text: T('loading') }));
  const safe = (p) => p.then((v) => ({ v }), (e) => ({ e }));
  const none = Promise.resolve({ v: null });
  // Only what the role may read: no refusal to show (or to log).
  const admin = session.role === 'admin';
  const overseer = admin || session.role === 'auditor';
  const [ds, bk, ver, ex, dv] = await Promise.all([
    safe(api('GET', '/api/v1/datasets')),
    overseer ? safe(api('GET', '/api/v1/backups')) : none,
    overseer ? safe(api('GET', '/api/v1/audit/verify')) : none,
    admin ? safe(api('GET', '/api/v1/exports')) : none,
    admin ? safe(api('GET', '/api/v1/devices')) : none]);
  const kids = [];
  kids.push(h('h3', { text: T('datasets') }), ds.e ? msg('err', errText(ds.e), 'alert')
    : table(ds.v, [['name', T('dataset')], ['records', T('records_n')], ['client', T('client')], ['purpose', T('purpose')]], T('datasets')));
  if (overseer) {
    const last = bk.v && bk.v.length ? bk.v[0] : null;
    kids.push(h('h3', { text: T('last_backup') }), h('p', { id: 'dash-backup', text: bk.e ? errText(bk.e) : last ? live(() => `${timeText(last.created)} (${last.records})`) : T('none') }));
    kids.push(h('h3', { text: T('chain') }), h('p', { id: 'dash-chain', text: ver.e ? (ver.e.code === 'tamper' ? T('chain_bad', ver.e.detail) : errText(ver.e)) : T('chain_ok', ver.v.entries) }));
  }
  if (admin) {
    const pe = (ex.v || []).filter((x) => x.state === 'pending');
    const pd = (dv.v || []).filter((x) => x.state === 'pending');
    kids.push(h('h3', { text: T('pending_exports') }), pe.length ? table(pe, [['id', '#'], ['dataset', T('dataset')], ['requester', T('requester')], ['reason', T('reason')]]) : h('p', { text: T('none') }));
    kids.push(h('h3', { text: T('pending_devices') }), pd.length ? table(pd, [['name', T('device_name')], ['requested_by', T('requester')], ['created', T('created'), (r) => fmtTime(r.created)]]) : h('p', { text: T('none') }));
  }
  screen(T('dash_title'), h('section.card', {}, kids));
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
  return table(names.map((n) => ({ n, v: rec[n] ?? '' })), [['n', T('field')], ['v', T('value')]], T('record_title'));
}

async function scrRecords(ds0, field0, value0) {
  const out = note();
  const found = h('div');
  const list = await datasets();
  if (!list.length) return screen(T('nav_records'), h('p', { text: T('none') }));
  const cur = list.find((d) => d.name === ds0) || list[0];
  // A viewer sees values masked: a search by anything but a name or its
  // reading would tell the hidden part, and the server refuses it.
  const viewer = session.role === 'viewer';
  // Each field named as in the add form: name (氏名).
  const searchable = (d) => d.fields.filter((f) => f.searchable &&
    (!viewer || f.type === 'name' || f.type === 'kana')).map((f) => [f.name, fieldName(f)]);
  const [, dss] = select(T('dataset'), 'ds', list.map((d) => d.name), cur.name);
  const [, fs] = select(T('field'), 'field', searchable(cur), field0);
  dss.addEventListener('change', () => {
    const d = list.find((x) => x.name === dss.value);
    fs.replaceChildren(...searchable(d).map(([n, l]) => h('option', { value: n, text: l })));
  });
  const fm = form('inline', [h('label', {}, T('dataset'), dss), h('label', {}, T('field'), fs),
    h('label', {}, T('value'), h('input', { name: 'value', required: true, value: value0 || '', id: 'search-value', autocomplete: 'off', spellcheck: 'false' })),
    submit(T('search'))], async (v) => {
    found.replaceChildren();
    const q = new URLSearchParams([[v.field, v.value]]);
    const rows = await api('GET', `/api/v1/datasets/${encodeURIComponent(v.ds)}/records?${q}`);
    const d = list.find((x) => x.name === v.ds);
    const cols = [['id', T('id'), (r) => h('a', { href: `#/record/${encodeURIComponent(v.ds)}/${r.id}`, text: r.id.slice(0, 8) })],
      ...d.fields.slice(0, 6).map((f) => [f.name, f.name]), ['masked', T('masked'), (r) => (r.masked ? '✓' : '')]];
    out.replaceChildren(h('p', { id: 'result-count', text: T('results', rows.length) }));
    found.replaceChildren(table(rows, cols, T('results', rows.length)));
  }, out);
  screen(T('nav_records'), h('section.card', {}, fm), out, found);
  fm.querySelector('#search-value').focus();
}

async function scrRecord(ds, id) {
  screen(T('record_title'), h('p', { text: T('loading') }));
  try {
    const [rec, list] = await Promise.all([api('GET', `/api/v1/datasets/${encodeURIComponent(ds)}/records/${encodeURIComponent(id)}`), datasets()]);
    const d = list.find((x) => x.name === ds);
    screen(live(() => `${t('record_title')} ${rec.id}`), h('section.card', { id: 'record-view' },
      h('p.muted', { text: live(() => `${ds} · ${t('version', rec.version)}${rec.masked ? ` · ${t('masked')}` : ''}`) }), recordTable(rec, d && d.fields)));
  } catch (e) {
    screen(T('record_title'), msg('err', errText(e), 'alert'));
  }
}

// A field of a dataset as the page names it: its name and its type's
// word, "name (氏名)".
const fieldName = (f) => live(() => t('field_label', f.name, tv('ft_', f.type)));
// A form with one input per field of dataset d (values left empty).
function fieldInputs(d) {
  return d.fields.flatMap((f) => field(fieldName(f), { name: `v.${f.name}`, autocomplete: 'off', spellcheck: 'false' }));
}
function fieldValues(v) {
  const o = {};
  for (const [k, x] of Object.entries(v)) if (k.startsWith('v.') && x !== '') o[k.slice(2)] = x;
  return o;
}

async function dsPicker(title, render) {
  const list = await datasets();
  const [l, s] = select(T('dataset'), 'ds', list.map((d) => d.name));
  const slot = h('div');
  const draw = () => slot.replaceChildren(render(list.find((d) => d.name === s.value)));
  s.addEventListener('change', draw);
  if (!list.length) return screen(title, h('section.card', {}, h('p', { text: T('none') })));
  screen(title, h('section.card', {}, h('p', {}, l, ' ', s), slot));
  draw();
  // The work is in the form: its first field, not the dataset (Shift+Tab).
  const first = slot.querySelector('form input, form select, form textarea');
  if (first && !stale()) first.focus();
}

async function scrAdd() {
  await dsPicker(T('add_title'), (d) => {
    const out = note();
    const fm = form('stack', [...fieldInputs(d), h('div.full', {}, submit(T('add')))], async (v, f) => {
      const r = await api('POST', `/api/v1/datasets/${encodeURIComponent(d.name)}/records`, fieldValues(v));
      f.reset();
      datasetsCache = null;
      out.replaceChildren(msg('ok', T('added', r.id)));
    }, out);
    return h('div', {}, fm, out);
  });
}

// ---- verified entry ----------------------------------------------------------

async function scrEntry() {
  const pend = h('div', { id: 'entry-pending' });
  const pendNote = note();
  await dsPicker(T('entry_title'), (d) => {
    const out = note();
    const fm = form('stack', [...fieldInputs(d), h('div.full', {}, submit(T('entry_start')))], async (v, f) => {
      await api('POST', `/api/v1/datasets/${encodeURIComponent(d.name)}/entries`, fieldValues(v));
      f.reset();
      out.replaceChildren(msg('ok', T('entry_started')));
      await loadPending();
    }, out);
    return h('div', {}, h('h3', { text: T('entry_first') }), fm, out);
  });
  if (stale()) return;
  main.append(h('section.card', {}, h('h3', { text: T('entry_pending') }), pendNote, pend));
  async function loadPending() {
    try {
      const rows = await api('GET', '/api/v1/entries');
      pendNote.replaceChildren();
      pend.replaceChildren(rows.length ? table(rows, [['id', T('id'), (r) => r.id.slice(0, 8)], ['dataset', T('dataset')],
        ['entered_by', T('entered_by')], ['created', T('created'), (r) => fmtTime(r.created)],
        ['', ACTIONS, (r) => (r.entered_by === session.user ? '' : h('button.secondary', { type: 'button', text: T('entry_second'), 'data-entry': r.id, onclick: () => second(r) }))]])
        : h('p', { text: T('none') }));
    } catch (e) {
      pend.replaceChildren();
      pendNote.replaceChildren(msg('err', errText(e)));
    }
  }
  // The second form starts empty: the first keying's values are never sent
  // to the browser.
  async function second(r) {
    const d = (await datasets()).find((x) => x.name === r.dataset);
    const out = note({ id: 'verify-result' });
    const fm = form('stack', [...fieldInputs(d), h('div.full', {}, submit(T('entry_verify')))], async (v) => {
      try {
        const x = await api('POST', `/api/v1/entries/${r.id}/verify`, fieldValues(v));
        // Done: the values leave the page (the form goes, the message stays).
        fm.reset();
        fm.remove();
        out.replaceChildren(msg('ok', T('entry_verified', x.record_id)));
        await loadPending();
      } catch (e) {
        if (e.code === 'mismatch') out.replaceChildren(msg('err', T('entry_mismatch', (e.body.error.fields || []).join(', '))));
        else throw e;
      }
    }, out);
    fm.id = 'verify-form';
    const box = h('section.card', { id: 'second-keying' }, h('h3', { text: live(() => `${t('entry_second')} (${r.dataset})`) }), fm, out);
    if (!pend.isConnected) return; // the screen is gone (a logout)
    const old = $('second-keying');
    if (old) old.replaceWith(box);
    else main.append(box);
    fm.querySelector('input').focus();
  }
  await loadPending();
}

// ---- import (POST /api/v1/datasets/{ds}/import, raw CSV body) ----------------

// The header row of a CSV file as the import reads it: its first record
// (quotes and all), decoded as enc says (auto: UTF-8 if it is, else CP932),
// each cell normalised (NFKC) and trimmed of spaces and tabs. null when
// it cannot be read from the file's first 64 KiB.
async function csvHeader(file, enc) {
  const buf = new Uint8Array(await file.slice(0, 65536).arrayBuffer());
  // Whole lines only: a newline byte is never inside a UTF-8 or CP932
  // character.
  const end = file.size > buf.length ? buf.lastIndexOf(10) + 1 : buf.length;
  if (end <= 0) return null;
  const bytes = buf.subarray(0, end);
  const dec = (label, fatal) => new TextDecoder(label, { fatal }).decode(bytes);
  let text;
  try {
    text = enc === 'cp932' ? dec('shift_jis', false) : dec('utf-8', true);
  } catch (e) {
    if (enc !== 'auto') return null;
    text = dec('shift_jis', false);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const cells = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c !== '"') cur += c;
      else if (text[i + 1] === '"') cur += text[++i];
      else quoted = false;
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      cells.push(cur);
      cur = '';
    } else if (c === '\n' || c === '\r') {
      break;
    } else {
      cur += c;
    }
  }
  if (quoted) return null;
  cells.push(cur);
  return cells.map((c) => c.normalize('NFKC').replace(/^[ \t]+|[ \t]+$/g, ''));
}

async function scrImport() {
  await dsPicker(T('import_title'), (d) => {
    // The result: its message in a live region, the details after it.
    const out = note();
    const details = h('div');
    const result = h('div', { id: 'import-result' }, out, details);
    const bar = h('progress', { max: 1, value: 0, hidden: true, id: 'import-progress', 'aria-label': T('import_progress') });
    const [fileLabel, file] = field(T('file'), { name: 'file', type: 'file', accept: '.csv,text/csv', required: true });
    const [encLabel, enc] = select(T('encoding'), 'encoding', [['auto', T('enc_auto')], ['utf-8', 'UTF-8'], ['cp932', 'Shift_JIS (CP932)']], 'auto');
    // Columns of the file that are not fields of the dataset: each gets a
    // choice of the field it holds, sent as map=COLUMN=FIELD.
    const mapNote = note();
    const mapFields = h('div');
    const mapBox = h('div.full', { id: 'import-map' }, mapNote, mapFields);
    let unknown = [];
    let notHeader = false;
    let reading = Promise.resolve();
    let readGen = 0;
    async function readHeader() {
      const gen = ++readGen;
      const f = file.files[0];
      const cells = f && f.size ? await csvHeader(f, enc.value).catch(() => null) : [];
      if (gen !== readGen) return;
      unknown = [];
      notHeader = false;
      mapNote.replaceChildren();
      mapFields.replaceChildren();
      if (!cells) {
        mapNote.replaceChildren(msg('info', T('map_unreadable')));
        return;
      }
      const names = d.fields.map((x) => x.name);
      const cols = [...new Set(cells.filter((c) => c && !names.includes(c)))];
      // A first line of values (a file without a header) is no header: its
      // cells are a person's data, never offered as column names to map
      // (nor sent). Column names hold no run of digits and no '@'.
      if (cols.some((c) => /[0-9０-９]{3}|[@＠]/.test(c))) {
        notHeader = true;
        mapNote.replaceChildren(msg('err', T('map_not_header')));
        return;
      }
      // Only the fields no column of the file holds yet.
      const free = d.fields.filter((x) => !cells.includes(x.name));
      unknown = cols.map((c) => {
        const [l, s] = select(T('map_column', c), null, [['', T('map_choose')], ...free.map((x) => [x.name, fieldName(x)])], '');
        s.dataset.column = c;
        return { c, l, s };
      });
      mapFields.replaceChildren(unknown.length ? h('fieldset.map', {}, h('legend', { text: T('map_title') }),
        h('p.muted', { text: T('map_help') }), h('div.grid-form', {}, unknown.flatMap((u) => [u.l, u.s]))) : '');
    }
    const reread = () => { reading = readHeader(); };
    file.addEventListener('change', reread);
    enc.addEventListener('change', reread);
    const fm = form('stack', [
      fileLabel, file, encLabel, enc,
      h('label.full', {}, h('input', { type: 'checkbox', name: 'skip', value: '1' }), live(() => ` ${t('skip_invalid')}`)),
      mapBox, h('div.full', {}, submit(T('upload'))), h('div.full', {}, bar),
    ], async (v) => {
      details.replaceChildren();
      // Checked here, not by the server: no empty upload, no audit entry.
      const f = file.files[0];
      if (!f) throw fail('import_no_file');
      if (!f.size) throw fail('import_empty');
      await reading;
      if (notHeader) throw fail('map_not_header');
      const miss = unknown.find((u) => !u.s.value);
      if (miss) {
        miss.s.focus();
        throw fail('map_missing', miss.c);
      }
      const q = new URLSearchParams({ encoding: v.encoding, skip_invalid: v.skip ? '1' : '0' });
      for (const u of unknown) q.append('map', `${u.c}=${u.s.value}`);
      bar.hidden = false;
      bar.value = 0;
      let r;
      let refused = false;
      try {
        r = await upload(`/api/v1/datasets/${encodeURIComponent(d.name)}/import?${q}`, f, 'text/csv', (p) => { bar.value = p; });
      } catch (e) {
        const det = e.body && e.body.error && e.body.error.detail;
        if (det && typeof det === 'object') r = det;
        else throw e;
        refused = true;
      }
      bar.value = 1;
      datasetsCache = null;
      // Every problem the answer lists, one a line (a rejected row has one
      // per invalid value), after how many more it found than it lists.
      const probs = r.problems || [];
      const more = r.problems_omitted || 0;
      out.replaceChildren(msg(refused || r.rejected ? 'err' : 'ok', T('import_result', r.rows, r.imported, r.rejected, r.duplicates)),
        more ? msg('info', T('import_more', more, probs.length)) : '');
      details.replaceChildren(h('p.muted', { text: `SHA-256 ${r.sha256 || ''}` }),
        probs.length ? table(probs, [['line', T('line')], ['column', T('column')], ['rule', T('rule')]], T('import_problems')) : '');
    }, out);
    return h('div', {}, fm, result);
  });
}

// ---- exports -----------------------------------------------------------------

// A certificate file as PEM text: PEM as it is, DER (a .cer from Windows)
// wrapped. The server parses and checks it.
async function certPem(file) {
  if (file.size > 64 * 1024) throw fail('recipient_cert_big');
  const bytes = new Uint8Array(await file.arrayBuffer());
  const text = new TextDecoder('latin1').decode(bytes);
  if (text.includes('-----BEGIN CERTIFICATE-----')) return text;
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  const b64 = btoa(bin).replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

async function scrExports() {
  const out = note();
  const ledger = h('div', { id: 'ledger' });
  const ledgerNote = note();
  const shown = note({ id: 'export-run' });
  const list = await datasets().catch(() => []);
  const kids = [];
  if (session.role === 'operator') {
    const [fl, fmt] = select(T('format'), 'format', [['zip', 'ZIP (AES-256)'], ['cms', T('cms_format')]]);
    // CMS goes to the recipient's certificate: no password to send.
    const [cl, cert] = field(T('recipient_cert'), { name: 'cert', type: 'file', accept: '.pem,.crt,.cer,.der' });
    const certRow = h('div.full', { hidden: true }, cl, cert, h('p.muted', { text: T('recipient_cert_hint') }));
    fmt.addEventListener('change', () => { certRow.hidden = fmt.value !== 'cms'; });
    const fm = form('stack', [
      ...select(T('dataset'), 'dataset', list.map((d) => d.name)),
      ...field(T('reason'), { name: 'reason', required: true, maxlength: 255 }),
      fl, fmt, certRow,
      ...select(T('encoding'), 'encoding', [['utf-8', 'UTF-8'], ['cp932', 'Shift_JIS (CP932)']]),
      h('div.full', {}, submit(T('request'))),
    ], async (v) => {
      delete v.cert;
      if (v.format === 'cms') {
        if (!cert.files.length) throw fail('recipient_cert_needed');
        v.recipient_cert = await certPem(cert.files[0]);
      }
      const r = await api('POST', '/api/v1/exports', v);
      out.replaceChildren(msg('ok', T('requested', r.id)));
      await load();
    }, out);
    kids.push(h('section.card', {}, h('h3', { text: T('export_request') }), fm, out));
  }
  kids.push(shown, h('section.card', {}, h('h3', { text: T('ledger') }), ledgerNote, ledger));
  screen(T('export_title'), ...kids);
  // ask: a question to confirm first (an action that cannot be undone).
  const act = (label, f, id, ask) => h('button.secondary', { type: 'button', text: label, 'data-export': id, onclick: (ev) => {
    if (ask && !window.confirm(String(ask))) return;
    return busy(ev.currentTarget, async () => {
      try {
        await f();
      } catch (e) {
        out.replaceChildren(msg('err', errText(e)));
        if (!out.isConnected) shown.replaceChildren(msg('err', errText(e)));
      }
      await load();
    });
  } });
  async function run(x) {
    const r = await api('POST', `/api/v1/exports/${x.id}/run`);
    // Shown once: kept only in this element, never stored.
    shown.replaceChildren(h('section.card', {}, msg('ok', T('export_done', r.count)),
      r.password ? h('p', {}, live(() => `${t('export_pw')}: `), h('span.secretbox', { id: 'export-password', text: r.password })) : '',
      h('p.muted', { text: `SHA-256 ${r.sha256}` })));
    const a = h('a', { href: r.download, download: '', hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
  }
  async function load() {
    try {
      const rows = await api('GET', '/api/v1/exports');
      ledgerNote.replaceChildren();
      ledger.replaceChildren(rows.length ? table(rows, [['id', '#'], ['dataset', T('dataset')], ['requester', T('requester')],
        ['reason', T('reason')], ['state', T('state'), (x) => live(() => tv('st_', x.state))],
        // An approval lasts export.approval_hours: the run is due by then
        // (the server says "lapsed" afterwards).
        ['expires', T('run_by'), (x) => fmtTime(x.expires)], ['count', T('records_n')],
        ['', ACTIONS, (x) => h('span.actions', {},
          session.role === 'admin' && x.state === 'pending' && x.requester !== session.user ? [act(T('approve'), () => api('POST', `/api/v1/exports/${x.id}/approve`), `approve-${x.id}`),
            act(T('reject'), () => api('POST', `/api/v1/exports/${x.id}/reject`), `reject-${x.id}`, T('confirm_reject', x.id, x.dataset))] : '',
          x.state === 'approved' && x.requester === session.user ? act(T('run'), () => run(x), `run-${x.id}`) : '')]], T('ledger'))
        : h('p', { text: T('none') }));
    } catch (e) {
      ledger.replaceChildren();
      ledgerNote.replaceChildren(msg('err', errText(e)));
    }
  }
  await load();
}

// ---- audit log ---------------------------------------------------------------

// The actions of the log (lib/guard.c ops), each with a name (i18n.js act_).
const ACTION_CODES = [
  'login', 'logout', 'passwd', 'mfa.enroll', 'mfa.confirm', 'mfa.reset',
  'record.search', 'record.get', 'record.add', 'record.update', 'record.delete', 'import',
  'entry.start', 'entry.verify', 'entry.amend', 'entry.list', 'entry.expire',
  'export.request', 'export.approve', 'export.reject', 'export.run', 'export.handover',
  'export.list', 'export.mark', 'export.alert',
  'user.add', 'user.list', 'user.unlock', 'user.lock', 'user.reset', 'user.disable', 'user.enable',
  'device.enroll', 'device.approve', 'device.revoke', 'device.list',
  'dataset.create', 'dataset.list', 'dataset.grant', 'dataset.revoke', 'dataset.grants',
  'session.list', 'session.revoke', 'session.reason', 'config.list', 'config.set',
  'breakglass.request', 'breakglass.approve', 'breakglass.close', 'breakglass.list',
  'audit.show', 'audit.verify', 'audit.checkpoint', 'access.review',
  'backup.create', 'backup.keys', 'backup.verify', 'backup.list', 'backup.restore', 'init',
];
// An action as the log's table shows it: its name, and its code under
// it (and on hover) to match the exported log; an action without a
// name, its code.
function actionName(a) {
  const code = String(a ?? '');
  if (tv('act_', code) === code) return h('span.act-code', { text: code });
  return h('span', { title: code }, live(() => tv('act_', code)), h('span.act-code', { text: code }));
}

async function scrAudit() {
  // The list: its messages in a live region, the table after it.
  const out = note();
  const rowsBox = h('div');
  const list = h('div', { id: 'audit-list' }, out, rowsBox);
  const vout = note({ id: 'audit-verify' });
  const fm = form('inline', [
    h('label', {}, T('user'), h('input', { name: 'user', size: 12, autocomplete: 'off', spellcheck: 'false' })),
    // The code of an action (as the exported log has it), offered with
    // its name.
    h('label', {}, T('action'), h('input', { name: 'action', size: 14, autocomplete: 'off', spellcheck: 'false', list: 'audit-actions' })),
    h('datalist', { id: 'audit-actions' }, ACTION_CODES.map((a) => h('option', { value: a, label: live(() => tv('act_', a)) }))),
    h('label', {}, T('from'), h('input', { name: 'from', type: 'date' })),
    h('label', {}, T('to'), h('input', { name: 'to', type: 'date' })),
    h('label', {}, T('last_n'), h('input', { name: 'last', type: 'number', min: 1, max: 10000, value: 200 })),
    submit(T('filter')),
  ], async (v) => {
    rowsBox.replaceChildren();
    // (ISO days compare as strings)
    if (v.from && v.to && v.from > v.to) throw fail('range_reversed');
    const q = new URLSearchParams();
    for (const k of ['user', 'action', 'last']) if (v[k]) q.set(k, v[k]);
    // The days are local: sent as UTC times.
    const iso = (d) => new Date(d).toISOString().replace(/\.\d+Z$/, 'Z');
    if (v.from) q.set('from', iso(`${v.from}T00:00:00`));
    if (v.to) q.set('to', iso(`${v.to}T23:59:59`));
    const rows = await api('GET', `/api/v1/audit?${q}`);
    // A device by the start of its id (all of it on hover), as records
    // and entries are named on the other screens.
    const dev = (r) => (r.device ? h('span', { title: r.device, text: r.device.slice(0, 8) }) : '');
    rowsBox.replaceChildren(table(rows.reverse(), [['seq', '#'], ['time', T('time'), (r) => fmtTime(r.time)], ['user', T('user')],
      ['device', T('device'), dev, 'word'], ['action', T('action'), (r) => actionName(r.action)], ['dataset', T('dataset')], ['outcome', T('outcome'), (r) => live(() => tv('out_', r.outcome))], ['count', T('records_n')], ['detail', T('detail')]], T('audit_title')));
  }, out);
  const vb = h('button.secondary', { type: 'button', id: 'audit-verify-btn', text: T('verify'), onclick: (ev) => busy(ev.currentTarget, async () => {
    vout.replaceChildren();
    try {
      const r = await api('GET', '/api/v1/audit/verify');
      vout.replaceChildren(msg('ok', T('chain_ok', r.entries)));
    } catch (e) {
      vout.replaceChildren(msg('err', e.code === 'tamper' ? T('chain_bad', e.detail) : errText(e)));
    }
  }) });
  screen(T('audit_title'), h('section.card', {}, fm, h('p', {}, vb), vout), list);
  fm.requestSubmit();
}

// ---- admin -------------------------------------------------------------------

async function scrAdmin() {
  const out = note();
  const users = h('div', { id: 'admin-users' });
  const devs = h('div', { id: 'admin-devices' });
  const usersNote = note();
  const devsNote = note();
  // ask: a question to confirm first (an action that cannot be undone).
  const btn = (label, f, id, ask) => h('button.secondary', { type: 'button', text: label, 'data-id': id, onclick: (ev) => {
    if (ask && !window.confirm(String(ask))) return;
    return busy(ev.currentTarget, async () => {
      try {
        await f();
        out.replaceChildren(msg('ok', T('saved')));
      } catch (e) {
        out.replaceChildren(msg('err', errText(e)));
      }
      await load();
    });
  } });
  const addForm = form('inline', [
    h('label', {}, T('user'), h('input', { name: 'name', required: true, size: 14 })),
    h('label', {}, T('role'), h('select', { name: 'role' }, ['operator', 'viewer', 'auditor', 'admin'].map((r) => h('option', { value: r, text: roleName(r) })))),
    h('label', {}, T('initial_pw'), h('input', { name: 'password', type: 'password', required: true, autocomplete: 'new-password' })),
    submit(T('add')),
  ], async (v, f) => {
    await api('POST', '/api/v1/users', v);
    f.reset();
    out.replaceChildren(msg('ok', T('saved')));
    await load();
  }, out);
  const resetBox = h('div', { id: 'admin-reset' });
  // A new initial password for name: the user must change it at the next
  // login.
  function resetForm(name) {
    const fm = form('inline', [
      h('label', {}, live(() => `${t('reset')}: ${name} — ${t('initial_pw')}`), h('input', { name: 'password', type: 'password', required: true, autocomplete: 'new-password' })),
      submit(T('reset')),
    ], async (v) => {
      await api('POST', `/api/v1/users/${encodeURIComponent(name)}/reset`, { password: v.password });
      resetBox.replaceChildren();
      out.replaceChildren(msg('ok', T('saved')));
      await load();
    }, out);
    resetBox.replaceChildren(fm);
    fm.querySelector('input').focus();
  }
  screen(T('admin_title'), out, h('section.card', {}, h('h3', { text: T('users') }), usersNote, users, resetBox, h('h3', { text: T('add_user') }), addForm),
    h('section.card', {}, h('h3', { text: T('devices') }), devsNote, devs));
  async function load() {
    const [u, d] = await Promise.all([api('GET', '/api/v1/users'), api('GET', '/api/v1/devices')].map((p) => p.catch((e) => e)));
    usersNote.replaceChildren(u instanceof Error ? msg('err', errText(u)) : '');
    devsNote.replaceChildren(d instanceof Error ? msg('err', errText(d)) : '');
    users.replaceChildren(u instanceof Error ? '' : table(u, [['name', T('user')], ['role', T('role'), (x) => roleName(x.role)],
      ['mfa', T('mfa'), (x) => live(() => tv('mfa_', x.mfa))],
      ['last_login', T('last_login'), (x) => fmtTime(x.last_login)], ['locked_until', T('locked_until'), (x) => fmtTime(x.locked_until)],
      ['disabled', T('state'), (x) => (x.disabled ? T('flag_disabled') : '')],
      // Unlock only for a locked account (the server answers 409 otherwise);
      // disable for off-boarding, enable to undo it.
      ['', ACTIONS, (x) => h('span.actions', {}, x.locked_until ? btn(T('unlock'), () => api('POST', `/api/v1/users/${encodeURIComponent(x.name)}/unlock`), `unlock-${x.name}`) : '',
        x.disabled ? btn(T('enable'), () => api('POST', `/api/v1/users/${encodeURIComponent(x.name)}/enable`), `enable-${x.name}`)
          : btn(T('disable'), () => api('POST', `/api/v1/users/${encodeURIComponent(x.name)}/disable`), `disable-${x.name}`),
        h('button.secondary', { type: 'button', text: T('reset'), 'data-id': `reset-${x.name}`, onclick: () => resetForm(x.name) }))]], T('users')));
    devs.replaceChildren(d instanceof Error ? '' : table(d, [['name', T('device_name')], ['state', T('state'), (x) => live(() => tv('st_', x.state))],
      ['requested_by', T('requester')], ['approved_by', T('approver')], ['last_used', T('last_used'), (x) => fmtTime(x.last_used)],
      ['', ACTIONS, (x) => h('span.actions', {}, x.state === 'pending' ? btn(T('approve'), () => api('POST', `/api/v1/devices/${x.id}/approve`), `approve-${x.id}`) : '',
        x.state !== 'revoked' ? btn(T('revoke'), () => api('POST', `/api/v1/devices/${x.id}/revoke`), `revoke-${x.id}`, T('confirm_revoke', x.name)) : '')]], T('devices')));
  }
  await load();
}

// ---- access review (admins and auditors) -------------------------------------

async function scrReview() {
  const rev = h('div', { id: 'review-list' });
  screen(T('review'), h('section.card', {}, rev));
  try {
    const r = await api('GET', '/api/v1/access-review');
    const rr = Array.isArray(r) ? r : r.users || [];
    rev.replaceChildren(table(rr, [['user', T('user')], ['role', T('role'), (x) => roleName(x.role)],
      ['mfa', T('mfa'), (x) => live(() => tv('mfa_', x.mfa))], ['devices', T('devices')],
      ['last_login', T('last_login'), (x) => fmtTime(x.last_login)],
      ['flags', T('flags'), (x) => live(() => (x.flags || []).map((f) => tv('flag_', f)).join(', '))]], T('review')));
  } catch (e) {
    rev.replaceChildren(msg('err', errText(e), 'alert'));
  }
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
    add: scrAdd, entry: scrEntry, import: scrImport, exports: scrExports, audit: scrAudit,
    review: scrReview, admin: scrAdmin,
  };
  try {
    if (!screens[name]) await scrDash();
    else if (session.user && !allowed(name)) refused(name);
    else await screens[name]();
  } catch (e) {
    if (!(e instanceof ApiError && e.code === 'session')) flash('err', errText(e));
  }
  focusScreen();
}

// A screen the role may not use (a typed or old address): said by name,
// nothing of it drawn.
function refused(name) {
  const n = NAV.find((x) => x[0] === name);
  const what = n ? T(n[1]) : T('record_title');
  screen(T('denied_title'), msg('err', T('route_denied', what, roleName(session.role)), 'alert'),
    h('p', {}, h('a', { href: '#/dash', text: T('nav_dash') })));
}

// Focus for the keyboard: where the screen put it, else its first field
// when a field comes first (a form screen), else the screen itself.
function focusScreen() {
  const a = document.activeElement;
  if (a && a !== main && main.contains(a)) return;
  if ($('idle-dialog').open) return;
  const first = [...main.querySelectorAll('a[href], button, input, select, textarea')]
    .find((e) => !e.disabled && e.type !== 'hidden' && e.getClientRects().length);
  if (first && ['INPUT', 'SELECT', 'TEXTAREA'].includes(first.tagName)) first.focus();
  else main.focus();
}

window.addEventListener('hashchange', route);
route();
