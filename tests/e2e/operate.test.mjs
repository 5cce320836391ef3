// operate.test.mjs - the office's daily use, as an admin and an operator
// work it: an error without mamorid's message (no answer, another
// server's page) said in Japanese, not as "Failed to fetch" or "HTTP 502";
// a row's button disabled while its request runs (one request for a
// double click) and the keyboard kept on the row after the table is drawn
// again; revoking a device asked first (nothing sent when declined); a
// long field name wraps in its label, never over the input; the import's
// checkbox on one line and its progress bar named; the language button
// marked with the language it names.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
  BASE, env, code, call, adminApi, approveDevice, browser, context, problems, shot, enrolBrowser, login, logout,
  requests,
} from './lib.mjs';

let b, S;
const DS = 'zz-fuyou-kojo-shinkokusho-2026';
const pages = () => [S].filter(Boolean).map((x) => x.page);

before(async () => {
  b = await browser();
  S = await context(b, 'O');
  const tok = await adminApi();
  // a user to disable and enable, and a dataset with a long field name
  let r = await call('POST', '/api/v1/users', tok, { name: 'op8', role: 'operator', password: 'Acht#Bedien-8812' });
  assert.equal(r.status, 201, r.text);
  r = await call('POST', '/api/v1/datasets', tok, {
    name: DS, client: '株式会社サンプル東日本支社人事総務部給与計算グループ', purpose: '扶養控除等申告書の受付',
    fields: [{ name: 'hihokensha_shimei_kanji_zenkaku_sei_mei_fuyou_kazoku_hitori_me', type: 'name', searchable: true },
      { name: 'kana', type: 'kana', searchable: true }],
  });
  assert.equal(r.status, 201, r.text);
  r = await call('POST', `/api/v1/datasets/${DS}/grants/op1`, tok, {});
  assert.equal(r.status, 200, r.text);
});
after(async () => {
  await b?.close();
  // op1's datasets as the other files expect them (named after the
  // others, too, while the grant lasts: no screen's first choice changes)
  const r = await call('DELETE', `/api/v1/datasets/${DS}/grants/op1`, await adminApi());
  assert.equal(r.status, 200, r.text);
});

