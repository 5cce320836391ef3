// roles.test.mjs - each role sees only its screens (menu and addresses:
// a viewer typing #/admin is refused by name, nothing of the screen
// drawn); labels and values in Japanese (roles, states); the keyboard in
// the first field of a form screen; the language switch keeps what was
// typed; no sideways scrolling and a one-row header at 1280x800 in both
// languages; a reversed audit period is said, not asked; an import
// without a file sends nothing; a CSV whose columns are not the dataset's
// fields (mamori-synth's, as the demo imports it; a Japanese header) is
// imported with the columns mapped in the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import {
  BASE, T, env, approveDevice, browser, context, problems, shot, enrolBrowser, login, logout,
  layout, menu, focused, requests,
} from './lib.mjs';

let b, S;
const pages = () => [S].filter(Boolean).map((x) => x.page);

before(async () => {
  b = await browser();
  S = await context(b, 'S');
});
after(async () => {
  await b?.close();
});

async function oneRow(p, what) {
  const l = await layout(p);
  assert.ok(l.overflow <= 0, `${what}: the page scrolls sideways by ${l.overflow} px`);
  assert.equal(l.rows, 1, `${what}: the header takes ${l.rows} rows (${l.header} px)`);
}

test('a viewer sees search only; #/admin and #/add are refused by name', () =>
  shot('r-viewer', pages, async () => {
    const p = S.page;
    await enrolBrowser(p, 'vw1', env.vw_pw, 'e2e browser S');
    await approveDevice('e2e browser S');
    await p.goto(`${BASE}/#/login`);
    await p.getByRole('heading', { name: 'ログイン' }).waitFor();
    assert.equal(await focused(p), 'user');
    await login(p, 'vw1', env.vw_pw);
    await p.getByRole('heading', { name: 'ダッシュボード' }).waitFor();
    assert.deepEqual(await menu(p), ['ダッシュボード', '記録の検索']);
    assert.equal(await p.locator('#who').innerText(), 'vw1 (閲覧者)');
    // nothing the viewer may not read: no backup, no chain
    assert.equal(await p.locator('#dash-backup, #dash-chain').count(), 0);
    await p.locator('#main table th', { hasText: '発注者' }).waitFor();
    for (const [h, name] of [['admin', '管理'], ['add', '記録の追加'], ['import', '取り込み'], ['audit', '監査ログ']]) {
      await p.goto(`${BASE}/#/${h}`);
      await p.getByRole('heading', { name: 'この画面は使えません' }).waitFor();
      assert.match(await p.locator('#main .msg.err').innerText(), new RegExp(`「${name}」の画面は、役割「閲覧者」では使えません`));
      assert.equal(await p.locator('#main input, #main select, #main form').count(), 0);
    }
    await p.goto(`${BASE}/#/records`);
    await p.getByRole('heading', { name: '記録の検索' }).waitFor();
    assert.equal(await focused(p), 'value');
    // a viewer searches by a name or its reading only (the server refuses
    // the other fields: they are masked for a viewer)
    // named as in the add form: "name (氏名)"
    const opts = await p.getByLabel('項目').locator('option').allTextContents();
    assert.ok(opts.length > 0 && opts.every((o) => ['name (氏名)', 'kana (カナ)'].includes(o)), opts.join(','));
    const vals = await p.getByLabel('項目').locator('option').evaluateAll((os) => os.map((o) => o.value));
    assert.ok(vals.every((v) => ['name', 'kana'].includes(v)), vals.join(','));
    await logout(p);
  }));

