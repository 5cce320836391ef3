// ui.test.mjs - the web UI in headless chromium: a browser enrolled as a
// device logs in only after approval; search and view; a viewer sees
// masked data; two operators complete a verified entry; an export is
// approved and run, its password shown once; a CP932 CSV imported (and a
// bad one refused by line and column); first login with MFA
// enrolment (the QR code read back with zbarimg), after which the tab shows
// nothing of its previous user (dataset names); every screen without a
// CSP violation or a JS error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import {
  API, BASE, T, env, code, call, adminApi, deviceLogin, approveDevice, browser, context, problems, shot,
  enrolBrowser, login, logout,
} from './lib.mjs';

let b, A, B;
const pages = () => [A, B].filter(Boolean).map((x) => x.page);

before(async () => {
  const t0 = Date.now();
  b = await browser();
  if (process.env.E2E_DEBUG) console.error(`launch ${Date.now() - t0} ms`);
  A = await context(b, 'A');
  B = await context(b, 'B');
});
after(async () => {
  const t0 = Date.now();
  await b?.close();
  if (process.env.E2E_DEBUG) console.error(`close ${Date.now() - t0} ms`);
});

test('a) a browser enrols as a device, cannot log in before approval, then logs in with TOTP', () =>
  shot('a-device', pages, async () => {
    const p = A.page;
    await p.goto(`${BASE}/`);
    await p.getByRole('heading', { name: 'ログイン' }).waitFor();
    assert.equal(await p.locator('html').getAttribute('lang'), 'ja');
    // not registered: refused, and the page says why (vw1: each user has
    // three one-time codes at a time; op1 needs three below)
    await login(p, 'vw1', env.vw_pw);
    await p.getByText('このブラウザは端末として登録されていません').waitFor();
    await enrolBrowser(p, 'op1', env.op_pw, 'e2e browser A');
    // the key is in IndexedDB, not extractable
    const k = await p.evaluate(() => new Promise((res, rej) => {
      const r = indexedDB.open('mamori', 1);
      r.onsuccess = () => {
        const g = r.result.transaction('device').objectStore('device').get('this');
        g.onsuccess = () => res({ ext: g.result.keys.privateKey.extractable, alg: g.result.keys.privateKey.algorithm.name, state: g.result.state });
        g.onerror = () => rej(g.error);
      };
    }));
    assert.deepEqual(k, { ext: false, alg: 'Ed25519', state: 'pending' });
    await login(p, 'op1', env.op_pw);
    await p.getByText('このブラウザは管理者の承認待ちです').waitFor();
    assert.equal(await p.getByRole('navigation').isVisible(), false);
    await approveDevice('e2e browser A');
    await login(p, 'op1', env.op_pw);
    await p.getByRole('heading', { name: 'ダッシュボード' }).waitFor();
    await p.getByText('op1 (担当者)').waitFor();
    // the session is a cookie the page cannot read
    assert.equal(await p.evaluate(() => document.cookie), '');
  }));

test('b) search and view a record', () =>
  shot('b-search', pages, async () => {
    const p = A.page;
    await p.getByRole('link', { name: '記録の検索' }).click();
    await p.getByLabel('項目').selectOption('name');
    await p.getByLabel('値').fill('山田 太郎');
    await p.getByLabel('値').press('Enter');
    await p.getByText('検索結果 1 件').waitFor();
    await p.locator('#main table a').first().click();
    await p.locator('#record-view').waitFor();
    const text = await p.locator('#record-view').innerText();
    assert.match(text, /山田/);
    assert.match(text, /123456789018/); // op1 handles My Numbers of "people"
    assert.doesNotMatch(text, /マスク表示/);
    // a record added in the browser is found
    await p.getByRole('link', { name: '記録の追加' }).click();
    await p.getByLabel('name (氏名)').fill('伊藤 三郎');
    await p.getByLabel('kana (カナ)').fill('イトウ サブロウ');
    await p.getByLabel('phone (電話番号)').fill('03-1234-5678');
    await p.getByLabel('phone (電話番号)').press('Enter');
    await p.getByText(/追加しました: [0-9a-f-]{36}/).waitFor();
    assert.equal(await p.getByLabel('name (氏名)').inputValue(), '');
    await p.getByLabel('birth (日付)').fill('not a date');
    await p.getByLabel('name (氏名)').fill('伊藤 四郎');
    await p.getByRole('button', { name: '追加', exact: true }).click();
    await p.locator('.msg.err').waitFor();
    assert.match(await p.locator('.msg.err').innerText(), /birth/);
    await p.goto(`${BASE}/#/records`);
    await p.getByLabel('値').fill('伊藤 三郎');
    await p.getByLabel('値').press('Enter');
    await p.getByText('検索結果 1 件').waitFor();
    // no result
    await p.goto(`${BASE}/#/records`);
    await p.getByLabel('値').fill('存在 しない');
    await p.getByLabel('値').press('Enter');
    await p.getByText('検索結果 0 件').waitFor();
  }));

