// idle.test.mjs - the idle timeout (the screen-lock measure): mamorid runs
// with a 6-second idle limit for the page (test hook); the page warns
// (half the limit before), "continue" keeps the session, and at the limit
// it logs out, on the login screen with a message; the session has ended
// on the server too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, env, approveDevice, browser, context, problems, shot, enrolBrowser, login } from './lib.mjs';

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