test('an auditor sees the log, the ledger and the review; the audit table fits 1280 px; a reversed period is said', () =>
  shot('r-auditor', pages, async () => {
    const p = S.page;
    await login(p, 'aud1', env.aud_pw);
    await p.getByRole('heading', { name: 'ダッシュボード' }).waitFor();
    assert.deepEqual(await menu(p), ['ダッシュボード', '持ち出し', '監査ログ', 'アクセスレビュー']);
    await p.locator('#dash-chain').getByText(/正常/).waitFor();
    await p.goto(`${BASE}/#/records`);
    await p.getByRole('heading', { name: 'この画面は使えません' }).waitFor();
    // the ledger, read only: no request form
    await p.getByRole('link', { name: '持ち出し' }).click();
    await p.getByRole('heading', { name: '持ち出し管理台帳' }).waitFor();
    await p.locator('#ledger table, #ledger p').first().waitFor();
    assert.equal(await p.locator('#main form').count(), 0);
    // the audit log: long values wrap, the header stays one row
    await p.getByRole('link', { name: '監査ログ' }).click();
    await p.locator('#audit-list tbody tr').first().waitFor();
    assert.equal(await focused(p), 'user');
    assert.ok((await p.locator('#audit-list tbody tr').count()) > 20);
    assert.ok((await p.locator('#audit-list td', { hasText: /^成功$/ }).count()) > 0, 'outcomes in Japanese');
    await oneRow(p, 'audit (ja)');
    await p.setViewportSize({ width: 1366, height: 768 });
    await oneRow(p, 'audit at 1366 (ja)');
    await p.setViewportSize({ width: 1280, height: 800 });
    // the action column: a Japanese name, its code under it and on hover
    // (as the exported log has it); the filter takes the code
    const actCells = () => p.locator('#audit-list tbody tr td:nth-child(5)');
    assert.match(await actCells().first().innerText(), /\S/);
    await p.getByLabel('操作').fill('record.add');
    await p.getByRole('button', { name: '絞り込み' }).click();
    await p.locator('#audit-list tbody tr').first().waitFor();
    await p.waitForFunction(() => [...document.querySelectorAll('#audit-list tbody tr td:nth-child(5)')]
      .every((td) => td.innerText.includes('record.add')));
    const acts = await actCells().evaluateAll((tds) => tds.map((td) => [td.innerText, td.querySelector('[title]')?.title]));
    assert.ok(acts.length >= 3, `${acts.length} record.add entries`);
    for (const [text, title] of acts) {
      assert.equal(text.replace(/\s+/g, ' ').trim(), '記録の追加 record.add');
      assert.equal(title, 'record.add');
    }
    await p.getByRole('button', { name: 'English' }).click();
    await actCells().first().getByText('Add a record').waitFor();
    await p.getByRole('button', { name: '日本語' }).click();
    await p.getByRole('heading', { name: '監査ログ' }).waitFor();
    await p.getByLabel('操作').fill('');
    // a reversed period: said, nothing asked; the message put in a live
    // region that was there before it, no region inserted with it
    const region = await p.locator('#audit-list [aria-live]').elementHandle();
    assert.equal(await region.evaluate((e) => e.textContent), '');
    await p.getByLabel('開始日').fill('2026-12-31');
    await p.getByLabel('終了日').fill('2026-01-01');
    const asked = await requests(p, /^\/api\/v1\/audit$/, async () => {
      await p.getByRole('button', { name: '絞り込み' }).click();
      await p.getByText('開始日が終了日より後になっています').waitFor();
    });
    assert.deepEqual(asked, []);
    assert.equal(await p.locator('#audit-list table').count(), 0);
    assert.ok(await region.evaluate((e) => e.isConnected && e.getAttribute('aria-live') === 'polite'
      && e.textContent.includes('開始日が終了日より後になっています')));
    assert.equal(await p.locator('#main [role=alert], #main [role=status]').count(), 0);
    // the language switch keeps the filters and the message
    await p.getByLabel('件数').fill('5');
    await p.getByRole('button', { name: 'English' }).click();
    await p.getByRole('heading', { name: 'Audit log' }).waitFor();
    assert.equal(await p.getByLabel('Entries').inputValue(), '5');
    assert.equal(await p.getByLabel('From').inputValue(), '2026-12-31');
    await p.getByText('The start date is after the end date').waitFor();
    await p.getByLabel('From').fill('');
    await p.getByLabel('To').fill('');
    await p.getByLabel('Entries').press('Enter');
    await p.locator('#audit-list tbody tr').first().waitFor();
    assert.equal(await p.locator('#audit-list tbody tr').count(), 5);
    await oneRow(p, 'audit (en)');
    await p.setViewportSize({ width: 1366, height: 768 });
    await oneRow(p, 'audit at 1366 (en)');
    await p.setViewportSize({ width: 1280, height: 800 });
    await p.getByRole('button', { name: '日本語' }).click();
    await p.getByRole('heading', { name: '監査ログ' }).waitFor();
    // the review: roles and findings in Japanese
    await p.getByRole('link', { name: 'アクセスレビュー' }).click();
    await p.locator('#review-list table').waitFor();
    const review = await p.locator('#review-list').innerText();
    assert.match(review, /担当者/);
    assert.match(review, /管理者/);
    assert.doesNotMatch(review, /\b(operator|viewer|auditor|active)\b/);
    await oneRow(p, 'review');
    await logout(p);
  }));