test('h) a CSV from Excel (CP932) is imported with a progress bar; a bad row is reported by line and column', () =>
  shot('h-import', pages, async () => {
    const p = A.page;
    const cp932 = (text) => execFileSync('iconv', ['-f', 'UTF-8', '-t', 'CP932'], { input: text });
    await p.goto(`${BASE}/#/import`);
    await p.getByRole('heading', { name: 'CSV の取り込み' }).waitFor();
    await p.getByLabel('データセット').selectOption('people');
    await p.getByLabel('ファイル').setInputFiles({
      name: 'excel.csv', mimeType: 'text/csv',
      buffer: cp932('name,kana,phone\r\n髙木 五郎,タカギ ゴロウ,03-1111-2222\r\n﨑山 花子,ｻｷﾔﾏ ﾊﾅｺ,090-1111-2222\r\n'),
    });
    await p.getByRole('button', { name: '取り込み', exact: true }).click();
    await p.getByText('2 行中 2 件を取り込み (0 件不正, 0 件重複)').waitFor();
    assert.equal(await p.locator('#import-progress').evaluate((e) => e.value), 1);
    // all or nothing: a bad phone on line 3 imports nothing and names the place
    await p.getByLabel('ファイル').setInputFiles({
      name: 'bad.csv', mimeType: 'text/csv',
      buffer: cp932('name,kana,phone\r\n髙木 六郎,タカギ ロクロウ,03-1111-3333\r\n髙木 七郎,タカギ シチロウ,12\r\n'),
    });
    await p.getByRole('button', { name: '取り込み', exact: true }).click();
    await p.getByText('2 行中 0 件を取り込み (1 件不正, 0 件重複)').waitFor();
    const rows = await p.locator('#import-result table tr').allInnerTexts();
    assert.ok(rows.some((r) => /^3\s+phone\s/.test(r)), rows.join(' | '));
    assert.ok(!rows.join(' ').includes('12'), 'the bad value is not shown');
    // the first file's rows are found, the refused file's are not
    await p.goto(`${BASE}/#/records`);
    await p.getByLabel('値').fill('髙木 五郎');
    await p.getByLabel('値').press('Enter');
    await p.getByText('検索結果 1 件').waitFor();
    await p.goto(`${BASE}/#/records`);
    await p.getByLabel('値').fill('髙木 六郎');
    await p.getByLabel('値').press('Enter');
    await p.getByText('検索結果 0 件').waitFor();
  }));

