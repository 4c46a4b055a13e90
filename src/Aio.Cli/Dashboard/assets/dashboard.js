// The page of `aio watch --dashboard`: the history from the JSON API, then the live feed (server-sent events).
// Every string from the server goes into the page through textContent or dataset, never as HTML.
// window.aioDashboard exposes the page's state (rounds received, points per chart, table loads) for tests.
"use strict";
(() => {
  const query = new URLSearchParams(location.search);
  const windowParam = query.get("window") || "1h";
  const state = { status: "connecting", loaded: false, rounds: 0, points: {}, uptimeLoads: 0, transitions: [] };
  window.aioDashboard = state;
  const cards = new Map();
  const statusEl = document.getElementById("status");
  const updatedEl = document.getElementById("updated");
  let windowMs = 3600e3;
  let everyS = 30;
  let events = null;
  let uptimeTimer = 0;

  function setStatus(name, text) {
    state.status = name;
    statusEl.dataset.state = name;
    statusEl.textContent = text;
  }

  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function ms(v) { return v == null ? "–" : `${v.toFixed(1)} ms`; }

  function localTime(iso) { return iso ? new Date(iso).toLocaleString() : "–"; }

  function card(url) {
    let c = cards.get(url);
    if (c) return c;
    const root = el("article", "card");
    root.dataset.url = url;
    const head = el("header");
    const title = el("h2", "url", url);
    title.title = url;
    const latest = el("span", "latest", "");
    const badge = el("span", "badge", "–");
    head.append(title, latest, badge);
    const chart = el("div", "chart");
    root.append(head, chart);
    document.getElementById("charts").append(root);
    c = { root, badge, latest, chart, xs: [], ys: [], downs: [], plot: null };
    cards.set(url, c);
    return c;
  }

  function plotOptions(width) {
    return {
      width, height: 200,
      legend: { show: false },
      cursor: { points: { size: 6 } },
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, (max || 1) * 1.15)] } },
      axes: [
        { stroke: "#6b7385", grid: { stroke: "#eef0f4" } },
        { stroke: "#6b7385", grid: { stroke: "#eef0f4" }, size: 64, values: (u, vals) => vals.map(v => `${v} ms`) },
      ],
      series: [
        {},
        { label: "latency", stroke: "#2a6fdb", width: 1.5, fill: "rgba(42,111,219,0.10)", spanGaps: false, points: { show: false } },
        { label: "down", stroke: "#d93a3a", fill: "#d93a3a", paths: () => null, points: { show: true, size: 7, width: 0 } },
      ],
    };
  }

  function addCheck(c) {
    const k = card(c.url);
    const x = c.t / 1000;
    const last = k.xs.length > 0 ? k.xs[k.xs.length - 1] : null;
    if (last !== null && x - last > 2.5 * everyS) {
      // No checks for a while (the watch was stopped): a gap in the line, not a straight bridge.
      k.xs.push(last + everyS); k.ys.push(null); k.downs.push(null);
    }
    k.xs.push(x);
    k.ys.push(c.state === "up" ? c.latency_ms : null);
    k.downs.push(c.state === "up" ? null : 0);
    const oldest = x - windowMs / 1000;
    while (k.xs.length > 0 && k.xs[0] < oldest) {
      k.xs.shift(); k.ys.shift(); k.downs.shift();
    }
    k.badge.textContent = c.state;
    k.badge.className = `badge ${c.state}`;
    k.latest.textContent = c.state === "up" ? `${c.status} · ${ms(c.latency_ms)}` : (c.error || `status ${c.status}`);
  }

  function draw(k) {
    const data = [k.xs, k.ys, k.downs];
    if (k.plot === null) {
      k.plot = new uPlot(plotOptions(Math.max(300, k.chart.clientWidth)), data, k.chart);
    } else {
      k.plot.setData(data);
    }
    const checks = k.xs.filter((_, i) => k.ys[i] !== null || k.downs[i] !== null).length;   // gaps are not checks
    state.points[k.root.dataset.url] = checks;
    k.root.dataset.points = String(checks);
  }

  function renderUptime(u) {
    const body = document.querySelector("#uptime tbody");
    const rows = [];
    for (const t of u.targets) {
      const k = card(t.url);
      if (t.state) {
        k.badge.textContent = t.state;
        k.badge.className = `badge ${t.state}`;
      }
      const tr = el("tr");
      tr.dataset.url = t.url;
      tr.append(
        el("td", "url", t.url),
        el("td", `state ${t.state || ""}`, t.state || "–"),
        el("td", "n checks", String(t.checks)),
        el("td", "n uptime", t.uptime_pct == null ? "–" : `${t.uptime_pct.toFixed(2)}%`),
        el("td", "n", t.checks ? ms(t.mean_ms) : "–"),
        el("td", "n", t.checks ? ms(t.p95_ms) : "–"),
        el("td", "last", localTime(t.last_at)));
      rows.push(tr);
    }
    body.replaceChildren(...rows);
    const hours = (Date.parse(u.to) - Date.parse(u.from)) / 3600e3;
    document.getElementById("uptime-title").textContent = `Uptime, last ${hours >= 1 ? `${Math.round(hours)} h` : `${Math.round(hours * 60)} min`}`;
    state.uptimeLoads++;
    document.getElementById("uptime").dataset.loads = String(state.uptimeLoads);
  }

  async function getJson(path) {
    const r = await fetch(path, { cache: "no-store" });
    if (!r.ok) throw new Error(`${path}: ${r.status} ${(await r.json().catch(() => ({}))).error || r.statusText}`);
    return r.json();
  }

  async function refreshUptime() {
    try {
      renderUptime(await getJson("api/uptime"));
    } catch (e) {
      setStatus("error", e.message);
    }
  }

  function connect(cursor) {
    events = new EventSource(`api/events?after=${encodeURIComponent(cursor)}`);
    events.onopen = () => setStatus("live", "live");
    events.onerror = () => {
      if (state.status !== "stopped") setStatus("reconnecting", "reconnecting…");
    };
    events.addEventListener("round", e => {
      const round = JSON.parse(e.data);
      for (const c of round.checks) addCheck(c);
      for (const k of cards.values()) draw(k);
      state.rounds++;
      document.body.dataset.rounds = String(state.rounds);
      updatedEl.textContent = `last round ${localTime(round.at)}`;
      clearTimeout(uptimeTimer);
      uptimeTimer = setTimeout(refreshUptime, 200);
    });
    events.addEventListener("hello", e => { everyS = JSON.parse(e.data).every_s; });
    events.addEventListener("transition", e => state.transitions.push(JSON.parse(e.data)));
    events.addEventListener("bye", () => {
      events.close();
      setStatus("stopped", "aio watch stopped");
    });
  }

  async function start() {
    try {
      renderUptime(await getJson("api/uptime"));
      const history = await getJson(`api/checks?since=${encodeURIComponent(windowParam)}`);
      windowMs = Date.parse(history.to) - Date.parse(history.from);
      everyS = history.every_s;
      for (const c of history.checks) addCheck(c);
      for (const k of cards.values()) draw(k);
      if (history.checks.length > 0) {
        updatedEl.textContent = `last round ${localTime(history.checks[history.checks.length - 1].at)}`;
      }
      state.loaded = true;
      connect(history.cursor);
    } catch (e) {
      setStatus("error", `could not load the history: ${e.message}`);
    }
  }

  window.addEventListener("resize", () => {
    for (const k of cards.values()) {
      if (k.plot) k.plot.setSize({ width: Math.max(300, k.chart.clientWidth), height: 200 });
    }
  });
  start();
})();