test('an operator: first fields focused; the switch keeps typed data; no file, nothing sent; columns mapped in the page', () =>
  shot('r-operator', pages, async () => {
    const p = S.page;
    await login(p, 'op1', env.op_pw);
    await p.getByRole('heading', { name: 'ダッシュボード' }).waitFor();
    assert.deepEqual(await menu(p), ['ダッシュボード', '記録の検索', '記録の追加', 'ベリファイ入力', '取り込み', '持ち出し']);
    await oneRow(p, 'operator (ja)');
    // focus: the screen's first field
    await p.getByRole('link', { name: '記録の検索' }).click();
    await p.getByRole('heading', { name: '記録の検索' }).waitFor();
    assert.equal(await focused(p), 'value');
    await p.getByRole('link', { name: '記録の追加' }).click();
    // (the search's field choice, left behind, holds "name (氏名)" too)
    await p.getByRole('heading', { name: '記録の追加' }).waitFor();
    await p.getByLabel('name (氏名)').waitFor();
    assert.equal(await focused(p), 'v.name');
    // typed data stays through the language switch, and back
    await p.keyboard.type('佐々木 一');
    await p.getByLabel('kana (カナ)').fill('ササキ ハジメ');
    await p.getByRole('button', { name: 'English' }).click();
    await p.getByRole('heading', { name: 'Add a record' }).waitFor();
    assert.equal(await p.getByLabel('name (name)').inputValue(), '佐々木 一');
    assert.equal(await p.getByLabel('kana (kana)').inputValue(), 'ササキ ハジメ');
    await oneRow(p, 'operator (en)');
    await p.getByRole('button', { name: '日本語' }).click();
    await p.getByRole('heading', { name: '記録の追加' }).waitFor();
    assert.equal(await p.getByLabel('name (氏名)').inputValue(), '佐々木 一');
    // import without a file: said, nothing sent
    await p.getByRole('link', { name: '取り込み' }).click();
    await p.getByRole('heading', { name: 'CSV の取り込み' }).waitFor();
    assert.equal(await focused(p), 'file');
    let sent = await requests(p, /\/import$/, async () => {
      await p.getByRole('button', { name: '取り込み', exact: true }).click();
      await p.getByText('取り込むファイルを選んでください。').waitFor();
    });
    assert.deepEqual(sent, []);
    // mamori-synth's CSV (CP932, as the demo imports it): its birthdate
    // column is the dataset's birth field
    await p.getByLabel('データセット').selectOption('staff');
    await p.getByLabel('ファイル').setInputFiles({ name: 'synth.csv', mimeType: 'text/csv', buffer: readFileSync(`${T}/synth.csv`) });
    const col = p.getByLabel('列「birthdate」');
    await col.waitFor();
    assert.equal(await p.locator('#import-map select').count(), 1);
    // not chosen yet: said, nothing sent
    sent = await requests(p, /\/import$/, async () => {
      await p.getByRole('button', { name: '取り込み', exact: true }).click();
      await p.getByText('列「birthdate」に対応する項目を選んでください').waitFor();
    });
    assert.deepEqual(sent, []);
    await col.selectOption('birth');
    sent = await requests(p, /\/import$/, async () => {
      await p.getByRole('button', { name: '取り込み', exact: true }).click();
      await p.getByText('50 行中 50 件を取り込み (0 件不正, 0 件重複)').waitFor();
    });
    assert.equal(sent.length, 1);
    assert.match(sent[0], /[?&]map=birthdate%3Dbirth(&|$)/);
    // a Japanese header, as Excel users write it
    const cp932 = (text) => execFileSync('iconv', ['-f', 'UTF-8', '-t', 'CP932'], { input: text });
    await p.getByLabel('データセット').selectOption('people');
    await p.getByLabel('ファイル').setInputFiles({
      name: 'ja.csv', mimeType: 'text/csv',
      buffer: cp932('氏名,フリガナ,電話番号\r\n安藤 一郎,アンドウ イチロウ,03-2222-1111\r\n'),
    });
    await p.getByLabel('列「氏名」').selectOption('name');
    await p.getByLabel('列「フリガナ」').selectOption('kana');
    await p.getByLabel('列「電話番号」').selectOption('phone');
    await p.getByRole('button', { name: '取り込み', exact: true }).click();
    await p.getByText('1 行中 1 件を取り込み (0 件不正, 0 件重複)').waitFor();
    // a file without a header: its first line is a person's data, never
    // offered as columns to map, nor sent
    sent = await requests(p, /\/import$/, async () => {
      await p.getByLabel('ファイル').setInputFiles({
        name: 'nohead.csv', mimeType: 'text/csv',
        buffer: Buffer.from('安藤 二郎,アンドウ ジロウ,03-2222-1112\r\n'),
      });
      await p.locator('#import-map .msg.err', { hasText: '1 行目が見出し' }).waitFor();
      assert.equal(await p.locator('#import-map select').count(), 0);
      await p.getByRole('button', { name: '取り込み', exact: true }).click();
      await p.locator('.msg.err', { hasText: '1 行目が見出し' }).nth(1).waitFor();
    });
    assert.deepEqual(sent, []);
    // a column is mapped only to a field that no column holds yet
    await p.getByLabel('ファイル').setInputFiles({
      name: 'two.csv', mimeType: 'text/csv',
      buffer: Buffer.from('name,kana,tel\r\n安藤 三郎,アンドウ サブロウ,03-2222-1113\r\n'),
    });
    await p.getByLabel('列「tel」').waitFor();
    const offered = await p.getByLabel('列「tel」').locator('option').allTextContents();
    assert.ok(offered.some((o) => o.startsWith('phone')), offered.join(','));
    assert.ok(!offered.some((o) => o.startsWith('name (') || o.startsWith('kana (')), offered.join(','));
    await p.goto(`${BASE}/#/records`);
    await p.getByRole('heading', { name: '記録の検索' }).waitFor();
    // the fields named as in the add form, the search by the code
    const fopts = await p.locator('#main select[name=field] option').allTextContents();
    assert.ok(fopts.includes('name (氏名)') && fopts.includes('phone (電話番号)'), fopts.join(','));
    await p.getByLabel('値').fill('安藤 一郎');
    const found = await p.locator('#main > [aria-live]').elementHandle();
    await p.getByLabel('値').press('Enter');
    await p.getByText('検索結果 1 件').waitFor();
    // the count said in the live region that was there before it
    assert.ok(await found.evaluate((e) => e.isConnected && e.textContent.includes('検索結果 1 件')));
    // an export for the admin to decide (the ledger's states, next)
    await p.getByRole('link', { name: '持ち出し' }).click();
    await p.getByLabel('目的').fill('役割テストの持ち出し');
    await p.getByRole('button', { name: '申請' }).click();
    await p.getByText(/申請しました \(番号 \d+\)/).waitFor();
    await p.locator('#ledger').getByText('承認待ち').first().waitFor();
    await logout(p);
  }));

