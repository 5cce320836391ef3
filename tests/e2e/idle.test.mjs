// idle.test.mjs - the idle timeout (the screen-lock measure): mamorid runs
// with a 6-second idle limit for the page (test hook); the page warns
// (half the limit before), "continue" keeps the session, and at the limit
// it logs out, on the login screen with a message; the session has ended
// on the server too. The logout clears the page before it asks the
// server anything, and a logout the server does not confirm (its DELETE
// answered 503, as when the audit write fails) stays a logout: the page
// does not take the session up again, says so and tries again. Idleness
// is the user's, not a tab's: typing in one tab keeps the others (and the
// session) alive, the warning comes only when every tab is idle, its
// "continue" in one tab dismisses it in all, and a logout in one tab
// logs the others out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, env, sleep, approveDevice, browser, context, problems, shot, enrolBrowser, login } from './lib.mjs';

test('f) idle logout', async () => {
  const b = await browser();
  const { page: p } = await context(b, 'idle');
  try {
    await shot('f-idle', () => [p], async () => {
      await enrolBrowser(p, 'aud1', env.aud_pw, 'e2e browser C');
      await approveDevice('e2e browser C');
      await login(p, 'aud1', env.aud_pw);
      await p.getByRole('heading', { name: 'ダッシュボード' }).waitFor();
      const s = await p.evaluate(async () => (await fetch('/api/v1/session')).json());
      assert.equal(s.idle_seconds, 6);
      const dlg = p.locator('#idle-dialog');
      await dlg.waitFor({ state: 'visible', timeout: 9000 });
      assert.match(await dlg.innerText(), /まもなく自動的にログアウトします/);
      await p.getByRole('button', { name: '続ける' }).click();
      await dlg.waitFor({ state: 'hidden' });
      assert.ok(p.url().endsWith('#/dash'));
      // no activity now: warned again, then logged out
      await dlg.waitFor({ state: 'visible', timeout: 9000 });
      await p.getByText('一定時間操作がなかったため、ログアウトしました。').waitFor({ timeout: 12000 });
      await p.getByRole('heading', { name: 'ログイン' }).waitFor();
      const st = await p.evaluate(async () => (await fetch('/api/v1/session')).status);
      assert.equal(st, 401);
      // the notice stays through the language switch, in the new language
      await p.getByRole('button', { name: 'English' }).click();
      await p.getByText('You were logged out after a time without activity.').waitFor();
      await p.getByRole('button', { name: '日本語' }).click();
      await p.getByText('一定時間操作がなかったため、ログアウトしました。').waitFor();
      assert.deepEqual(problems, []);
    });
  } finally {
    await b.close();
  }
});

test('f2) idle logout: the page is cleared at once; an unconfirmed logout does not come back', async () => {
  const b = await browser();
  const { page: p } = await context(b, 'idle2');
  try {
    await shot('f2-idle', () => [p], async () => {
      await enrolBrowser(p, 'op1', env.op_pw, 'e2e browser D');
      await approveDevice('e2e browser D');
      await login(p, 'op1', env.op_pw);
      await p.getByRole('heading', { name: 'ダッシュボード' }).waitFor();
      // a record with its My Number on the screen
      await p.goto(`${BASE}/#/records`);
      await p.getByLabel('項目').selectOption('name');
      await p.getByLabel('値').fill('山田 太郎');
      await p.getByLabel('値').press('Enter');
      await p.locator('#main table a').first().click();
      await p.locator('#record-view').getByText('123456789018').waitFor();
      // the server's DELETE of the session: held, then answered 503
      let release, seen;
      const held = new Promise((r) => { release = r; });
      const asked = new Promise((r) => { seen = r; });
      let deletes = 0;
      await p.route('**/api/v1/session', async (r) => {
        if (r.request().method() !== 'DELETE') return r.continue();
        if (++deletes === 1) {
          seen();
          await held;
        }
        return r.fulfill({ status: 503, contentType: 'application/json',
          body: JSON.stringify({ error: { code: 'audit', message: 'audit write failed' } }) });
      });
      // the warning hides the page: its backdrop is opaque
      const dlg = p.locator('#idle-dialog');
      await dlg.waitFor({ state: 'visible', timeout: 9000 });
      const bg = await dlg.evaluate((d) => getComputedStyle(d, '::backdrop').backgroundColor);
      const alpha = Number((bg.match(/^rgba?\(([^)]*)\)$/) || [0, '0,0,0,0'])[1].split(',')[3] ?? 1);
      assert.ok(alpha >= 0.95, `backdrop ${bg}`);
      // while the server has not answered: no record value, no menu, no name
      await asked;
      const main = await p.locator('#main').innerText();
      assert.doesNotMatch(main, /123456789018|山田|090/);
      assert.equal(await p.locator('#nav').isVisible(), false);
      assert.equal(await p.locator('#who').innerText(), '');
      assert.equal(await p.locator('#logout').isVisible(), false);
      release();
      await p.getByText('ログアウトをサーバーで確認できませんでした').waitFor();
      await p.getByText('一定時間操作がなかったため、ログアウトしました。').waitFor();
      // the session is still open on the server, yet the page stays out
      await sleep(4000);
      assert.ok(p.url().endsWith('#/login'), p.url());
      assert.equal(await p.getByRole('heading', { name: 'ログイン' }).isVisible(), true);
      assert.equal(await p.locator('#nav').isVisible(), false);
      assert.ok(deletes >= 2, `DELETE retried (${deletes})`);
      // the server answers again: the next try ends the session
      await p.unroute('**/api/v1/session');
      await p.getByText('ログアウトをサーバーで確認しました。').waitFor({ timeout: 15000 });
      await p.locator('#logout-state .msg.err').waitFor({ state: 'detached' });
      const st = await p.evaluate(async () => (await fetch('/api/v1/session')).status);
      assert.equal(st, 401);
      assert.ok(p.url().endsWith('#/login'), p.url());
      // the 503s were on purpose
      assert.deepEqual(problems.filter((x) => !/status of 503/.test(x)), []);
    });
  } finally {
    await b.close();
  }
});

