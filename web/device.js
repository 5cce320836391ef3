// device.js - this browser as a device (端末): an Ed25519 key made with
// WebCrypto, NOT extractable, kept in IndexedDB; the public key is sent for
// an admin's approval, and a login signs the server's challenge with the
// message the CLI signs (mamori_device_sign):
//   "mamori-device-login v1|VAULT_ID|USER|CHALLENGE"
const DB = 'mamori', STORE = 'device', KEY = 'this';

function idb() {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => r.result.createObjectStore(STORE);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

async function tx(mode, f) {
  const db = await idb();
  return new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    const req = f(t.objectStore(STORE));
    t.oncomplete = () => resolve(req && req.result);
    t.onerror = () => reject(t.error);
  });
}

const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');

// {keys, pk, name, state: "pending" | "approved"} or undefined.
export function deviceGet() {
  return tx('readonly', (s) => s.get(KEY));
}

export function devicePut(d) {
  return tx('readwrite', (s) => s.put(d, KEY));
}

export function deviceForget() {
  return tx('readwrite', (s) => s.delete(KEY));
}

// A new key pair; the private key cannot be exported.
export async function deviceNew(name) {
  const keys = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
  const pk = hex(await crypto.subtle.exportKey('raw', keys.publicKey));
  const d = { keys, pk, name, state: 'new' };
  await devicePut(d);
  return d;
}

export async function deviceSign(d, vault, user, challenge) {
  const msg = new TextEncoder().encode(`mamori-device-login v1|${vault}|${user}|${challenge}`);
  return hex(await crypto.subtle.sign({ name: 'Ed25519' }, d.keys.privateKey, msg));
}
