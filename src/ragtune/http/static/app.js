// The ragtune page: pick an index and a model, ask, read the cited answer (Markdown, rendered as DOM nodes); each
// citation shows its document, page and quoted passage, and a marker opens its source chunk; a question can be
// linked (?index=...&q=...); decisions, eval runs and the advisor run as jobs whose reports open in the page.
// Document text is always inserted as text (textContent), never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(window.location.search);
let citations = new Map();

function headers(json) {
  const h = json ? { "Content-Type": "application/json" } : {};
  const key = $("key").value.trim();
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

function status(text, isError) {
  $("status").textContent = text || "";
  $("status").className = isError ? "error" : "";
  $("status").title = "";
}

async function problem(response) {
  try { return (await response.json()).detail || response.statusText; } catch (e) { return response.statusText; }
}

async function loadIndexes() {
  const select = $("index");
  const wanted = params.get("index") || select.value;
  select.replaceChildren();
  const response = await fetch("/v1/indexes", { headers: headers(false) });
  if (!response.ok) { status(await problem(response), true); return; }
  const indexes = await response.json();
  for (const ix of indexes) {
    const option = document.createElement("option");
    option.value = ix.name;
    option.textContent = `${ix.name} (${ix.documents} documents)`;
    select.append(option);
  }
  if (indexes.some((ix) => ix.name === wanted)) select.value = wanted;
  status(indexes.length ? "" : "No index this key may use.", !indexes.length);
}

async function loadModels() {
  const select = $("model");
  const response = await fetch("/v1/models", { headers: headers(false) });
  if (!response.ok) return;
  const doc = await response.json();
  const wanted = params.get("model") || select.value || doc.default;
  select.replaceChildren();
  for (const spec of doc.models) {
    const option = document.createElement("option");
    option.value = spec;
    option.textContent = spec === doc.default ? `${spec} (default)` : spec;
    select.append(option);
  }
  if (doc.models.includes(wanted)) select.value = wanted;
  const evalModel = $("eval-model");
  evalModel.replaceChildren(...[...select.options].map((o) => o.cloneNode(true)));
  if (doc.models.includes(doc.default)) evalModel.value = doc.default;
}

// A document's name for people: its title when it has one, else its id; the page when it has one.
function sourceLabel(c) {
  return (c.title || c.doc_id || c.source) + (c.page ? `, page ${c.page}` : "");
}

function showSource(marker, button) {
  const c = citations.get(marker);
  if (!c) return;
  document.querySelectorAll("button.marker").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.marker === String(marker))));
  $("source-marker").textContent = `[${marker}]`;
  $("source-name").textContent = c.title || c.source;
  $("source-page").textContent = c.page ? `page ${c.page}` : "";
  $("source-chunk").textContent = c.chunk_id;
  $("source-support").textContent = Number(c.support).toFixed(2);
  $("source-text").textContent = c.text;
  const panel = $("source");
  panel.hidden = false;
  // The passage opens right under the answer, beside the marker that was clicked.
  (button && button.closest("#sources") ? button.closest("li") : $("answer")).after(panel);
  panel.scrollIntoView({ block: "nearest" });
}

function markerButton(marker) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "marker";
  button.dataset.marker = marker;
  button.textContent = marker;
  button.setAttribute("aria-label", `source ${marker}`);
  button.addEventListener("click", () => showSource(marker, button));
  return button;
}