test('f3) two tabs: activity in one keeps the other; continue in one, logout in one, for both', async () => {
  const b = await browser();
  const { ctx, page: p } = await context(b, 'idle3');
  try {
    let q = null;
    await shot('f3-idle-tabs', () => [p, q].filter(Boolean), async () => {
      await enrolBrowser(p, 'op2', env.op2_pw, 'e2e browser E');
      await approveDevice('e2e browser E');
      await login(p, 'op2', env.op2_pw);
      await p.getByRole('heading', { name: 'ダッシュボード' }).waitFor();
      // a second tab of the same session (as a Ctrl+click opens it)
      q = await ctx.newPage();
      await q.goto(`${BASE}/#/add`);
      await q.getByRole('heading', { name: '記録の追加' }).waitFor();
      const d1 = p.locator('#idle-dialog');
      const d2 = q.locator('#idle-dialog');
      // the user types in tab 2 only, for well over the 6-second limit:
      // no warning in either tab, nobody logged out
      await q.getByLabel('note (テキスト)').click();
      for (let i = 0; i < 14; i++) {
        await q.keyboard.type('a');
        await sleep(1000);
        assert.equal(await d1.isVisible(), false, `tab 1 warned at ${i} s while tab 2 was in use`);
        assert.equal(await d2.isVisible(), false, `tab 2 warned at ${i} s while typed in`);
      }
      assert.ok(p.url().endsWith('#/dash'), p.url());
      assert.equal(await p.locator('#nav').isVisible(), true);
      assert.equal(await q.getByLabel('note (テキスト)').inputValue(), 'a'.repeat(14));
      // idle everywhere: both warn; "continue" in tab 2 ends both warnings
      await d1.waitFor({ state: 'visible', timeout: 9000 });
      await d2.waitFor({ state: 'visible', timeout: 9000 });
      await q.getByRole('button', { name: '続ける' }).click();
      await d2.waitFor({ state: 'hidden' });
      await d1.waitFor({ state: 'hidden', timeout: 3000 });
      assert.ok(p.url().endsWith('#/dash'), p.url());
      // a logout in tab 1: tab 2 shows the logged-out screen, saying why
      await p.getByRole('button', { name: 'ログアウト' }).click();
      await p.getByRole('heading', { name: 'ログイン' }).waitFor();
      await q.getByRole('heading', { name: 'ログイン' }).waitFor({ timeout: 3000 });
      await q.getByText('別のタブでログアウトしました。').waitFor();
      assert.equal(await q.locator('#nav').isVisible(), false);
      assert.equal(await q.getByLabel('note (テキスト)').count(), 0);
      const st = await q.evaluate(async () => (await fetch('/api/v1/session')).status);
      assert.equal(st, 401);
      // a login in tab 2: tab 1 takes the session up (no second login,
      // whose new cookie would leave tab 2 with a stale CSRF token)
      await login(q, 'op2', env.op2_pw);
      await q.getByRole('heading', { name: 'ダッシュボード' }).waitFor();
      await p.getByRole('heading', { name: 'ダッシュボード' }).waitFor({ timeout: 5000 });
      assert.equal(await p.locator('#nav').isVisible(), true);
      // (f2's 503s were on purpose)
      assert.deepEqual(problems.filter((x) => x.startsWith('idle3:')), []);
    });
  } finally {
    await b.close();
  }
});
