// linkage investigator page: plain JS over the JSON API; no build step.
// Every value from the API is inserted as text (never as HTML).
// Views are hash routes, so Back and shared links work:
//   #/  (list; ?offset=&sort=&min_score=&min_size=)   #/campaigns/<id>
//   #/accounts/<id>   #/entities/<type>/<value>   (segments URI-encoded)
"use strict";

const KEY_STORE = "linkage.apiKey";
const PAGE = 25;
const GRAPH_QUERY = "max_nodes=250&max_edges=1500";
const EXPORT_GRAPH_QUERY = "max_nodes=1000&max_edges=10000&format=graphml";
// the service's entity types (linkage.investigate.ENTITY_TYPES) and node labels (a test checks both)
const ENTITY_TYPES = ["ip", "prefix", "device", "card", "bin", "email_domain", "api_key",
  "identifier", "template", "prompt_cluster", "rhythm", "cosession", "coactive", "signup"];
const COLORS = {
  Account: "#4f6bed", IP: "#e8833a", IPPrefix: "#f2b880", Device: "#3aa57a",
  ApiKey: "#8d6e63", PaymentInstrument: "#d64545", BIN: "#f08c8c", EmailDomain: "#9b59b6",
  Identifier: "#16a2b8", PromptTemplate: "#c9a227", PromptCluster: "#7f8c8d", ActivityRhythm: "#5d6d7e",
  SessionPattern: "#2e86c1", ActiveHoursPattern: "#76448a", SignupBurst: "#a04000",
};
const EDGE_TEXT = {
  LINKED: "account–account evidence (width: weight)", IN_PREFIX: "IP in prefix", HAS_BIN: "card in BIN",
};
const ACTIONS = { campaign: ["confirm", "dismiss", "watch"], account: ["confirm", "dismiss"] };

const state = { offset: 0, count: 0, cy: null, me: null, route: null, campaign: null, seq: 0 };
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
const enc = encodeURIComponent;

class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

async function request(path, options = {}) {
  const key = sessionStorage.getItem(KEY_STORE);
  const headers = { "X-API-Key": key || "", ...(options.headers || {}) };
  const resp = await fetch(path, { ...options, headers });
  if (resp.status === 401) {
    sessionStorage.removeItem(KEY_STORE);
    askKey("That key was not accepted.");
    throw new ApiError(401, "unauthorised");
  }
  if (!resp.ok) {
    const body = await resp.json().catch(() => ({}));
    const d = body.detail;
    const msg = Array.isArray(d) ? d.map((x) => `${(x.loc || []).join(".")}: ${x.msg}`).join("; ") : d;
    throw new ApiError(resp.status, msg || `HTTP ${resp.status}`);
  }
  return resp;
}

async function api(path) { return (await request(path)).json(); }

async function post(path, body) {
  const resp = await request(path, { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body) });
  return resp.json();
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

// -- routes ------------------------------------------------------------------

const route = {
  list: (q) => `#/${q && String(q) ? `?${q}` : ""}`,
  campaign: (id) => `#/campaigns/${enc(id)}`,
  account: (id) => `#/accounts/${enc(id)}`,
  entity: (type, value) => `#/entities/${enc(type)}/${enc(value)}`,
};

function go(hash) {
  if (location.hash === hash) render().catch(showError);
  else location.hash = hash;  // hashchange renders it, and Back returns here
}

function link(text, hash, attrs = {}) {
  return el("a", { href: hash, class: "linklike", ...attrs }, text);
}

// the view of the current hash: [name, ...decoded segments], query
function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query] = raw.split("?", 2);
  const parts = path.split("/").filter((p) => p !== "").map((p) => decodeURIComponent(p));
  return { parts, query: new URLSearchParams(query || "") };
}

async function render() {
  let parsed;
  try { parsed = parseHash(); } catch (err) { show("list-view"); throw new Error("That link is malformed."); }
  const { parts, query } = parsed;
  state.route = parts;
  state.seq += 1;
  if (parts[0] === "campaigns" && parts.length === 2) return openCampaign(parts[1]);
  if (parts[0] === "accounts" && parts.length === 2) return openAccount(parts[1]);
  if (parts[0] === "entities" && parts.length === 3) return openEntity(parts[1], parts[2]);
  if (parts.length) throw new Error("No such view; back to the campaign list.");
  return loadCampaigns(query);
}

