/*
 * The API's URLs and one JSON fetch. URL building is pure (Node imports this module in tests/js); getJSON uses
 * fetch only when called. Every URL is relative to the page's own API (`ctx.api`): no other host, ever.
 */

/**
 * ligo-scald's data URL: `<api>/<kind>/<measurement>/<start>/<end>?column=&aggregate=&dt=&tag=<key>&<key>=<v>...
 * &tag_key=`. Times are whole GPS seconds, start rounded down and end up, so the window is always covered.
 * opts: {dt, tags (values of q.tag_key to read), tagKey (true: one answer per tag value)}.
 */
export function dataUrl(api, kind, q, start, end, opts = {}) {
  const p = new URLSearchParams();
  p.append("column", q.column);
  if (q.aggregate) p.append("aggregate", q.aggregate);
  if (opts.dt) p.append("dt", String(opts.dt));
  if (opts.tags && q.tag_key) {
    p.append("tag", q.tag_key);
    for (const t of opts.tags) p.append(q.tag_key, t);
  }
  if (opts.tagKey && q.tag_key) p.append("tag_key", q.tag_key);
  return `${api}/${kind}/${encodeURIComponent(q.measurement)}/${Math.floor(start)}/${Math.ceil(end)}?${p}`;
}

/** `<api>/checks/<name>` (what: "" ), `.../history`, or the Nagios document (`<api>/nagios/<name>`). */
export function checkUrl(api, name, what = "") {
  const enc = encodeURIComponent(name);
  if (what === "nagios") return `${api}/nagios/${enc}`;
  return `${api}/checks/${enc}${what ? `/${what}` : ""}`;
}

/** The answers on their way, by URL: one request for panels that ask the same URL at the same time. */
const inflight = new Map();

/**
 * GET a JSON document, never from a cache; an HTTP error is an Error naming the status and the API's message.
 * Callers asking the same URL while it is on its way share its one request (and its answer, which they only read):
 * two panels of one schema at one width (a TimeSeries and a BinnedTimeHistogram, say) ask the same URL on every
 * poll, and one day of ten jobs is 270 kB each time.
 */
export function getJSON(url) {
  let pending = inflight.get(url);
  if (!pending) {
    pending = fetchJSON(url).finally(() => inflight.delete(url));
    inflight.set(url, pending);
  }
  return pending;
}

async function fetchJSON(url) {
  const r = await fetch(url, { cache: "no-store", headers: { Accept: "application/json" } });
  let body = null;
  try {
    body = await r.json();
  } catch (e) {
    body = null;
  }
  if (!r.ok) throw new Error(`HTTP ${r.status}${body && body.error ? ": " + body.error : ""}`);
  return body;
}

/**
 * ligo-scald's table URL: `<api>/table/<measurement>/<start>/<end>?column=...&far=` — every column when `columns`
 * is empty (the server's default), `far` the FAR cut the server applies (rows at most that FAR).
 */
export function tableUrl(api, measurement, start, end, { columns = [], far = null } = {}) {
  const p = new URLSearchParams();
  for (const c of columns) p.append("column", c);
  if (far != null && Number.isFinite(far)) p.append("far", String(far));
  return `${api}/table/${encodeURIComponent(measurement)}/${Math.floor(start)}/${Math.ceil(end)}?${p}`;
}