function renderAnswer(doc) {
  citations = new Map(doc.citations.map((c) => [c.marker, c]));
  window.renderMarkdown($("answer"), doc.answer, (n) => (citations.has(n) ? markerButton(n) : null));
  const list = $("sources");
  list.replaceChildren();
  for (const c of doc.citations) {
    const item = document.createElement("li");
    const where = document.createElement("span");
    where.className = "where";
    where.textContent = sourceLabel(c);
    const quote = document.createElement("q");
    quote.textContent = (c.quote || c.text).replace(/\*\*|__|`/g, "");  // the passage as read, without Markdown marks
    item.append(markerButton(c.marker), where, quote);
    list.append(item);
  }
  if (doc.abstained) {
    status("No answer: the documents in this index do not cover this question well enough.");
    $("status").title = doc.abstain_reason || "";
  } else {
    status(`${doc.model} · ${Math.round((doc.latency_ms || {}).total || 0)} ms`);
  }
}

function setPermalink(index, question) {
  const url = new URL(window.location.href);
  url.search = new URLSearchParams({ index, q: question, model: $("model").value || "" }).toString();
  history.replaceState(null, "", url);
  $("permalink").href = url.toString();
  $("permalink").hidden = false;
}

async function ask(event) {
  if (event) event.preventDefault();
  const index = $("index").value;
  const question = $("question").value.trim();
  if (!index || !question) return;
  $("answer").replaceChildren();
  $("sources").replaceChildren();
  $("source").hidden = true;
  status("Thinking…");
  $("ask").disabled = true;
  setPermalink(index, question);
  const body = { question };
  if ($("model").value) body.model = $("model").value;
  let streamed = "";
  try {
    const response = await fetch(`/v1/indexes/${encodeURIComponent(index)}/ask/stream`, {
      method: "POST", headers: headers(true), body: JSON.stringify(body),
    });
    if (!response.ok) { status(await problem(response), true); return; }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let kind = "message", data = "";
        for (const line of frame.split("\n")) {
          if (line.startsWith("event: ")) kind = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
        }
        if (!data) continue;
        const payload = JSON.parse(data);
        if (kind === "delta") { streamed += payload.text; window.renderMarkdown($("answer"), streamed, null); }
        else if (kind === "answer") renderAnswer(payload);
        else if (kind === "error") status(payload.detail, true);
      }
    }
  } catch (e) {
    status(String(e), true);
  } finally {
    $("ask").disabled = false;
  }
}

let jobsTimer = null;
const awaited = new Set();  // jobs started from this page: their report is shown here when they succeed

function jobsStatus(text, isError) {
  $("jobs-status").textContent = text || "";
  $("jobs-status").className = isError ? "error" : "";
}

function renderJob(job) {
  const item = document.createElement("li");
  item.className = job.status;
  item.dataset.job = job.id;
  const state = document.createElement("span");
  state.className = "state";
  state.textContent = job.status;
  const p = job.progress || {};
  const detail = job.status === "running" && p.total ? ` (${p.stage} ${p.done}/${p.total})` : "";
  const when = new Date(job.created_at).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
  item.append(document.createTextNode(`${job.kind} · ${when} · `), state, document.createTextNode(detail));
  if (job.status === "succeeded" && job.kind === "decide") {
    item.append(document.createTextNode(` → ${job.summary.recommendation || "no pick"} (measured; rules of thumb: ${job.summary.rules_recommendation})`));
  }
  if (job.status === "succeeded" && job.kind === "advise") {
    item.append(document.createTextNode(` → ${job.summary.recommendation}`));
  }
  if (job.error) item.append(document.createTextNode(`: ${job.error}`));
  for (const [kind, label] of [["html", "report"], ["markdown", "markdown"], ["json", "json"]]) {
    if (!job.links || !job.links[kind]) continue;
    const a = document.createElement("a");
    a.href = job.links[kind];
    a.target = "_blank";
    a.rel = "noopener";
    a.className = `link-${kind}`;
    a.textContent = label;
    item.append(a);
  }
  if (job.links && job.links.html) {
    const show = document.createElement("button");
    show.type = "button";
    show.className = "show-report";
    show.textContent = "show";
    show.addEventListener("click", () => showReport(job.links.html));
    item.append(show);
  }
  return item;
}

function showReport(href) {
  $("report").src = href;
  $("report-open").href = href;
  $("report-panel").hidden = false;
  $("report-panel").scrollIntoView({ block: "start" });
}

async function refreshJobs() {
  clearTimeout(jobsTimer);
  const index = $("index").value;
  if (!index) { $("jobs").replaceChildren(); return; }
  const response = await fetch(`/v1/jobs?index=${encodeURIComponent(index)}`, { headers: headers(false) });
  if (!response.ok) { jobsStatus(await problem(response), true); return; }
  const jobs = await response.json();
  $("jobs").replaceChildren(...jobs.map(renderJob));
  for (const job of jobs) {
    if (!awaited.has(job.id) || job.status === "queued" || job.status === "running") continue;
    awaited.delete(job.id);
    if (job.status === "succeeded" && job.links && job.links.html) showReport(job.links.html);
  }
  if (jobs.some((j) => j.status === "queued" || j.status === "running")) jobsTimer = setTimeout(refreshJobs, 1000);
}

async function startJob(kind, body) {
  const index = $("index").value;
  if (!index) return;
  const response = await fetch(`/v1/indexes/${encodeURIComponent(index)}/${kind}`, {
    method: "POST", headers: headers(true), body: JSON.stringify(body),
  });
  if (!response.ok) { jobsStatus(await problem(response), true); return; }
  const job = await response.json();
  if (job && job.id) awaited.add(job.id);
  jobsStatus(`${kind} started: its report is shown below when it is done`);
  refreshJobs();
}

async function advise(event) {
  event.preventDefault();
  const body = { queries_per_month: Number($("queries").value) };
  if ($("attribution").checked) body.attribution_required = true;
  await startJob("advise", body);
}

// The rows of a JSONL file, or null after saying which line is not JSON.
async function readJsonl(file) {
  const rows = [];
  const lines = (await file.text()).split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].trim()) continue;
    try { rows.push(JSON.parse(lines[i])); } catch (e) { jobsStatus(`${file.name}:${i + 1}: not valid JSON`, true); return null; }
  }
  return rows;
}

async function runEval(event) {
  event.preventDefault();
  const file = $("eval-file").files[0];
  if (!file) return;
  const questions = await readJsonl(file);
  if (!questions) return;
  const variants = [...document.querySelectorAll("input[name=eval-variant]:checked")].map((e) => e.value);
  if (!variants.length) { jobsStatus("choose at least one variant", true); return; }
  const body = { questions, variants: variants.join(",") };
  if ($("eval-model").value) body.model = $("eval-model").value;
  if ($("eval-tuned").value.trim()) body.tuned = $("eval-tuned").value.trim();
  if ($("eval-k").value) body.k = Number($("eval-k").value);
  await startJob("eval", body);
}

async function runDecide(event) {
  event.preventDefault();
  const file = $("decide-questions").files[0];
  if (!file) return;
  const questions = await readJsonl(file);
  if (!questions) return;
  const body = { questions, candidates: $("decide-candidates").value.trim() || "base,prompt,rag,ft,rag+ft",
                 budget_s: Math.round(60 * (Number($("decide-budget").value) || 0)), queries_per_month: Number($("decide-queries").value) };
  const examplesFile = $("decide-examples").files[0];
  if (examplesFile) {
    const examples = await readJsonl(examplesFile);
    if (!examples) return;
    body.examples = examples;
  }
  if ($("decide-attribution").checked) body.attribution_required = true;
  await startJob("decide", body);
}

document.addEventListener("DOMContentLoaded", () => {
  $("key").value = sessionStorage.getItem("ragtune-key") || "";
  $("key").addEventListener("change", () => {
    sessionStorage.setItem("ragtune-key", $("key").value.trim());
    start();
  });
  $("question").value = params.get("q") || "";
  $("question").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) ask(e); });
  $("ask-form").addEventListener("submit", ask);
  $("advise-form").addEventListener("submit", advise);
  $("eval-form").addEventListener("submit", runEval);
  $("decide-form").addEventListener("submit", runDecide);
  $("index").addEventListener("change", refreshJobs);
  start();
});

// Load what the key may see; a question given in the address (?q=...&index=...) is asked at once.
async function start() {
  await Promise.all([loadIndexes(), loadModels()]);
  refreshJobs();
  if (params.get("q") && $("index").value && !$("answer").hasChildNodes()) ask();
}
