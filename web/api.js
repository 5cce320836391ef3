// api.js - calls to mamorid's JSON API with the session cookie: the CSRF
// header on changes, Accept-Language for the error messages, errors as
// exceptions ({status, code, message, detail, body}).
import { lang } from './i18n.js';

export const session = { csrf: null, user: null, role: null, idle: 900 };
let onGone = null;
let onCall = null;

export function onSessionGone(f) {
  onGone = f;
}
// f(background) after each answered call (the server has seen the session)
// and as an upload goes on; background: a call the user did not ask for
// (the keep-alive), which is no activity of theirs.
export function onApiCall(f) {
  onCall = f;
}

// message: the server's, in the language asked for; none (raw: true) when
// the answer had none (a proxy's error page, no answer at all).
export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.raw = !e.message;
    this.status = status;
    this.code = e.code || '';
    this.detail = e.detail || '';
    this.body = body;
  }
}

function headers(extra) {
  const h = { 'Accept-Language': lang() === 'en' ? 'en' : 'ja', ...extra };
  if (session.csrf) h['X-CSRF-Token'] = session.csrf;
  return h;
}

// opts: quiet (a 401 does not end the page's session), background.
export async function api(method, path, body, opts = {}) {
  const init = { method, headers: headers({}), credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  // No answer at all (the network, the server down): status 0, which the
  // page words itself (app.js errText), never the browser's English.
  let r;
  try {
    r = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, null);
  }
  let data = null;
  if ((r.headers.get('Content-Type') || '').startsWith('application/json')) {
    try {
      data = await r.json();
    } catch (e) {
      data = null;
    }
  }
  if (r.status !== 401 && onCall) onCall(!!opts.background);
  if (!r.ok) {
    const err = new ApiError(r.status, data);
    if (r.status === 401 && err.code === 'session' && session.user && !opts.quiet && onGone) onGone();
    throw err;
  }
  return data;
}

// A raw body (import) with upload progress: XMLHttpRequest, whose upload
// events fetch lacks. progress(fraction) is called as it goes.
export function upload(path, file, contentType, progress) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open('POST', path);
    const h = headers({ 'Content-Type': contentType });
    for (const k of Object.keys(h)) x.setRequestHeader(k, h[k]);
    x.upload.onprogress = (e) => {
      if (e.lengthComputable) progress(e.loaded / e.total);
      if (onCall) onCall(false);
    };
    x.onload = () => {
      let data = null;
      try {
        data = JSON.parse(x.responseText);
      } catch (e) {
        data = null;
      }
      if (x.status !== 401 && onCall) onCall(false);
      if (x.status >= 200 && x.status < 300) resolve(data);
      else reject(new ApiError(x.status, data));
    };
    x.onerror = () => reject(new ApiError(0, null));
    x.send(file);
  });
}
