// linkage investigator page: the campaign's charts as plain SVG (no library).
// Every label is set as text (textContent), never parsed as markup.
"use strict";

const LinkageCharts = (() => {
  const SVG = "http://www.w3.org/2000/svg";

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function fmtNum(x) {
    if (Math.abs(x) >= 1e6) return `${(x / 1e6).toFixed(1)}M`;
    if (Math.abs(x) >= 1e4) return `${Math.round(x / 1e3)}k`;
    return Math.round(x).toLocaleString("en");
  }

  // "nice" axis ticks from 0 to at least top
  function ticks(top, count = 4) {
    if (!(top > 0)) return [0, 1];
    const raw = top / count;
    const mag = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
    const out = [];
    for (let v = 0; v <= top + step * 0.999; v += step) out.push(v);
    return out;
  }

  // Signed per-feature contributions to the campaign's score (logit), largest first:
  // bars right of zero push towards abuse, bars left of it away from it.
  function contributions(box, contrib) {
    while (box.firstChild) box.removeChild(box.firstChild);
    const items = Object.entries(contrib || {}).filter(([, v]) => typeof v === "number" && Math.abs(v) >= 0.005)
      .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
    if (!items.length) {
      box.append(Object.assign(document.createElement("p"), { className: "muted", textContent: "No score contributions saved for this campaign." }));
      return;
    }
    const rowH = 20, labelW = 190, valueW = 56, width = 640, top = 8, bottom = 26;
    const height = top + rowH * items.length + bottom;
    const lo = Math.min(0, ...items.map(([, v]) => v)), hi = Math.max(0, ...items.map(([, v]) => v));
    // room for a value label on each side that has bars
    const plotLeft = labelW + (lo < 0 ? valueW : 0);
    const plotW = width - plotLeft - (hi > 0 ? valueW : 0);
    const x = (v) => plotLeft + ((v - lo) / ((hi - lo) || 1)) * plotW;
    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
      "aria-label": "Score make-up: each feature's signed contribution to the campaign's score", "data-chart": "contributions" });
    items.forEach(([name, v], i) => {
      const y = top + i * rowH;
      root.append(svg("text", { x: labelW - 6, y: y + rowH * 0.68, "text-anchor": "end", class: "chart-label" }, name));
      const x0 = x(0), x1 = x(v);
      root.append(svg("rect", { x: Math.min(x0, x1), y: y + 3, width: Math.max(1, Math.abs(x1 - x0)), height: rowH - 6,
        class: v >= 0 ? "bar-up" : "bar-down", "data-feature": name }));
      root.append(svg("text", { x: v >= 0 ? x1 + 4 : x1 - 4, y: y + rowH * 0.68, "text-anchor": v >= 0 ? "start" : "end",
        class: "chart-value" }, `${v >= 0 ? "+" : ""}${v.toFixed(2)}`));
    });
    const axisY = top + rowH * items.length + 2;
    root.append(svg("line", { x1: x(0), x2: x(0), y1: top, y2: axisY, class: "axis" }));
    root.append(svg("text", { x: x(0), y: axisY + 16, "text-anchor": "middle", class: "chart-note" },
      "0 (← less likely abuse · more likely abuse →)"));
    box.append(root);
  }

  // Requests per day: the campaign's bars on the left axis, the whole platform's line on
  // the right axis (scaled so both peaks meet), dated x axis over the platform's days.
  function timeline(box, days, baseline) {
    while (box.firstChild) box.removeChild(box.firstChild);
    const base = (baseline && baseline.length ? baseline : days).map((d) => d.day);
    const all = [...new Set([...base, ...days.map((d) => d.day)])].sort();
    if (!all.length) {
      box.append(Object.assign(document.createElement("p"), { className: "muted", textContent: "No requests." }));
      return;
    }
    const mine = new Map(days.map((d) => [d.day, d]));
    const plat = new Map((baseline || []).map((d) => [d.day, d]));
    const width = 900, height = 230, left = 56, right = 64, top = 12, bottom = 42;
    const plotW = width - left - right, plotH = height - top - bottom;
    const campTicks = ticks(Math.max(1, ...days.map((d) => d.requests)));
    const platTicks = ticks(Math.max(1, ...[...plat.values()].map((d) => d.requests)));
    const campTop = campTicks[campTicks.length - 1], platTop = platTicks[platTicks.length - 1];
    const step = plotW / all.length;
    const xOf = (i) => left + i * step;
    const yCamp = (v) => top + plotH - (v / campTop) * plotH;
    const yPlat = (v) => top + plotH - (v / platTop) * plotH;
    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", height, role: "img",
      "aria-label": "Requests per day of the campaign and of the whole platform", "data-chart": "timeline",
      preserveAspectRatio: "xMinYMin meet" });
    for (const t of campTicks) {
      root.append(svg("line", { x1: left, x2: left + plotW, y1: yCamp(t), y2: yCamp(t), class: "grid" }));
      root.append(svg("text", { x: left - 6, y: yCamp(t) + 4, "text-anchor": "end", class: "chart-value camp" }, fmtNum(t)));
    }
    for (const t of platTicks) {
      root.append(svg("text", { x: left + plotW + 6, y: yPlat(t) + 4, "text-anchor": "start", class: "chart-value plat" }, fmtNum(t)));
    }
    all.forEach((day, i) => {
      const d = mine.get(day);
      if (!d) return;
      const bar = svg("rect", { x: xOf(i) + step * 0.1, y: yCamp(d.requests), width: Math.max(1, step * 0.8),
        height: Math.max(1, top + plotH - yCamp(d.requests)), class: "bar-camp", "data-day": day });
      bar.append(svg("title", {}, `${day}: ${d.requests.toLocaleString("en")} requests from ${d.accounts} campaign accounts`));
      root.append(bar);
    });
    if (plat.size) {
      const pts = all.map((day, i) => `${(xOf(i) + step / 2).toFixed(1)},${yPlat((plat.get(day) || { requests: 0 }).requests).toFixed(1)}`);
      root.append(svg("polyline", { points: pts.join(" "), class: "line-plat" }));
    }
    root.append(svg("line", { x1: left, x2: left + plotW, y1: top + plotH, y2: top + plotH, class: "axis" }));
    // dated x axis: about eight labels, first and last day always
    const every = Math.max(1, Math.ceil(all.length / 8));
    all.forEach((day, i) => {
      if (i % every !== 0 && i !== all.length - 1) return;
      if (i === all.length - 1 && i % every !== 0 && i % every < every / 2) return;
      const cx = xOf(i) + step / 2;
      root.append(svg("line", { x1: cx, x2: cx, y1: top + plotH, y2: top + plotH + 4, class: "axis" }));
      root.append(svg("text", { x: cx, y: top + plotH + 16, "text-anchor": "middle", class: "chart-value tick-day" }, day));
    });
    root.append(svg("text", { x: 4, y: top + plotH + 34, class: "chart-note camp" }, "■ campaign requests (left axis)"));
    root.append(svg("text", { x: left + plotW + right - 4, y: top + plotH + 34, "text-anchor": "end", class: "chart-note plat" },
      "— whole platform requests (right axis, scaled to fit)"));
    box.append(root);
  }

  return { contributions, timeline };
})();
window.LinkageCharts = LinkageCharts;
