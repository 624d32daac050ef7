// The ragtune page: pick an index, ask, read the cited answer; click a marker to see its source chunk;
// start eval runs, decisions and the advisor as jobs and open their reports.
// Document text is always inserted as text (textContent), never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
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
}

async function problem(response) {
  try { return (await response.json()).detail || response.statusText; } catch (e) { return response.statusText; }
}

async function loadIndexes() {
  const select = $("index");
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
  status(indexes.length ? "" : "No index this key may use.", !indexes.length);
}

function showSource(marker, button) {
  const c = citations.get(marker);
  if (!c) return;
  document.querySelectorAll("button.marker").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
  $("source-marker").textContent = `[${marker}]`;
  $("source-name").textContent = c.source;
  $("source-page").textContent = c.page ? `page ${c.page}` : "";
  $("source-chunk").textContent = c.chunk_id;
  $("source-support").textContent = Number(c.support).toFixed(2);
  $("source-text").textContent = c.text;
  $("source").hidden = false;
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
  const out = $("answer");
  out.replaceChildren();
  // Split on [n] markers; text pieces become text nodes, markers of real citations become buttons.
  const parts = doc.answer.split(/\[(\d+)\]/);
  parts.forEach((part, i) => {
    if (i % 2 === 0) out.append(document.createTextNode(part));
    else if (citations.has(Number(part))) out.append(markerButton(Number(part)));
    else out.append(document.createTextNode(`[${part}]`));
  });
  const list = $("sources");
  list.replaceChildren();
  for (const c of doc.citations) {
    const item = document.createElement("li");
    item.append(markerButton(c.marker), document.createTextNode(` ${c.source}${c.page ? ", page " + c.page : ""}`));
    list.append(item);
  }
  status(doc.abstained ? `No answer: ${doc.abstain_reason || "not enough support in the documents"}` : "");
}

async function ask(event) {
  event.preventDefault();
  const index = $("index").value;
  const question = $("question").value.trim();
  if (!index || !question) return;
  $("answer").replaceChildren();
  $("sources").replaceChildren();
  $("source").hidden = true;
  status("Thinking…");
  $("ask").disabled = true;
  try {
    const response = await fetch(`/v1/indexes/${encodeURIComponent(index)}/ask/stream`, {
      method: "POST", headers: headers(true), body: JSON.stringify({ question }),
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
        if (kind === "delta") $("answer").append(document.createTextNode(payload.text));
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
  item.append(document.createTextNode(`${job.kind} · ${job.created_at} · `), state, document.createTextNode(detail));
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
  return item;
}

async function refreshJobs() {
  clearTimeout(jobsTimer);
  const index = $("index").value;
  if (!index) { $("jobs").replaceChildren(); return; }
  const response = await fetch(`/v1/jobs?index=${encodeURIComponent(index)}`, { headers: headers(false) });
  if (!response.ok) { jobsStatus(await problem(response), true); return; }
  const jobs = await response.json();
  $("jobs").replaceChildren(...jobs.map(renderJob));
  if (jobs.some((j) => j.status === "queued" || j.status === "running")) jobsTimer = setTimeout(refreshJobs, 1000);
}

async function startJob(kind, body) {
  const index = $("index").value;
  if (!index) return;
  const response = await fetch(`/v1/indexes/${encodeURIComponent(index)}/${kind}`, {
    method: "POST", headers: headers(true), body: JSON.stringify(body),
  });
  if (!response.ok) { jobsStatus(await problem(response), true); return; }
  jobsStatus(`${kind} started`);
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
  if (questions) await startJob("eval", { questions, variants: $("variants").value.trim() || "base,rag" });
}

async function runDecide(event) {
  event.preventDefault();
  const file = $("decide-questions").files[0];
  if (!file) return;
  const questions = await readJsonl(file);
  if (!questions) return;
  const body = { questions, candidates: $("decide-candidates").value.trim() || "base,prompt,rag,ft,rag+ft",
                 budget_s: Number($("decide-budget").value) || 0, queries_per_month: Number($("decide-queries").value) };
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
    loadIndexes().then(refreshJobs);
  });
  $("ask-form").addEventListener("submit", ask);
  $("advise-form").addEventListener("submit", advise);
  $("eval-form").addEventListener("submit", runEval);
  $("decide-form").addEventListener("submit", runDecide);
  $("index").addEventListener("change", refreshJobs);
  loadIndexes().then(refreshJobs);
});