test('d) two operators complete a verified entry', () =>
  shot('d-entry', pages, async () => {
    const a = A.page, q = B.page;
    await enrolBrowser(q, 'op2', env.op2_pw, 'e2e browser B');
    await approveDevice('e2e browser B');
    await login(q, 'op2', env.op2_pw);
    await q.getByRole('heading', { name: 'ダッシュボード' }).waitFor();
    // first keying by op1
    await a.getByRole('link', { name: 'ベリファイ入力' }).click();
    await a.getByLabel('name (氏名)').fill('高橋 次郎');
    await a.getByLabel('kana (カナ)').fill('タカハシ ジロウ');
    await a.getByLabel('phone (電話番号)').fill('090-7777-8888');
    await a.getByRole('button', { name: '1回目を登録' }).click();
    await a.getByText('1回目を登録しました').waitFor();
    // op1 cannot key it a second time
    assert.equal(await a.locator('[data-entry]').count(), 0);
    // second keying by op2: the form starts empty, the first values are
    // nowhere in the page
    await q.getByRole('link', { name: 'ベリファイ入力' }).click();
    await q.locator('[data-entry]').first().click();
    const form = q.locator('#verify-form');
    await form.waitFor();
    for (const v of await form.locator('input').evaluateAll((es) => es.map((e) => e.value))) assert.equal(v, '');
    assert.doesNotMatch(await q.content(), /高橋|タカハシ|7777/);
    await form.getByLabel('name (氏名)').fill('高橋 次郎');
    await form.getByLabel('kana (カナ)').fill('タカハシ ジロウ');
    await form.getByLabel('phone (電話番号)').fill('090-7777-9999');
    await form.getByRole('button', { name: '照合' }).click();
    await q.getByText('1回目と一致しない項目: phone').waitFor();
    assert.doesNotMatch(await q.locator('#verify-result').innerText(), /7777/);
    await form.getByLabel('phone (電話番号)').fill('090-7777-8888');
    await form.getByRole('button', { name: '照合' }).click();
    await q.getByText(/一致しました。記録 .* を作成しました/).waitFor();
    // done: the form and its values are gone, the message stays
    assert.equal(await q.locator('#verify-form').count(), 0);
    assert.equal(await q.locator('#second-keying input').count(), 0);
    assert.doesNotMatch(await q.content(), /高橋|タカハシ|7777/);
    // the record exists
    await a.goto(`${BASE}/#/records`);
    await a.getByLabel('値').fill('高橋 次郎');
    await a.getByLabel('値').press('Enter');
    await a.getByText('検索結果 1 件').waitFor();
  }));

test('e) an export is requested, approved by the admin, run: its password shown once', () =>
  shot('e-export', pages, async () => {
    const a = A.page, q = B.page;
    await a.getByRole('link', { name: '持ち出し' }).click();
    await a.getByLabel('目的').fill('給与計算の委託先へ');
    await a.getByRole('button', { name: '申請' }).click();
    await a.getByText(/申請しました \(番号 \d+\)/).waitFor();
    const id = (await a.getByText(/申請しました/).innerText()).match(/\d+/)[0];
    assert.equal(await a.locator(`[data-export="run-${id}"]`).count(), 0);
    // the admin approves in the browser (device B is approved)
    await logout(q);
    await login(q, 'admin', env.admin_pw);
    await q.getByRole('heading', { name: 'ダッシュボード' }).waitFor();
    await q.getByText('承認待ちの持ち出し').waitFor();
    assert.match(await q.locator('#main').innerText(), /給与計算の委託先へ/);
    await q.getByRole('link', { name: '持ち出し' }).click();
    await q.locator(`[data-export="approve-${id}"]`).click();
    await q.locator(`[data-export="approve-${id}"]`).waitFor({ state: 'detached' });
    // the requester runs it: password once, then the file
    await a.reload();
    const dl = a.waitForEvent('download');
    await a.locator(`[data-export="run-${id}"]`).click();
    const pw = await a.locator('#export-password').innerText();
    assert.match(pw, /^\S{24}$/);
    const file = await (await dl).path();
    execFileSync('7z', ['t', `-p${pw}`, file], { stdio: 'ignore' });
    await a.reload();
    await a.locator('#ledger table').waitFor();
    assert.equal(await a.locator('#export-password').count(), 0);
    assert.doesNotMatch(await a.content(), new RegExp(pw.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.equal(await a.locator(`[data-export="run-${id}"]`).count(), 0);
    // the file is gone from the server
    const st = await a.evaluate(async (u) => (await fetch(u)).status, `/api/v1/exports/${id}/file`);
    assert.equal(st, 410);
  }));

test('e2) a CMS export to a recipient certificate (DER, as Windows saves it): no password', () =>
  shot('e2-export-cms', pages, async () => {
    const a = A.page, q = B.page;
    const key = `${T}/e2e-recipient.key`, pem = `${T}/e2e-recipient.pem`, der = `${T}/e2e-recipient.cer`;
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', pem,
      '-days', '2', '-subj', '/CN=e2e recipient'], { stdio: 'ignore' });
    execFileSync('openssl', ['x509', '-in', pem, '-outform', 'DER', '-out', der], { stdio: 'ignore' });
    await a.goto(`${BASE}/#/exports`);
    await a.getByLabel('目的').fill('年末調整の委託先へ');
    await a.getByLabel('形式').selectOption('cms');
    // without the certificate: said so, nothing asked
    await a.getByRole('button', { name: '申請' }).click();
    await a.getByText('CMS には受領者の証明書が必要です').waitFor();
    await a.getByLabel('受領者の証明書').setInputFiles(der);
    await a.getByRole('button', { name: '申請' }).click();
    await a.getByText(/申請しました \(番号 \d+\)/).waitFor();
    const id = (await a.getByText(/申請しました/).innerText()).match(/\d+/)[0];
    await q.goto(`${BASE}/#/exports`);
    await q.reload(); // (the same hash: the ledger is drawn again)
    await q.locator(`[data-export="approve-${id}"]`).click();
    await q.locator(`[data-export="approve-${id}"]`).waitFor({ state: 'detached' });
    await a.reload();
    const dl = a.waitForEvent('download');
    await a.locator(`[data-export="run-${id}"]`).click();
    await a.getByText(/件を書き出しました/).waitFor();
    assert.equal(await a.locator('#export-password').count(), 0);
    const file = await (await dl).path();
    const csv = execFileSync('openssl', ['cms', '-decrypt', '-inform', 'DER', '-in', file, '-inkey', key]).toString();
    assert.match(csv.split('\n')[0], /name/);
  }));

