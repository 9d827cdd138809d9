// linkage investigator page: plain JS over the JSON API; no build step.
// Every value from the API is inserted as text (never as HTML).
"use strict";

const KEY_STORE = "linkage.apiKey";
const PAGE = 25;
// the service's entity types (linkage.investigate.ENTITY_TYPES) and node labels (a test checks both)
const ENTITY_TYPES = ["ip", "prefix", "device", "card", "bin", "email_domain", "api_key",
  "identifier", "template", "prompt_cluster", "rhythm", "cosession", "coactive", "signup"];
const COLORS = {
  Account: "#4f6bed", IP: "#e8833a", IPPrefix: "#f2b880", Device: "#3aa57a",
  ApiKey: "#8d6e63", PaymentInstrument: "#d64545", BIN: "#f08c8c", EmailDomain: "#9b59b6",
  Identifier: "#16a2b8", PromptTemplate: "#c9a227", PromptCluster: "#7f8c8d", ActivityRhythm: "#5d6d7e",
  SessionPattern: "#2e86c1", ActiveHoursPattern: "#76448a", SignupBurst: "#a04000",
};

const state = { offset: 0, count: 0, cy: null };
window.linkage = state;

function $(id) { return document.getElementById(id); }

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "onclick") node.addEventListener("click", v);
    else if (k === "class") node.className = v;
    else if (k === "style") node.style.cssText = v;  // CSSOM: allowed by the page's CSP
    else node.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
function fmt(x, digits = 3) { return typeof x === "number" ? x.toFixed(digits) : (x ?? "–"); }
function num(x) { return typeof x === "number" ? x.toLocaleString("en") : "–"; }

class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

async function api(path) {
  const key = sessionStorage.getItem(KEY_STORE);
  const resp = await fetch(path, { headers: { "X-API-Key": key || "" } });
  if (resp.status === 401) {
    sessionStorage.removeItem(KEY_STORE);
    askKey("That key was not accepted.");
    throw new ApiError(401, "unauthorised");
  }
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const d = body.detail;
    const msg = Array.isArray(d) ? d.map((x) => `${(x.loc || []).join(".")}: ${x.msg}`).join("; ") : d;
    throw new ApiError(resp.status, msg || `HTTP ${resp.status}`);
  }
  return body;
}

function showError(err) {
  if (err instanceof ApiError && err.status === 401) return;
  $("status").textContent = err.message || String(err);
}

function askKey(message) {
  $("app").hidden = true;
  $("key-panel").hidden = false;
  $("key-error").textContent = message || "";
  $("key-input").focus();
}

function show(view) {
  $("status").textContent = "";
  for (const id of ["list-view", "campaign-view", "result-view"]) $(id).hidden = id !== view;
}

// -- campaign list -----------------------------------------------------------

async function loadCampaigns() {
  show("list-view");
  const q = new URLSearchParams({
    min_score: $("f-score").value || "0", min_size: $("f-size").value || "0",
    sort: $("f-sort").value, limit: String(PAGE), offset: String(state.offset),
  });
  const page = await api(`/campaigns?${q}`);
  state.count = page.count;
  $("campaign-count").textContent = `(${num(page.count)}; ${state.offset + 1}-${state.offset + page.data.length})`;
  const body = clear($("campaigns").tBodies[0]);
  for (const c of page.data) {
    const row = el("tr", { "data-campaign": c.campaign_id, onclick: () => openCampaign(c.campaign_id).catch(showError) },
      el("td", {}, c.campaign_id), el("td", {}, num(c.size)), el("td", {}, fmt(c.score)),
      el("td", {}, num(c.request_count)), el("td", {}, c.reasons.slice(0, 2).join("; ")));
    body.append(row);
  }
  if (!page.data.length) body.append(el("tr", {}, el("td", { colspan: "5" }, "No campaign matches.")));
}

// -- campaign view -----------------------------------------------------------

async function openCampaign(id) {
  show("campaign-view");
  $("campaign-title").textContent = `Campaign ${id}`;
  clear($("details")).append(el("p", { class: "muted" }, "Click a node for its details and why it is linked."));
  const [c, g] = await Promise.all([
    api(`/campaigns/${encodeURIComponent(id)}`),
    api(`/campaigns/${encodeURIComponent(id)}/subgraph?max_nodes=250&max_edges=1500`),
  ]);
  $("campaign-title").textContent =
    `Campaign ${c.campaign_id}: ${num(c.size)} accounts, score ${fmt(c.score)}, ${num(c.flagged)} flagged`;
  const reasons = clear($("reasons"));
  for (const r of c.reasons) reasons.append(el("li", {}, r));
  const contrib = Object.entries(c.contributions || {}).filter(([, v]) => Math.abs(v) >= 0.005)
    .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
  $("contributions").textContent = contrib.length
    ? `Score contributions: ${contrib.map(([k, v]) => `${k} ${v >= 0 ? "+" : ""}${fmt(v, 2)}`).join(", ")}`
    : "";
  drawTimeline(c.timeline);
  drawIndicators(c.indicators);
  drawGraph(g);
}

