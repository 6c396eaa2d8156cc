// patch-worker's web page: plain JS, no build step. The API key stays in this tab's sessionStorage and is
// sent only as an Authorization header; data is put on the page with textContent (never as HTML).
"use strict";

const KEY = "patch-worker.key";
const POLL_MS = 1000;
const $ = (id) => document.getElementById(id);
let timer = null;
let view = null;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}

class SignedOut extends Error {}

async function api(path, options = {}) {
  const key = sessionStorage.getItem(KEY);
  if (!key) throw new SignedOut();
  const response = await fetch(path, { ...options, headers: { ...(options.headers || {}), Authorization: `Bearer ${key}` } });
  if (response.status === 401) { sessionStorage.removeItem(KEY); throw new SignedOut("the key was refused"); }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(body.error ? body.error.message : `HTTP ${response.status}`);
  }
  return response;
}
const getJson = async (path) => (await api(path)).json();

// --- figures -----------------------------------------------------------------------------------------------
function rate(batch) {
  if (!batch.startedAt || !batch.done) return null;
  const end = batch.finishedAt ? Date.parse(batch.finishedAt) : Date.now();
  const seconds = (end - Date.parse(batch.startedAt)) / 1000;
  return seconds > 0 ? batch.done / seconds : null;
}
function eta(batch) {
  const r = rate(batch);
  if (batch.finishedAt || !r || !batch.total) return "";
  const left = (batch.total - batch.done) / r;
  return left < 90 ? `${Math.ceil(left)} s` : left < 5400 ? `${Math.round(left / 60)} min` : `${(left / 3600).toFixed(1)} h`;
}
const fixed = (x) => (x == null ? "–" : Number(x).toFixed(1));
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");
const counts = (b) => `${b.counts.succeeded} / ${b.counts.failed} / ${b.counts.rejected}`;
function progressBar(batch) {
  const bar = el("progress", { max: "1", "aria-label": `Progress of ${batch.name || batch.id}` });
  if (batch.progress != null) bar.value = batch.progress;
  return bar;
}

// --- sign in -----------------------------------------------------------------------------------------------
function showSignIn(message = "") {
  stop();
  for (const id of ["list", "batch"]) $(id).hidden = true;
  $("signout").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message;
  $("key").focus();
}
$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY, $("key").value.trim());
  $("key").value = "";
  try { await getJson("/v1/batches?limit=1"); route(); }
  catch (error) { showSignIn(error instanceof SignedOut ? "That key was refused." : error.message); }
});
$("signout").addEventListener("click", () => { sessionStorage.removeItem(KEY); showSignIn(); });

// --- routing and polling -----------------------------------------------------------------------------------
function stop() { if (timer) clearTimeout(timer); timer = null; }
function poll(fn) {
  stop();
  const tick = async () => {
    try { await fn(); $("offline").textContent = ""; }
    catch (error) {
      if (error instanceof SignedOut) return showSignIn(error.message && "Your key was refused.");
      $("offline").textContent = `The service did not answer (${error.message}); trying again.`;
    }
    timer = setTimeout(tick, POLL_MS);
  };
  tick();
}
function route() {
  if (!sessionStorage.getItem(KEY)) return showSignIn();
  $("signin").hidden = true;
  $("signout").hidden = false;
  const match = location.hash.match(/^#\/batch\/([0-9a-f]{32})$/);
  $("list").hidden = !!match;
  $("batch").hidden = !match;
  view = match ? new BatchView(match[1]) : listView;
  view.open();
}
window.addEventListener("hashchange", route);

// --- the list ----------------------------------------------------------------------------------------------
const listView = {
  cursors: [null],
  open() { document.title = "Batches · patch-worker"; poll(() => this.load()); },
  query() {
    const state = $("state-filter").value;
    const cursor = this.cursors[this.cursors.length - 1];
    return `/v1/batches?limit=25${state ? `&state=${state}` : ""}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
  },
  async load() {
    const page = await getJson(this.query());
    const rows = page.batches.map((b) => el("tr", { "data-id": b.id },
      el("td", {}, el("a", { href: `#/batch/${b.id}` }, b.name || b.id.slice(0, 12))),
      el("td", {}, el("span", { class: `state ${b.state}` }, b.state)),
      el("td", {}, progressBar(b), ` ${b.done}/${b.total ?? "?"}`),
      el("td", {}, counts(b)), el("td", {}, fixed(rate(b))), el("td", {}, eta(b)), el("td", {}, when(b.createdAt))));
    if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: "7" }, "No batch.")));
    $("batches").tBodies[0].replaceChildren(...rows);
    this.next = page.next ? new URL(page.next, location.href).searchParams.get("cursor") : null;
    $("list-next").disabled = !this.next;
    $("list-first").disabled = this.cursors.length === 1;
  },
};
$("list-next").addEventListener("click", () => { listView.cursors.push(listView.next); listView.load(); });
$("list-first").addEventListener("click", () => { listView.cursors = [null]; listView.load(); });
$("state-filter").addEventListener("change", () => { listView.cursors = [null]; listView.load(); });

