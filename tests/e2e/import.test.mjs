// import.test.mjs - an import's row report lists every problem of a row
// (one per invalid value, in the file's column order), and says how many
// more there were past the 1000 listed, in Japanese and in English.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE, env, approveDevice, browser, context, problems, shot, enrolBrowser, login,
} from './lib.mjs';

let b, A;
const pages = () => [A].filter(Boolean).map((x) => x.page);

before(async () => {
  b = await browser();
  A = await context(b, 'A');
});
after(async () => {
  await b?.close();
});

const bad400 = () => {
  let csv = 'name,kana,birth,phone\n';
  for (let i = 0; i < 400; i++) csv += `髙木${i},Takagi,1980-13-01,12\n`;
  return Buffer.from(csv);
};

test('every problem of a row; the count of those not listed', () =>
  shot('import-problems', pages, async () => {
    const p = A.page;
    await p.goto(`${BASE}/`);
    await p.getByRole('heading', { name: 'ログイン' }).waitFor();
    await enrolBrowser(p, 'op1', env.op_pw, 'e2e import');
    await approveDevice('e2e import');
    await login(p, 'op1', env.op_pw);
    await p.getByRole('heading', { name: 'ダッシュボード' }).waitFor();
    await p.goto(`${BASE}/#/import`);
    await p.getByRole('heading', { name: 'CSV の取り込み' }).waitFor();
    await p.getByLabel('データセット').selectOption('people');
    // one good row, one bad in three fields: three problems, in order
    await p.getByLabel('ファイル').setInputFiles({
      name: 'bad.csv', mimeType: 'text/csv',
      buffer: Buffer.from('name,kana,birth,phone\n'
        + '髙木 六郎,タカギ ロクロウ,1980-01-01,03-1111-3333\n'
        + '髙木 七郎,Takagi,1980-13-01,12\n'),
    });
    await p.getByRole('button', { name: '取り込み', exact: true }).click();
    await p.getByText('2 行中 0 件を取り込み (1 件不正, 0 件重複)').waitFor();
    const rows = await p.getByRole('table', { name: '問題の一覧' })
      .locator('tbody tr').allInnerTexts();
    assert.equal(rows.length, 3);
    assert.match(rows[0], /^3\s+kana\s/);
    assert.match(rows[1], /^3\s+birth\s/);
    assert.match(rows[2], /^3\s+phone\s/);
    for (const r of rows) assert.doesNotMatch(r, /Takagi|1980-13-01/);
    assert.equal(await p.getByText(/ほかに .* 件の問題があります/).count(), 0);
    // 400 rows x 4 problems (a name holds no digits): 1000 listed, 600
    // more said
    await p.getByLabel('ファイル').setInputFiles({
      name: 'bad2.csv', mimeType: 'text/csv', buffer: bad400(),
    });
    await p.getByRole('button', { name: '取り込み', exact: true }).click();
    await p.getByText('400 行中 0 件を取り込み (400 件不正, 0 件重複)').waitFor();
    assert.equal(await p.getByRole('table', { name: '問題の一覧' })
      .locator('tbody tr').count(), 1000);
    await p.getByText('ほかに 600 件の問題があります (最初の 1000 件だけを表示しています)。')
      .waitFor();
    // the same in English
    await p.evaluate(() => localStorage.setItem('mamori.lang', 'en'));
    await p.reload();
    await p.getByRole('heading', { name: 'Import a CSV file' }).waitFor();
    await p.getByLabel('Dataset').selectOption('people');
    await p.getByLabel('File').setInputFiles({
      name: 'bad2.csv', mimeType: 'text/csv', buffer: bad400(),
    });
    await p.getByRole('button', { name: 'Import', exact: true }).click();
    await p.getByText('600 more problems were found but are not listed '
      + '(only the first 1000 are shown).').waitFor();
    assert.equal(await p.getByRole('table', { name: 'Problems' })
      .locator('tbody tr').count(), 1000);
    assert.deepEqual(problems, []);
  }));