// -- campaign list -----------------------------------------------------------

function listQuery(offset) {
  return new URLSearchParams({
    min_score: $("f-score").value || "0", min_size: $("f-size").value || "0",
    sort: $("f-sort").value, offset: String(offset),
  });
}

async function loadCampaigns(query) {
  show("list-view");
  if (query) {
    if (query.has("min_score")) $("f-score").value = query.get("min_score");
    if (query.has("min_size")) $("f-size").value = query.get("min_size");
    if (query.has("sort")) $("f-sort").value = query.get("sort");
    state.offset = Math.max(0, parseInt(query.get("offset") || "0", 10) || 0);
  }
  const q = listQuery(state.offset);
  q.set("limit", String(PAGE));
  const seq = state.seq;
  const page = await api(`/campaigns?${q}`);
  if (seq !== state.seq) return;  // another view was asked for meanwhile
  state.count = page.count;
  $("campaign-count").textContent = `(${num(page.count)}; ${state.offset + 1}-${state.offset + page.data.length})`;
  const body = clear($("campaigns").tBodies[0]);
  for (const c of page.data) {
    const row = el("tr", { "data-campaign": c.campaign_id,
      onclick: (evt) => { if (!evt.target.closest("a")) go(route.campaign(c.campaign_id)); } },
      el("td", {}, link(c.campaign_id, route.campaign(c.campaign_id))), el("td", {}, num(c.size)),
      el("td", {}, fmt(c.score)), el("td", {}, num(c.request_count)), el("td", {}, c.reasons.slice(0, 2).join("; ")));
    body.append(row);
  }
  if (!page.data.length) body.append(el("tr", {}, el("td", { colspan: "5" }, "No campaign matches.")));
}

// -- campaign view -----------------------------------------------------------

async function openCampaign(id) {
  show("campaign-view");
  state.campaign = null;
  $("campaign-title").textContent = `Campaign ${id}`;
  clear($("details")).append(el("p", { class: "muted" }, "Click a node for its details and why it is linked."));
  const seq = state.seq;
  const [c, g] = await Promise.all([
    api(`/campaigns/${enc(id)}`),
    api(`/campaigns/${enc(id)}/subgraph?${GRAPH_QUERY}`),
  ]);
  if (seq !== state.seq) return;
  state.campaign = c;
  $("campaign-title").textContent =
    `Campaign ${c.campaign_id}: ${num(c.size)} accounts, score ${fmt(c.score)}, ${num(c.flagged)} flagged`;
  const reasons = clear($("reasons"));
  for (const r of c.reasons) reasons.append(el("li", {}, r));
  LinkageCharts.contributions($("contributions"), c.contributions);
  LinkageCharts.timeline($("timeline"), c.timeline, c.baseline);
  drawIndicators(c.indicators);
  renderDecision($("campaign-decision"), "campaign", c.campaign_id, c.decision);
  renderExports($("campaign-exports"), c.campaign_id);
  drawGraph(g);
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
        el("td", {}, entityLink({ ...i, entity_type: type })),
        el("td", {}, num(i.members)), el("td", {}, fmt(i.member_share, 2)), el("td", {}, num(i.outside_accounts))));
    }
  }
  table.append(body);
  box.append(table);
}

function edgeColor(e, labelOf) {
  if (e.type === "LINKED") return COLORS.Account;
  if (e.type === "IN_PREFIX" || e.type === "HAS_BIN") return "#9aa1ad";
  return COLORS[labelOf.get(e.target)] || "#c3c8d2";
}

function drawGraph(g) {
  const note = g.truncated ? `Showing ${g.nodes.length} of ${num(g.total_nodes)} nodes: ${g.sampling || ""}`
    : `${g.nodes.length} nodes, ${g.edges.length} edges.`;
  $("graph-note").textContent = note;
  const labelOf = new Map(g.nodes.map((n) => [n.id, n.label]));
  const elements = [];
  for (const n of g.nodes) {
    elements.push({ group: "nodes", data: { id: n.id, label: n.label, key: n.key, props: n.properties,
      flagged: n.properties.flagged ? 1 : 0 } });
  }
  g.edges.forEach((e, i) => {
    elements.push({ group: "edges", data: { id: `e${i}`, source: e.source, target: e.target, type: e.type,
      weight: e.properties.weight || 0.2, color: edgeColor(e, labelOf), props: e.properties } });
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
      { selector: "edge", style: { width: 0.7, "line-color": "data(color)", "curve-style": "haystack", opacity: 0.55 } },
      { selector: "edge[type = 'LINKED']", style: { width: "mapData(weight, 0, 5, 0.5, 4)", opacity: 0.5 } },
      { selector: "edge[type = 'IN_PREFIX'], edge[type = 'HAS_BIN']", style: { "line-style": "dashed", width: 1 } },
    ],
    layout: { name: "cose", animate: false, randomize: false, numIter: 400, nodeRepulsion: () => 6000 },
  });
  state.cy.on("tap", "node", (evt) => showNode(evt.target.data()).catch(showError));
  drawLegend(g, labelOf);
}