function drawTimeline(days) {
  const box = clear($("timeline"));
  const top = Math.max(1, ...days.map((d) => d.requests));
  for (const d of days) {
    box.append(el("span", {
      class: "bar", title: `${d.day}: ${d.requests} requests, ${d.accounts} accounts`,
      style: `height:${Math.max(2, Math.round((78 * d.requests) / top))}px`,
    }));
  }
}

function drawIndicators(groups) {
  const box = clear($("indicators"));
  const table = el("table", {}, el("thead", {}, el("tr", {},
    el("th", {}, "type"), el("th", {}, "indicator"), el("th", {}, "members"),
    el("th", {}, "share"), el("th", {}, "outside accounts"))));
  const body = el("tbody");
  for (const [type, items] of Object.entries(groups)) {
    for (const i of items.slice(0, 5)) {
      body.append(el("tr", {}, el("td", {}, type),
        el("td", {}, entityButton({ ...i, entity_type: type })),
        el("td", {}, num(i.members)), el("td", {}, fmt(i.member_share, 2)), el("td", {}, num(i.outside_accounts))));
    }
  }
  table.append(body);
  box.append(table);
}

function drawGraph(g) {
  const note = g.truncated ? `Showing ${g.nodes.length} of ${g.total_nodes} nodes. ${g.sampling || ""}`
    : `${g.nodes.length} nodes, ${g.edges.length} edges.`;
  $("graph-note").textContent = note;
  const elements = [];
  for (const n of g.nodes) {
    elements.push({ group: "nodes", data: { id: n.id, label: n.label, key: n.key, props: n.properties,
      flagged: n.properties.flagged ? 1 : 0 } });
  }
  g.edges.forEach((e, i) => {
    elements.push({ group: "edges", data: { id: `e${i}`, source: e.source, target: e.target, type: e.type,
      weight: e.properties.weight || 0.2, props: e.properties } });
  });
  if (state.cy) state.cy.destroy();
  state.cy = cytoscape({
    container: $("cy"),
    elements,
    wheelSensitivity: 0.3,
    style: [
      { selector: "node", style: { "background-color": (n) => COLORS[n.data("label")] || "#999",
        width: 10, height: 10, "border-width": 0 } },
      { selector: "node[label = 'Account']", style: { width: 14, height: 14 } },
      { selector: "node[flagged = 1]", style: { "border-width": 2, "border-color": "#b00020" } },
      { selector: "node:selected", style: { "border-width": 3, "border-color": "#111", width: 20, height: 20 } },
      { selector: "edge", style: { width: 0.5, "line-color": "#c3c8d2", "curve-style": "haystack", opacity: 0.6 } },
      { selector: "edge[type = 'LINKED']", style: { width: "mapData(weight, 0, 5, 0.5, 4)", "line-color": "#4f6bed", opacity: 0.5 } },
    ],
    layout: { name: "cose", animate: false, randomize: false, numIter: 400, nodeRepulsion: () => 6000 },
  });
  state.cy.on("tap", "node", (evt) => showNode(evt.target.data()).catch(showError));
  const legend = clear($("legend"));
  const labels = [...new Set(g.nodes.map((n) => n.label))];
  for (const l of labels) legend.append(el("span", {}, el("i", { style: `background:${COLORS[l] || "#999"}` }), l));
}

async function showNode(d) {
  const box = clear($("details"));
  box.append(el("p", { class: "muted" }, "Loading..."));
  if (d.label === "Account") {
    const a = await api(`/accounts/${encodeURIComponent(d.key)}?max_links=25&max_entities=15`);
    renderAccount(clear(box), a);
  } else {
    const type = d.props.entity_type;
    const e = await api(`/entities/${encodeURIComponent(type)}/${encodeURIComponent(d.key)}?limit=50`);
    renderEntity(clear(box), e);
  }
}

// an entity as a link that opens it: its readable text, its key on hover
function entityButton(e) {
  return el("button", { class: "linklike", title: `${e.entity_type}:${e.entity}`,
    onclick: () => openEntity(e.entity_type, e.entity).catch(showError) }, e.text || e.entity);
}

function accountButton(id) {
  return el("button", { class: "linklike", onclick: () => openAccount(id).catch(showError) }, id);
}