test('c) a viewer sees masked data', () =>
  shot('c-viewer', pages, async () => {
    const q = B.page;
    await logout(q);
    await login(q, 'vw1', env.vw_pw);
    await q.getByRole('heading', { name: 'ダッシュボード' }).waitFor();
    await q.goto(`${BASE}/#/records`);
    await q.getByLabel('項目').selectOption('name');
    await q.getByLabel('値').fill('山田 太郎');
    await q.getByLabel('値').press('Enter');
    await q.getByText('検索結果 1 件').waitFor();
    await q.locator('#main table a').first().click();
    await q.locator('#record-view').waitFor();
    const text = await q.locator('#record-view').innerText();
    assert.match(text, /マスク表示/);
    assert.doesNotMatch(await q.content(), /123456789018/);
    assert.doesNotMatch(text, /090-?1111-?2222/);
    await logout(q);
  }));

test('first login: password change, MFA enrolment with a QR code, recovery codes', () =>
  shot('first-login', pages, async () => {
    const q = B.page;
    const tok = await adminApi();
    const r = await call('POST', '/api/v1/users', tok, { name: 'op9', role: 'operator', password: env.init_pw });
    assert.equal(r.status, 201, r.text);
    await login(q, 'op9', env.init_pw, false);
    await q.getByRole('heading', { name: 'パスワードの変更' }).waitFor();
    // the keyboard is in the first field
    assert.equal(await q.evaluate(() => document.activeElement.name), 'current');
    await q.getByLabel('現在のパスワード').fill(env.init_pw);
    await q.getByLabel('新しいパスワード', { exact: true }).fill('Kyu#Bedien-9931');
    await q.getByLabel('新しいパスワード (確認)').fill('Kyu#Bedien-9931');
    await q.getByRole('button', { name: '変更' }).click();
    await q.getByRole('heading', { name: '二要素認証 (TOTP) の登録' }).waitFor();
    const secret = (await q.locator('#mfa-secret').innerText()).trim();
    assert.match(secret, /^[A-Z2-7]{32}$/);
    await q.locator('#mfa-qr').screenshot({ path: `${T}/qr.png` });
    const uri = execFileSync('zbarimg', ['-q', '--raw', `${T}/qr.png`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    assert.match(uri, /^otpauth:\/\/totp\//);
    assert.ok(uri.includes(`secret=${secret}`), uri);
    const c = execFileSync('oathtool', ['--totp', '-b', secret], { encoding: 'utf8' }).trim();
    assert.equal(await q.evaluate(() => document.activeElement.name), 'code');
    await q.getByLabel('確認コード').fill(c);
    await q.getByLabel('確認コード').press('Enter');
    await q.getByRole('heading', { name: 'リカバリーコード' }).waitFor();
    assert.equal(await q.locator('#recovery-codes li').count(), 10);
    await q.getByRole('button', { name: '完了' }).click();
    await q.getByRole('heading', { name: 'ダッシュボード' }).waitFor();
    // op9 has no dataset: the users before it in this tab (vw1 searched
    // "people") leave nothing behind
    await q.locator('#main table[aria-label="データセット"]').waitFor();
    assert.doesNotMatch(await q.locator('#main').innerText(), /people/);
    await q.goto(`${BASE}/#/records`);
    await q.getByRole('heading', { name: '記録の検索' }).waitFor();
    assert.doesNotMatch(await q.locator('#main').innerText(), /people/);
    assert.equal(await q.locator('#main select').count(), 0);
    await logout(q);
  }));

test('g) every screen in both languages: no CSP violation, no JS error', () =>
  shot('g-screens', pages, async () => {
    const q = B.page;
    await login(q, 'admin', env.admin_pw);
    await q.getByRole('heading', { name: 'ダッシュボード' }).waitFor();
    // the admin's screens (roles.test.mjs: each role's)
    const screens = [['dash', 'ダッシュボード'], ['exports', '持ち出し'], ['audit', '監査ログ'],
      ['review', 'アクセスレビュー'], ['admin', '管理']];
    for (const [h, title] of screens) {
      await q.goto(`${BASE}/#/${h}`);
      await q.getByRole('heading', { name: title, exact: true }).waitFor();
    }
    // the audit log: filters and the verify button
    await q.goto(`${BASE}/#/audit`);
    await q.locator('#audit-list table').waitFor();
    await q.getByLabel('操作').fill('export.run');
    await q.getByLabel('操作').press('Enter');
    await q.locator('#audit-list tbody tr').first().waitFor();
    assert.ok((await q.locator('#audit-list tbody tr').count()) >= 1);
    await q.locator('#audit-verify-btn').click();
    await q.getByText(/正常 \(\d+ 件\)/).waitFor();
    // the admin screen lists the browsers' devices
    await q.goto(`${BASE}/#/admin`);
    await q.locator('#admin-devices').getByText('e2e browser A').waitFor();
    // users: unlock shows for a locked account only; op9 is locked by
    // wrong passwords from the CLI's approved device
    assert.equal(await q.locator('[data-id="unlock-op9"]').count(), 0);
    for (let i = 0; i < 5; i++) assert.equal((await deviceLogin('op9', 'Wrong#Pass-0000')).status, 401);
    // disable and enable (off-boarding); the list shows the state
    await q.locator('[data-id="disable-op9"]').click();
    await q.getByText('保存しました。').waitFor();
    await q.locator('[data-id="enable-op9"]').waitFor();
    assert.match(await q.locator('#admin-users tr', { hasText: 'op9' }).innerText(), /無効/);
    const op9 = async () => (await call('GET', '/api/v1/users', await adminApi())).json.find((x) => x.name === 'op9');
    assert.equal((await op9()).disabled, true);
    await q.locator('[data-id="unlock-op9"]').click();
    await q.locator('[data-id="unlock-op9"]').waitFor({ state: 'detached' });
    assert.equal((await op9()).locked_until, null);
    await q.locator('[data-id="enable-op9"]').click();
    await q.locator('[data-id="disable-op9"]').waitFor();
    assert.equal((await op9()).disabled, false);
    // a new initial password (the user must change it)
    await q.locator('[data-id="reset-op9"]').click();
    await q.locator('#admin-reset input').fill(env.init_pw);
    await q.locator('#admin-reset input').press('Enter');
    await q.locator('#admin-reset form').waitFor({ state: 'detached' });
    const u = (await call('GET', '/api/v1/users', await adminApi())).json.find((x) => x.name === 'op9');
    assert.equal(u.must_change_password, true);
    // English
    await q.getByRole('button', { name: 'English' }).click();
    await q.getByRole('heading', { name: 'Admin' }).waitFor();
    assert.equal(await q.locator('html').getAttribute('lang'), 'en');
    await q.goto(`${BASE}/#/audit`);
    await q.getByRole('heading', { name: 'Audit log' }).waitFor();
    await q.locator('#audit-list table').waitFor();
    // the server's errors follow the switch (Accept-Language)
    await q.getByLabel('Entries').fill('0');
    await q.getByLabel('Entries').press('Enter');
    await q.locator('#audit-list .msg.err').waitFor();
    assert.match(await q.locator('#audit-list .msg.err').innerText(), /^Error: [\x20-\x7e]+$/);
    await q.getByRole('button', { name: '日本語' }).click();
    await q.getByRole('heading', { name: '監査ログ' }).waitFor();
    // static files: the strict CSP on each
    const r = await fetch(`${API}/web/app.js`);
    assert.match(r.headers.get('content-security-policy'), /script-src 'self'/);
    assert.match(r.headers.get('content-type'), /^text\/javascript/);
    await logout(q);
    assert.deepEqual(problems, []);
  }));