// --- upload ------------------------------------------------------------------------------------------------
function upload(file) {
  const xhr = new XMLHttpRequest();
  const bar = $("upload-progress");
  xhr.open("POST", `/v1/batches?name=${encodeURIComponent(file.name.slice(0, 200))}`);
  xhr.setRequestHeader("Authorization", `Bearer ${sessionStorage.getItem(KEY)}`);
  xhr.setRequestHeader("Content-Type", "application/x-ndjson");
  if (file.name.endsWith(".gz")) xhr.setRequestHeader("Content-Encoding", "gzip");
  bar.hidden = false;
  bar.value = 0;
  $("upload-status").textContent = `Uploading ${file.name}…`;
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = e.loaded / e.total; };
  xhr.onerror = () => { $("upload-status").textContent = "The upload failed: the service could not be reached."; };
  xhr.onload = () => {
    const body = JSON.parse(xhr.responseText || "{}");
    if (xhr.status === 401) { sessionStorage.removeItem(KEY); return showSignIn("Your key was refused."); }
    if (xhr.status !== 202) { $("upload-status").textContent = `The upload failed: ${body.error ? body.error.message : xhr.status}`; return; }
    bar.value = 1;
    $("upload-status").textContent = `Uploaded ${file.name}.`;
    location.hash = `#/batch/${body.id}`;
  };
  xhr.send(file);
}
$("file").addEventListener("change", (e) => { if (e.target.files[0]) upload(e.target.files[0]); e.target.value = ""; });
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  if (e.dataTransfer.files[0]) upload(e.dataTransfer.files[0]);
});