// one entry per node label and per edge type drawn, with counts
function drawLegend(g, labelOf) {
  const legend = clear($("legend"));
  const nodes = new Map(), edges = new Map();
  for (const n of g.nodes) nodes.set(n.label, (nodes.get(n.label) || 0) + 1);
  for (const e of g.edges) {
    const entry = edges.get(e.type) || { n: 0, color: edgeColor(e, labelOf) };
    entry.n += 1;
    edges.set(e.type, entry);
  }
  const nodeBox = el("div", { class: "legend-nodes" }, el("b", {}, "Nodes "));
  for (const [label, n] of nodes) {
    nodeBox.append(el("span", { "data-legend-node": label },
      el("i", { class: "dot", style: `background:${COLORS[label] || "#999"}` }), `${label} (${n})`));
  }
  nodeBox.append(el("span", {}, el("i", { class: "dot flagged-ring" }), "flagged account"));
  const edgeBox = el("div", { class: "legend-edges" }, el("b", {}, "Edges "));
  for (const [type, { n, color }] of edges) {
    const dashed = type === "IN_PREFIX" || type === "HAS_BIN";
    edgeBox.append(el("span", { "data-legend-edge": type, title: EDGE_TEXT[type] || `account → ${type}` },
      el("i", { class: dashed ? "line dashed" : "line", style: `border-top-color:${color}` }),
      `${type} (${n})${EDGE_TEXT[type] ? `: ${EDGE_TEXT[type]}` : ""}`));
  }
  legend.append(nodeBox, edgeBox);
}

async function showNode(d) {
  const box = clear($("details"));
  box.append(el("p", { class: "muted" }, "Loading..."));
  if (d.label === "Account") {
    const a = await api(`/accounts/${enc(d.key)}?max_links=25&max_entities=15`);
    renderAccount(clear(box), a, false);
  } else {
    const type = d.props.entity_type;
    const e = await api(`/entities/${enc(type)}/${enc(d.key)}?limit=50`);
    renderEntity(clear(box), e);
  }
}

// an entity as a link that opens it: its readable text, its key on hover
function entityLink(e) {
  return link(e.text || e.entity, route.entity(e.entity_type, e.entity), { title: `${e.entity_type}:${e.entity}` });
}

function accountLink(id) { return link(id, route.account(id)); }

