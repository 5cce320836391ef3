// qr.test.mjs - web/qr.js against a real decoder (zbarimg): every version
// it makes (1-10, byte mode, level M), through their capacity limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { qrMatrix } from '../../web/qr.js';

const T = process.env.T || '/tmp';

function decode(m) {
  const q = 4, s = 3, w = (m.length + 2 * q) * s;
  const rows = [];
  for (let y = 0; y < w; y++) {
    const r = [];
    for (let x = 0; x < w; x++) {
      const my = Math.floor(y / s) - q, mx = Math.floor(x / s) - q;
      r.push(my >= 0 && mx >= 0 && my < m.length && mx < m.length && m[my][mx] ? 1 : 0);
    }
    rows.push(r.join(' '));
  }
  writeFileSync(`${T}/qr.pbm`, `P1\n${w} ${w}\n${rows.join('\n')}\n`);
  return execFileSync('zbarimg', ['-q', '--raw', `${T}/qr.pbm`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).replace(/\n$/, '');
}

test('qr.js codes decode to their text, versions 1 to 10', () => {
  const base = 'otpauth://totp/mamori:%E5%B1%B1%E7%94%B0?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=mamori';
  // the byte capacities of level M, and one more (the next version)
  for (const n of [1, 14, 15, 26, 27, 42, 43, 62, 63, 84, 85, 106, 107, 122, 123, 152, 153, 180, 181, 213]) {
    let s = base;
    while (s.length < n) s += 'abcdefghij';
    s = s.slice(0, n);
    const m = qrMatrix(s);
    assert.equal(decode(m), s, `length ${n}`);
  }
});

test('qr.js sizes and limits', () => {
  assert.equal(qrMatrix('x'.repeat(14)).length, 21);
  assert.equal(qrMatrix('x'.repeat(15)).length, 25);
  assert.equal(qrMatrix('x'.repeat(213)).length, 57);
  assert.throws(() => qrMatrix('x'.repeat(214)), /too long/);
  // non-ASCII is UTF-8 bytes: 9 bytes fit version 1 as 9 ASCII ones do
  assert.equal(qrMatrix('マモリ').length, 21);
  assert.equal(qrMatrix('マモリマモリ').length, 25);
});