test('the admin: no record screens; users, devices and states in Japanese; one row at 1280 px in both languages', () =>
  shot('r-admin', pages, async () => {
    const p = S.page;
    await login(p, 'admin', env.admin_pw);
    await p.getByRole('heading', { name: 'ダッシュボード' }).waitFor();
    assert.deepEqual(await menu(p), ['ダッシュボード', '持ち出し', '監査ログ', 'アクセスレビュー', '管理']);
    await oneRow(p, 'dashboard');
    for (const h of ['records', 'add', 'entry', 'import']) {
      await p.goto(`${BASE}/#/${h}`);
      await p.getByRole('heading', { name: 'この画面は使えません' }).waitFor();
    }
    // the log with the operator's imports: their files' fingerprints (32
    // hex digits, unbroken) wrap inside their cells
    await p.getByRole('link', { name: '監査ログ' }).click();
    await p.locator('#audit-list td', { hasText: /file [0-9a-f]{32}/ }).first().waitFor();
    await oneRow(p, 'audit with file fingerprints (ja)');
    await p.setViewportSize({ width: 1366, height: 768 });
    await oneRow(p, 'audit with file fingerprints at 1366 (ja)');
    await p.setViewportSize({ width: 1280, height: 800 });
    await p.getByRole('link', { name: '管理' }).click();
    await p.locator('#admin-users table').waitFor();
    await p.locator('#admin-devices table').waitFor();
    const users = await p.locator('#admin-users').innerText();
    assert.match(users, /担当者/);
    assert.match(users, /有効/);
    assert.match(await p.locator('#admin-devices').innerText(), /承認済み/);
    const heads = await p.locator('#main th').allInnerTexts();
    assert.ok(heads.includes('ロック期限') && heads.includes('承認者'), heads.join(' | '));
    // the buttons' columns are headed too (users, devices)
    assert.equal(heads.filter((x) => x === '操作').length, 2, heads.join(' | '));
    assert.ok(heads.every((x) => x.trim()), heads.join(' | '));
    await oneRow(p, 'admin (ja)');
    await p.getByRole('button', { name: 'English' }).click();
    await p.getByRole('heading', { name: 'Admin' }).waitFor();
    assert.match(await p.locator('#admin-users').innerText(), /operator/);
    await oneRow(p, 'admin (en)');
    await p.setViewportSize({ width: 1366, height: 768 });
    await oneRow(p, 'admin at 1366 (en)');
    await p.setViewportSize({ width: 1280, height: 800 });
    await p.goto(`${BASE}/#/audit`);
    await p.locator('#audit-list td', { hasText: /file [0-9a-f]{32}/ }).first().waitFor();
    await oneRow(p, 'audit with file fingerprints (en)');
    await p.goto(`${BASE}/#/exports`);
    await p.locator('#ledger table').waitFor();
    await p.locator('#ledger').getByText('waiting for approval').first().waitFor();
    assert.ok((await p.locator('#ledger th').allInnerTexts()).includes('Actions'));
    await oneRow(p, 'exports (en)');
    await p.getByRole('button', { name: '日本語' }).click();
    await p.getByRole('heading', { name: '持ち出し', exact: true }).waitFor();
    const row = p.locator('#ledger tr', { hasText: '役割テストの持ち出し' });
    assert.match(await row.innerText(), /承認待ち/);
    await row.getByRole('button', { name: '承認' }).click();
    await row.getByText('承認済み').waitFor();
    assert.doesNotMatch(await p.locator('#ledger').innerText(), /\b(pending|done|approved)\b/);
    await logout(p);
    assert.deepEqual(problems, []);
  }));