// --- one batch ---------------------------------------------------------------------------------------------
const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}
// The rate over the last two minutes (line), the paced rate (dashed), 429s (red ticks), pauses (shaded).
function sparkline(lane) {
  const w = 180, h = 36, points = lane.history;
  const top = Math.max(1, ...points.map((p) => Math.max(p.rate, p.paced || 0)));
  const x = (i) => (points.length < 2 ? w : (i / (points.length - 1)) * w);
  const y = (v) => h - 2 - (v / top) * (h - 4);
  const chart = svg("svg", { class: "spark", width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img" });
  const title = svg("title", {});
  const throttled = points.reduce((n, p) => n + p.throttled, 0);
  title.textContent = `${lane.lane} · ${lane.scope}: ${fixed(points.length ? points[points.length - 1].rate : 0)}/s now, peak ${fixed(top)}/s, ${throttled} 429s in the last ${points.length} s`;
  chart.append(title);
  points.forEach((p, i) => {
    if (p.paused) chart.append(svg("rect", { x: x(i) - 1.5, y: 0, width: 3, height: h, fill: "#fde68a" }));
    if (p.throttled) chart.append(svg("line", { x1: x(i), x2: x(i), y1: 0, y2: h, stroke: "#b42318", "stroke-width": 1.5, class: "throttled" }));
  });
  const line = (values, attrs) => chart.append(svg("polyline", { points: values.map((v, i) => `${x(i)},${y(v)}`).join(" "), fill: "none", ...attrs }));
  if (points.some((p) => p.paced != null)) line(points.map((p) => p.paced || 0), { stroke: "#4b5563", "stroke-dasharray": "3 2" });
  line(points.map((p) => p.rate), { stroke: "#0550ae", "stroke-width": 1.5 });
  return chart;
}

class BatchView {
  constructor(id) { this.id = id; this.cursors = [0]; this.seen = -1; }
  open() {
    $("lines").tBodies[0].replaceChildren();
    $("action-status").textContent = "";
    $("cancel").onclick = () => this.cancel();
    $("download").onclick = () => this.download();
    $("line-filter").onchange = () => { this.cursors = [0]; this.loadLines(); };
    $("lines-next").onclick = () => { this.cursors.push(this.next); this.loadLines(); };
    $("lines-first").onclick = () => { this.cursors = [0]; this.loadLines(); };
    poll(() => this.load());
  }
  async load() {
    const [batch, lanes] = await Promise.all([getJson(`/v1/batches/${this.id}`), getJson("/v1/lanes")]);
    this.show(batch);
    this.showLanes(lanes.lanes);
    const done = batch.counts.failed + batch.counts.rejected;
    if (done !== this.seen && this.cursors.length === 1) { this.seen = done; await this.loadLines(); }
  }
  show(b) {
    document.title = `${b.name || b.id} · patch-worker`;
    $("batch-title").textContent = b.name ? `${b.name}` : `Batch ${b.id}`;
    $("batch-state").textContent = b.state;
    $("batch-state").className = `state ${b.state}`;
    if (b.progress != null) $("batch-progress").value = b.progress;
    const r = rate(b);
    $("batch-figures").textContent = `${b.done} of ${b.total ?? "?"} lines · ${counts(b)} (ok / failed / rejected)` +
      (r ? ` · ${r.toFixed(1)} jobs/s` : "") + (eta(b) ? ` · ETA ${eta(b)}` : "");
    $("batch-error").textContent = b.error ? b.error.message : "";
    $("cancel").disabled = ["succeeded", "failed", "cancelled", "cancelling"].includes(b.state);
  }
  showLanes(lanes) {
    const rows = lanes.map((l) => el("tr", {},
      el("td", { class: "mono" }, `${l.lane} · ${l.scope}`), el("td", {}, fixed(l.history.length ? l.history[l.history.length - 1].rate : l.effectiveRate)),
      el("td", {}, fixed(l.pacedRate)), el("td", {}, fixed(l.measuredRate)), el("td", {}, l.throttled),
      el("td", {}, fixed(l.pausedS)), el("td", {}, l.inFlight ?? "–"),
      el("td", {}, l.latencyMs ? `${l.latencyMs.p50} / ${l.latencyMs.p95} / ${l.latencyMs.p99}` : "–"),
      el("td", {}, sparkline(l))));
    if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: "9" }, "No lane has sent yet.")));
    $("lanes").tBodies[0].replaceChildren(...rows);
  }
  async loadLines() {
    const cursor = this.cursors[this.cursors.length - 1];
    const page = await getJson(`/v1/batches/${this.id}/lines?status=${$("line-filter").value}&limit=50&cursor=${cursor}`);
    const rows = page.lines.map((r) => {
      const error = r.error || {};
      const first = Array.isArray(error.detail) && error.detail.length ? error.detail[0] : {};
      return el("tr", {}, el("td", {}, r.line), el("td", { class: "mono" }, r.jobId), el("td", {}, r.status),
        el("td", {}, r.httpStatus ?? ""), el("td", {}, error.kind || ""), el("td", { class: "mono" }, first.loc || ""),
        el("td", { class: "msg" }, first.message || error.message || ""));
    });
    if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: "7" }, "No such line so far.")));
    $("lines").tBodies[0].replaceChildren(...rows);
    this.next = page.cursor;
    $("lines-next").disabled = page.cursor == null;
    $("lines-first").disabled = this.cursors.length === 1;
  }
  async cancel() {
    $("cancel").disabled = true;
    try { await api(`/v1/batches/${this.id}`, { method: "DELETE" }); $("action-status").textContent = "Cancelling…"; }
    catch (error) { $("action-status").textContent = `Cancel failed: ${error.message}`; }
  }
  async download() {
    $("action-status").textContent = "Downloading…";
    try {
      const blob = await (await api(`/v1/batches/${this.id}/results`)).blob();
      const link = el("a", { href: URL.createObjectURL(blob), download: `${this.id}.results.jsonl` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
      $("action-status").textContent = "Downloaded.";
    } catch (error) {
      $("action-status").textContent = `Download failed: ${error.message}`;
    }
  }
}

route();