function renderAccount(box, a) {
  const acc = a.account;
  box.append(el("h3", { "data-testid": "details-title" }, `Account ${acc.account_id}`));
  box.append(el("p", {}, `status ${acc.status}, created ${acc.created_at || "–"}, ${num(acc.request_count)} requests, `
    + `score ${fmt(acc.score)}${acc.flagged ? ", flagged" : ""}`));
  if (a.campaign) {
    box.append(el("p", {}, "Campaign ",
      el("button", { class: "linklike", onclick: () => openCampaign(a.campaign.campaign_id).catch(showError) }, a.campaign.campaign_id),
      ` (score ${fmt(a.campaign.score)}, ${num(a.campaign.size)} accounts)`));
    const ol = el("ol");
    for (const r of a.campaign.reasons.slice(0, 4)) ol.append(el("li", {}, r));
    box.append(ol);
  } else {
    box.append(el("p", { class: "muted" }, "In no reported campaign."));
  }
  box.append(el("h4", { "data-testid": "why-linked" }, `Why linked (${a.links.length} of ${num(a.links_total)} linked accounts)`));
  for (const l of a.links) {
    const ev = el("ul", { class: "evidence" });
    for (const e of l.evidence) {
      ev.append(el("li", {}, `${e.entity_type} `, entityButton(e),
        ` +${fmt(e.weight)} (used by ${num(e.accounts)} accounts${e.kind ? `, ${e.kind}` : ""})`));
    }
    box.append(el("div", { class: "link" }, accountButton(l.account_id),
      ` weight ${fmt(l.weight)} via ${l.signals.join(", ")}`, ev));
  }
  box.append(el("h4", {}, `Used (${a.entities.length} of ${num(a.entities_total)})`));
  const ul = el("ul");
  for (const e of a.entities) {
    ul.append(el("li", {}, `${e.entity_type} `, entityButton(e),
      ` x${num(e.uses)}, shared by ${num(e.accounts)}`));
  }
  box.append(ul);
}

function renderEntity(box, e) {
  const ent = e.entity;
  box.append(el("h3", { "data-testid": "details-title" }, `${ent.label} ${ent.text || ent.entity}`));
  if (ent.text && ent.text !== ent.entity) box.append(el("p", { class: "muted" }, `key ${ent.entity}`));
  box.append(el("p", {}, `${num(ent.accounts)} accounts, ${num(ent.uses)} uses, ${ent.first_seen || "–"} to ${ent.last_seen || "–"}`
    + `${ent.kind ? `, ${ent.kind}` : ""}${ent.weight != null ? `, evidence weight ${fmt(ent.weight)}` : ""}`));
  if (ent.parent) {
    box.append(el("p", {}, "In ", el("button", { class: "linklike",
      onclick: () => openEntity(ent.parent.entity_type, ent.parent.entity).catch(showError) },
      `${ent.parent.entity_type} ${ent.parent.entity}`)));
  }
  const table = el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "account"), el("th", {}, "campaign"),
    el("th", {}, "score"), el("th", {}, "uses"), el("th", {}, "first"), el("th", {}, "last"))));
  const body = el("tbody");
  for (const a of e.data) {
    body.append(el("tr", {}, el("td", {}, accountButton(a.account_id)), el("td", {}, a.campaign_id || "–"),
      el("td", {}, fmt(a.score)), el("td", {}, num(a.uses)), el("td", {}, a.first_seen || "–"), el("td", {}, a.last_seen || "–")));
  }
  table.append(body);
  box.append(table);
  if (e.count > e.data.length) box.append(el("p", { class: "muted" }, `${e.data.length} of ${num(e.count)} accounts shown.`));
}

async function openAccount(id) {
  show("result-view");
  const a = await api(`/accounts/${encodeURIComponent(id)}?max_links=50&max_entities=50`);
  renderAccount(clear($("result")), a);
}

async function openEntity(type, value) {
  show("result-view");
  const e = await api(`/entities/${encodeURIComponent(type)}/${encodeURIComponent(value)}?limit=100`);
  renderEntity(clear($("result")), e);
}

async function search(q) {
  q = q.trim();
  if (!q) return;
  const colon = q.indexOf(":");
  if (colon > 0 && ENTITY_TYPES.includes(q.slice(0, colon))) {
    return openEntity(q.slice(0, colon), q.slice(colon + 1));
  }
  for (const attempt of [() => openAccount(q), ...ENTITY_TYPES.map((t) => () => openEntity(t, q))]) {
    try { return await attempt(); } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404) throw err;
    }
  }
  show("result-view");
  clear($("result")).append(el("p", { "data-testid": "not-found" }, `Nothing called "${q}" in this result.`));
}

// -- wiring ------------------------------------------------------------------

function start() {
  $("key-panel").hidden = true;
  $("app").hidden = false;
  state.offset = 0;
  loadCampaigns().catch(showError);
}

$("key-form").addEventListener("submit", (evt) => {
  evt.preventDefault();
  const key = $("key-input").value.trim();
  if (!key) return;
  sessionStorage.setItem(KEY_STORE, key);
  $("key-input").value = "";
  start();
});
$("logout").addEventListener("click", () => { sessionStorage.removeItem(KEY_STORE); askKey(""); });
$("home").addEventListener("click", (evt) => { evt.preventDefault(); loadCampaigns().catch(showError); });
$("f-apply").addEventListener("click", () => { state.offset = 0; loadCampaigns().catch(showError); });
$("prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE); loadCampaigns().catch(showError); });
$("next").addEventListener("click", () => {
  if (state.offset + PAGE < state.count) { state.offset += PAGE; loadCampaigns().catch(showError); }
});
$("search-form").addEventListener("submit", (evt) => {
  evt.preventDefault();
  search($("search").value).catch(showError);
});

if (sessionStorage.getItem(KEY_STORE)) start(); else askKey("");
