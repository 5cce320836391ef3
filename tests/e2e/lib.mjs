// lib.mjs - what the browser tests share: the browser, TOTP codes from
// oathtool (each step used once per user, as the server demands), admin
// API calls signed with the CLI's device key, console watching and
// screenshots of failures.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const BASE = process.env.BASE;
// The tests' own API calls go to the address: node resolves "localhost"
// through /etc/hosts, which a minimal machine may lack (the browser and
// curl know it is loopback). The certificate names both.
export const API = BASE.replace('://localhost:', '://127.0.0.1:');
export const T = process.env.T;
export const env = JSON.parse(readFileSync(`${T}/env.json`, 'utf8'));
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- TOTP --------------------------------------------------------------------
const stepsFile = `${T}/steps.json`;
const steps = existsSync(stepsFile) ? JSON.parse(readFileSync(stepsFile, 'utf8')) : {};

// A code for user of a step not used before, within the server's window
// (one step either side): waits when every step in it is used.
export async function code(user) {
  const secret = readFileSync(`${T}/totp-${user}`, 'utf8').trim();
  for (;;) {
    const sec = Date.now() / 1000;
    const now = Math.floor(sec / 30);
    // The step before this one only while it stays in the window until
    // the server checks it (a few seconds: Argon2id).
    const step = Math.max((steps[user] ?? 0) + 1, sec - now * 30 < 24 ? now - 1 : now);
    if (step <= now + 1) {
      steps[user] = step;
      writeFileSync(stepsFile, JSON.stringify(steps));
      return execFileSync('oathtool', ['--totp', '-b', secret, '--now', `@${step * 30 + 1}`], { encoding: 'utf8' }).trim();
    }
    if (process.env.E2E_DEBUG) console.error(`totp wait ${user}`);
    await sleep(1000);
  }
}

// ---- the API as the admin, from the CLI's approved device --------------------
function cliSign(msg) {
  const line = readFileSync(env.devkey, 'utf8').split('\n').find((l) => l.startsWith('sk '));
  const seed = Buffer.from(line.slice(3, 67), 'hex');
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const key = crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  return crypto.sign(null, Buffer.from(msg), key).toString('hex');
}
function cliPk() {
  return readFileSync(env.devkey, 'utf8').split('\n').find((l) => l.startsWith('pk ')).slice(3).trim();
}

export async function call(method, p, token, body) {
  const headers = { 'Accept-Language': 'en' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(API + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch (e) {
    json = null;
  }
  return { status: r.status, json, text };
}

// A login of user from the CLI's approved device (with otp when given).
export async function deviceLogin(user, password, otp) {
  const ch = (await call('GET', '/api/v1/session/challenge')).json.challenge;
  const sig = cliSign(`mamori-device-login v1|${env.vault_id}|${user}|${ch}`);
  return call('POST', '/api/v1/session', null, {
    user, password, ...(otp ? { otp } : {}),
    device: { public_key: cliPk(), challenge: ch, signature: sig },
  });
}

let adminToken = existsSync(`${T}/admin.token`) ? readFileSync(`${T}/admin.token`, 'utf8') : null;
export async function adminApi() {
  if (adminToken) {
    const r = await call('GET', '/api/v1/session', adminToken);
    if (r.status === 200) return adminToken;
  }
  const r = await deviceLogin('admin', env.admin_pw, await code('admin'));
  if (r.status !== 200) throw new Error(`admin login: ${r.status} ${r.text}`);
  adminToken = r.json.token;
  writeFileSync(`${T}/admin.token`, adminToken);
  return adminToken;
}

// Approves the pending device named name.
export async function approveDevice(name) {
  const tok = await adminApi();
  const list = (await call('GET', '/api/v1/devices', tok)).json;
  const d = list.find((x) => x.name === name && x.state === 'pending');
  if (!d) throw new Error(`no pending device ${name}: ${JSON.stringify(list)}`);
  const r = await call('POST', `/api/v1/devices/${d.id}/approve`, tok);
  if (r.status !== 200) throw new Error(`approve: ${r.status} ${r.text}`);
}

// ---- the browser -------------------------------------------------------------
export async function browser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--lang=ja'],
  });
}

