// idle.test.mjs - the idle timeout (the screen-lock measure): mamorid runs
// with a 6-second idle limit for the page (test hook); the page warns
// (half the limit before), "continue" keeps the session, and at the limit
// it logs out, on the login screen with a message; the session has ended
// on the server too. The logout clears the page before it asks the
// server anything, and a logout the server does not confirm (its DELETE
// answered 503, as when the audit write fails) stays a logout: the page
// does not take the session up again, says so and tries again.
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