function renderAccount(box, a, full) {
  const acc = a.account;
  box.append(el("h3", { "data-testid": "details-title" }, `Account ${acc.account_id}`));
  box.append(el("p", {}, `status ${acc.status}, created ${acc.created_at || "–"}, ${num(acc.request_count)} requests, `
    + `score ${fmt(acc.score)}${acc.flagged ? ", flagged" : ""}`));
  if (!full) box.append(el("p", {}, link("Open this account's page", route.account(acc.account_id))));
  if (a.campaign) {
    box.append(el("p", {}, "Campaign ", link(a.campaign.campaign_id, route.campaign(a.campaign.campaign_id)),
      ` (score ${fmt(a.campaign.score)}, ${num(a.campaign.size)} accounts)`));
    const ol = el("ol");
    for (const r of a.campaign.reasons.slice(0, 4)) ol.append(el("li", {}, r));
    box.append(ol);
  } else {
    box.append(el("p", { class: "muted" }, "In no reported campaign."));
  }
  if (full) {
    const panel = el("div", { id: "account-decision", class: "decision" });
    box.append(panel);
    renderDecision(panel, "account", acc.account_id, a.decision);
  }
  box.append(el("h4", { "data-testid": "why-linked" }, `Why linked (${a.links.length} of ${num(a.links_total)} linked accounts)`));
  for (const l of a.links) {
    const ev = el("ul", { class: "evidence" });
    for (const e of l.evidence) {
      ev.append(el("li", {}, `${e.entity_type} `, entityLink(e),
        ` +${fmt(e.weight)} (used by ${num(e.accounts)} accounts${e.kind ? `, ${e.kind}` : ""})`));
    }
    box.append(el("div", { class: "link" }, accountLink(l.account_id),
      ` weight ${fmt(l.weight)} via ${l.signals.join(", ")}`, ev));
  }
  box.append(el("h4", {}, `Used (${a.entities.length} of ${num(a.entities_total)})`));
  const ul = el("ul");
  for (const e of a.entities) {
    ul.append(el("li", {}, `${e.entity_type} `, entityLink(e), ` x${num(e.uses)}, shared by ${num(e.accounts)}`));
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
    box.append(el("p", {}, "In ", link(`${ent.parent.entity_type} ${ent.parent.entity}`,
      route.entity(ent.parent.entity_type, ent.parent.entity))));
  }
  const table = el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "account"), el("th", {}, "campaign"),
    el("th", {}, "score"), el("th", {}, "uses"), el("th", {}, "first"), el("th", {}, "last"))));
  const body = el("tbody");
  for (const a of e.data) {
    body.append(el("tr", {}, el("td", {}, accountLink(a.account_id)),
      el("td", {}, a.campaign_id ? link(a.campaign_id, route.campaign(a.campaign_id)) : "–"),
      el("td", {}, fmt(a.score)), el("td", {}, num(a.uses)), el("td", {}, a.first_seen || "–"), el("td", {}, a.last_seen || "–")));
  }
  table.append(body);
  box.append(table);
  if (e.count > e.data.length) box.append(el("p", { class: "muted" }, `${e.data.length} of ${num(e.count)} accounts shown.`));
}

async function openAccount(id) {
  show("result-view");
  clear($("result")).append(el("p", { class: "muted" }, "Loading..."));
  const seq = state.seq;
  const a = await api(`/accounts/${enc(id)}?max_links=50&max_entities=50`);
  if (seq !== state.seq) return;
  renderAccount(clear($("result")), a, true);
}

async function openEntity(type, value) {
  show("result-view");
  clear($("result")).append(el("p", { class: "muted" }, "Loading..."));
  const seq = state.seq;
  const e = await api(`/entities/${enc(type)}/${enc(value)}?limit=100`);
  if (seq !== state.seq) return;
  renderEntity(clear($("result")), e);
}

// -- decisions and exports ---------------------------------------------------

const DONE = { confirm: "Confirmed", dismiss: "Dismissed", watch: "Watched" };
const STATUS = {
  applied: "applied in this run",
  pending: "pending: takes effect on the next run",
  reopened: "reopened: its evidence of abuse grew since",
  conflict: "in conflict with another decision",
};

function decisionText(d) {
  if (!d) return "No decision yet.";
  const on = d.decided_id && d.decided_id !== d.id ? ` (on ${d.decided_id}, which this continues)` : "";
  const status = d.status ? ` [${STATUS[d.status] || d.status}]` : "";
  return `${DONE[d.action] || d.action} by ${d.by} at ${d.at}${on}${status}` + (d.note ? `: “${d.note}”` : "");
}

// the current decision, its history, and (for a role that may decide) the buttons
function renderDecision(box, target, id, current) {
  clear(box);
  if (current === undefined && !state.me) return;  // a service without decisions
  const now = el("p", { class: "decision-now", "data-decision": current ? current.action : "" }, decisionText(current));
  box.append(el("h3", {}, "Decision"), now);
  const history = el("ul", { class: "decision-history muted" });
  box.append(history);
  const loadHistory = () => api(`/decisions?target=${target}&id=${enc(id)}&limit=6`).then((h) => {
    clear(history);
    const earlier = (h.data || []).slice(1);
    if (earlier.length) history.append(el("li", { class: "muted" }, "Earlier:"));
    for (const d of earlier) history.append(el("li", {}, decisionText({ ...d, status: null })));
  }).catch(() => {});
  if (current) loadHistory();
  if (!state.me || !state.me.can_decide) return;
  const note = el("textarea", { id: `${target}-note`, maxlength: "2000", rows: "2",
    placeholder: "Note for the record (why; what you checked)" });
  const msg = el("span", { class: "decision-msg", role: "status" });
  const buttons = ACTIONS[target].map((action) => el("button", {
    type: "button", class: `decide decide-${action}`, "data-action": action,
    onclick: async () => {
      msg.textContent = "Saving...";
      try {
        const d = await post("/decisions", { target, id, action, note: note.value });
        now.textContent = decisionText(d);
        now.setAttribute("data-decision", d.action);
        msg.textContent = "Recorded.";
        note.value = "";
        loadHistory();
      } catch (err) {
        msg.textContent = "";
        showError(err);
      }
    },
  }, action[0].toUpperCase() + action.slice(1)));
  box.append(el("div", { class: "decide-form" }, note, el("div", {}, ...buttons, msg)));
}