test('the admin: errors without a server message in Japanese; one request per click; focus kept; revoke asked first', () =>
  shot('o-admin', pages, async () => {
    const p = S.page;
    await enrolBrowser(p, 'op1', env.op_pw, 'e2e browser O');
    await approveDevice('e2e browser O');
    await login(p, 'admin', env.admin_pw);
    await p.getByRole('heading', { name: 'ダッシュボード' }).waitFor();
    // the language button names English, in English
    assert.equal(await p.locator('#lang-toggle').getAttribute('lang'), 'en');
    await p.getByRole('link', { name: '管理' }).click();
    await p.locator('[data-id="disable-op8"]').waitFor();

    // a proxy's error page, then no answer at all: said in Japanese
    await p.route('**/api/v1/users/op8/disable', (r) => r.fulfill({ status: 502, contentType: 'text/html', body: '<html>Bad Gateway</html>' }));
    // the screen's message area: a live region before any message
    const area = await p.locator('#main > [aria-live=polite]').elementHandle();
    assert.equal(await area.evaluate((e) => e.childNodes.length), 0);
    await p.locator('[data-id="disable-op8"]').click();
    const err = p.locator('#main .msg.err').first();
    await err.getByText('サーバーがエラーを返しました (HTTP 502)').waitFor();
    // the message put in it (no live region inserted with the message)
    assert.ok(await area.evaluate((e) => e.isConnected && e.textContent.includes('HTTP 502')));
    assert.equal(await p.locator('#main [role=alert], #main [role=status]').count(), 0);
    await p.unroute('**/api/v1/users/op8/disable');
    await p.route('**/api/v1/users/op8/disable', (r) => r.abort('connectionrefused'));
    await p.locator('[data-id="disable-op8"]').click();
    await err.getByText('サーバーに接続できませんでした').waitFor();
    assert.doesNotMatch(await err.innerText(), /Failed to fetch|HTTP 0/);
    // and in English after the switch
    await p.getByRole('button', { name: 'English' }).click();
    await err.getByText('The server could not be reached').waitFor();
    assert.equal(await p.locator('#lang-toggle').getAttribute('lang'), 'ja');
    await p.getByRole('button', { name: '日本語' }).click();
    await p.unroute('**/api/v1/users/op8/disable');
    // the browser's own refusals are not the page's problems
    problems.splice(0, problems.length, ...problems.filter((x) => !/status of 502|ERR_CONNECTION_REFUSED/.test(x)));

    // a slow answer: the button is disabled while it runs, a second click
    // sends nothing; the keyboard stays on op8's row (its "enable")
    let release;
    const held = new Promise((r) => { release = r; });
    await p.route('**/api/v1/users/op8/disable', async (r) => {
      await held;
      await r.continue();
    });
    const disable = p.locator('[data-id="disable-op8"]');
    await disable.focus();
    const sent = await requests(p, /\/users\/op8\/disable$/, async () => {
      await p.keyboard.press('Enter');
      await p.waitForFunction(() => document.querySelector('[data-id="disable-op8"]').disabled);
      await disable.click({ force: true }).catch(() => {});
      await p.keyboard.press('Enter');
      release();
      await p.locator('[data-id="enable-op8"]').waitFor();
    });
    assert.equal(sent.length, 1, sent.join(' '));
    await p.unroute('**/api/v1/users/op8/disable');
    assert.equal(await p.evaluate(() => document.activeElement.dataset.id), 'enable-op8');
    // Enter again: enabled, the keyboard on its "disable"
    await p.keyboard.press('Enter');
    await p.locator('[data-id="disable-op8"]').waitFor();
    await p.waitForFunction(() => document.activeElement.dataset.id === 'disable-op8');

    // revoking a device is asked first: declined, nothing sent
    const pk = crypto.generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');
    const r = await call('POST', '/api/v1/devices', null, { user: 'admin', password: env.admin_pw, otp: await code('admin'), name: 'e2e spare device', public_key: pk });
    assert.equal(r.status, 202, r.text);
    await p.reload();
    const row = p.locator('#admin-devices tr', { hasText: 'e2e spare device' });
    await row.waitFor();
    const asked = [];
    p.once('dialog', (d) => {
      asked.push(d.message());
      d.dismiss();
    });
    const none = await requests(p, /\/revoke$/, async () => {
      await row.getByRole('button', { name: '取り消し' }).click();
      await p.waitForTimeout(300);
    });
    assert.deepEqual(none, []);
    assert.match(asked[0] || '', /端末「e2e spare device」を取り消します。.*よろしいですか/);
    assert.match(await row.innerText(), /承認待ち/);
    p.once('dialog', (d) => d.accept());
    await row.getByRole('button', { name: '取り消し' }).click();
    await row.getByText('取り消し済み').waitFor();

    // the audit chain's check: disabled while it runs
    await p.getByRole('link', { name: '監査ログ' }).click();
    const vb = p.locator('#audit-verify-btn');
    await vb.waitFor();
    assert.equal(await p.locator('#audit-verify').getAttribute('aria-live'), 'polite');
    let go;
    const wait = new Promise((x) => { go = x; });
    await p.route('**/api/v1/audit/verify', async (x) => {
      await wait;
      await x.continue();
    });
    await vb.click();
    assert.equal(await vb.isDisabled(), true);
    go();
    await p.locator('#audit-verify').getByText(/正常/).waitFor();
    assert.equal(await p.locator('#audit-verify [role]').count(), 0);
    assert.equal(await vb.isDisabled(), false);
    await p.unroute('**/api/v1/audit/verify');
    await logout(p);
  }));

test('an operator: a long field name wraps in its label; the import checkbox on one line, its progress named', () =>
  shot('o-operator', pages, async () => {
    const p = S.page;
    // logged out, whatever the test before left
    await S.ctx.clearCookies();
    for (const [w, hgt] of [[1280, 800], [1024, 700]]) {
      await p.setViewportSize({ width: w, height: hgt });
      await login(p, 'op1', env.op_pw);
      await p.getByRole('heading', { name: 'ダッシュボード' }).waitFor();
      await p.getByRole('link', { name: '記録の追加' }).click();
      await p.getByRole('heading', { name: '記録の追加' }).waitFor();
      await p.locator('#main select[name=ds]').selectOption(DS);
      const label = p.locator('#main form label').first();
      await label.getByText(/hihokensha_/).waitFor();
      const input = p.locator('#main form input').first();
      const lb = await label.boundingBox();
      const ib = await input.boundingBox();
      const textRight = await label.evaluate((e) => {
        const r = document.createRange();
        r.selectNodeContents(e);
        return Math.max(...[...r.getClientRects()].map((x) => x.right));
      });
      assert.ok(textRight <= ib.x, `${w}: the label's text ends at ${textRight}, over the input at ${ib.x}`);
      assert.ok(lb.x + lb.width <= ib.x, `${w}: the label box overlaps the input`);
      // the import's checkbox: its words on one line
      await p.getByRole('link', { name: '取り込み' }).click();
      const skip = p.locator('#main label', { hasText: '不正な行を飛ばして取り込む' });
      await skip.waitFor();
      const box = await skip.boundingBox();
      assert.ok(box.height < 30, `${w}: the checkbox label is ${box.height} px high`);
      assert.equal(await p.locator('#import-progress').getAttribute('aria-label'), '取り込みの進捗');
      await logout(p);
    }
    await p.setViewportSize({ width: 1280, height: 800 });
    assert.deepEqual(problems, []);
  }));