// Console errors, CSP violations and uncaught exceptions of every page of
// the context. Failed API calls that a test makes on purpose (4xx) are
// logged by chromium as "Failed to load resource": not counted.
export const problems = [];
export async function context(b, label) {
  const ctx = await b.newContext({
    ignoreHTTPSErrors: true, acceptDownloads: true, viewport: { width: 1280, height: 800 },
    locale: 'ja-JP',
  });
  ctx.on('page', (p) => watch(p, label));
  ctx.setDefaultTimeout(10000);
  const page = await ctx.newPage();
  watch(page, label);
  return { ctx, page };
}
function watch(page, label) {
  if (page._watched) return;
  page._watched = true;
  page.on('console', (m) => {
    const text = m.text();
    if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(text))
      problems.push(`${label}: console error: ${text}`);
    if (/Content Security Policy|Refused to/i.test(text)) problems.push(`${label}: CSP: ${text}`);
  });
  page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message}`));
}

// Runs f; on failure saves a screenshot of each page under out/ first.
export async function shot(name, pages, f) {
  try {
    await f();
  } catch (e) {
    for (const [i, p] of pages().entries()) {
      try {
        await p.screenshot({ path: path.join(here, 'out', `${name}-${i}.png`), fullPage: true });
      } catch (e2) {
        /* the page is gone */
      }
    }
    throw e;
  }
}

// ---- UI steps ----------------------------------------------------------------
export async function enrolBrowser(page, user, password, name) {
  await page.goto(`${BASE}/#/enrol`);
  await page.getByRole('heading', { name: 'ブラウザの端末登録' }).waitFor();
  await page.getByLabel('ユーザー名').fill(user);
  await page.getByLabel('パスワード').fill(password);
  await page.getByLabel('ワンタイムコード (TOTP)').fill(await code(user));
  await page.getByLabel('端末名').fill(name);
  await page.getByRole('button', { name: '登録を申請' }).click();
  await page.getByText('申請しました。管理者の承認を待っています。').waitFor();
}

export async function login(page, user, password, otp = true) {
  await page.goto(`${BASE}/#/login`);
  await page.getByRole('heading', { name: 'ログイン' }).waitFor();
  await page.getByLabel('ユーザー名').fill(user);
  await page.getByLabel('パスワード').fill(password);
  if (otp) await page.getByLabel('ワンタイムコード (TOTP)').fill(await code(user));
  await page.getByLabel('パスワード').press('Enter');
}

export async function logout(page) {
  await page.getByRole('button', { name: 'ログアウト' }).click();
  await page.getByRole('heading', { name: 'ログイン' }).waitFor();
}

// The page's layout: how far it scrolls sideways (0: not at all) and the
// rows of the header (the title, each menu entry, the user's box).
export async function layout(page) {
  return page.evaluate(() => {
    const items = [document.querySelector('.top h1'), ...document.querySelectorAll('#nav a'), document.querySelector('.top .who')];
    const mids = items.filter((e) => e && e.getClientRects().length).map((e) => {
      const r = e.getBoundingClientRect();
      return r.top + r.height / 2;
    });
    return {
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      rows: Math.max(...mids) - Math.min(...mids) < 12 ? 1 : 2,
      header: document.querySelector('.top').getBoundingClientRect().height,
    };
  });
}

// The menu's entries.
export const menu = (page) => page.locator('#nav a').allInnerTexts();

// What has the keyboard focus: its name, id or tag.
export const focused = (page) => page.evaluate(() => {
  const a = document.activeElement;
  return a ? a.getAttribute('name') || a.id || a.tagName : null;
});

// The requests to the API whose path matches re while f runs.
export async function requests(p, re, f) {
  const seen = [];
  const on = (r) => {
    if (re.test(new URL(r.url()).pathname)) seen.push(r.url());
  };
  p.on('request', on);
  try {
    await f();
  } finally {
    p.off('request', on);
  }
  return seen;
}