// download a route's body (sent with the key) as a file
async function download(path, filename, msg) {
  msg.textContent = `Exporting ${filename}...`;
  try {
    const blob = await (await request(path)).blob();
    const url = URL.createObjectURL(blob);
    const a = el("a", { href: url, download: filename });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    msg.textContent = `Exported ${filename} (${num(blob.size)} bytes).`;
    msg.setAttribute("data-exported", filename);
  } catch (err) {
    msg.textContent = "";
    showError(err);
  }
}

function renderExports(box, id) {
  clear(box);
  const msg = el("span", { class: "export-msg", role: "status" });
  const admin = !state.me || state.me.role === "admin";  // without /me, let the service say
  const button = (label, cls, path, filename) => el("button", { type: "button", class: `export ${cls}`,
    onclick: () => download(path, filename, msg) }, label);
  if (admin) {
    box.append(button("Ban list (CSV)", "export-banlist", `/campaigns/${enc(id)}/banlist?format=csv`, `banlist-${id}.csv`));
    box.append(button("STIX bundle", "export-stix", `/campaigns/${enc(id)}/stix`, `${id}.stix.json`));
  }
  box.append(button("GraphML", "export-graphml", `/campaigns/${enc(id)}/subgraph?${EXPORT_GRAPH_QUERY}`, `${id}.graphml`));
  box.append(msg);
}

// -- search ------------------------------------------------------------------

async function search(q) {
  q = q.trim();
  if (!q) return;
  const colon = q.indexOf(":");
  if (colon > 0 && ENTITY_TYPES.includes(q.slice(0, colon))) {
    return go(route.entity(q.slice(0, colon), q.slice(colon + 1)));
  }
  const found = async (path) => {
    try { await api(path); return true; } catch (err) {
      if (err instanceof ApiError && err.status === 404) return false;
      throw err;
    }
  };
  if (await found(`/accounts/${enc(q)}?max_links=1&max_entities=1`)) return go(route.account(q));
  for (const t of ENTITY_TYPES) {
    if (await found(`/entities/${enc(t)}/${enc(q)}?limit=1`)) return go(route.entity(t, q));
  }
  show("result-view");
  clear($("result")).append(el("p", { "data-testid": "not-found" }, `Nothing called "${q}" in this result.`));
}

// -- wiring ------------------------------------------------------------------

async function loadMe() {
  try {
    state.me = await api("/me");
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) throw err;
    state.me = null;  // a service without /me: no decide buttons
  }
  $("whoami").textContent = state.me ? `${state.me.name} (${state.me.role})` : "";
}

async function start() {
  $("key-panel").hidden = true;
  $("app").hidden = false;
  await loadMe();
  await render();
}

$("key-form").addEventListener("submit", (evt) => {
  evt.preventDefault();
  const key = $("key-input").value.trim();
  if (!key) return;
  sessionStorage.setItem(KEY_STORE, key);
  $("key-input").value = "";
  start().catch(showError);
});
$("logout").addEventListener("click", () => { sessionStorage.removeItem(KEY_STORE); askKey(""); });
$("f-apply").addEventListener("click", () => go(route.list(listQuery(0))));
$("prev").addEventListener("click", () => go(route.list(listQuery(Math.max(0, state.offset - PAGE)))));
$("next").addEventListener("click", () => {
  if (state.offset + PAGE < state.count) go(route.list(listQuery(state.offset + PAGE)));
});
$("search-form").addEventListener("submit", (evt) => {
  evt.preventDefault();
  search($("search").value).catch(showError);
});
window.addEventListener("hashchange", () => {
  if (sessionStorage.getItem(KEY_STORE)) render().catch(showError);
});

if (sessionStorage.getItem(KEY_STORE)) start().catch(showError); else askKey("");
