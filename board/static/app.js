// Strata Board: the dashboard page. Plain JavaScript, no framework, no build
// step. It polls the JSON API of the server and redraws what changed; charts
// are SVG built here. Every text from a run goes through textContent or an
// attribute, never through innerHTML.
'use strict';

(() => {
  const PALETTE = ['#2563eb', '#ea580c', '#16a34a', '#db2777', '#7c3aed',
    '#0891b2', '#ca8a04', '#dc2626', '#4b5563', '#65a30d'];
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const CHART_HEIGHT = 230;
  const STORE_KEY = 'strata-board/v1';

  // ---------- state ----------
  const S = {
    pollMs: 2000,
    timer: 0,
    runs: [],              // from /api/runs, newest first
    runOffset: 0,          // index of the first listed run (paging)
    runsTotal: 0,          // runs in the log directory
    runsMore: 0,           // runs after the listed page
    broken: new Map(),     // run -> why its data could not be loaded
    byName: new Map(),
    serverNow: 0,          // server clock (ms) of the last listing
    deselected: new Set(), // runs the user unchecked; new runs start checked
    colors: new Map(),
    data: new Map(),       // run -> {lines, pending, ver, series}
    focus: null,           // the run of the Images and Run views
    tab: 'scalars',
    smoothing: 0,
    logScale: false,
    filter: '',
    chartsDirty: true,
    cards: new Map(),      // chart key -> card element
    charts: new Map(),     // chart key -> last drawn model, for the tooltip
    items: new Map(),      // run -> sidebar <li>
    images: { run: null, key: '', seqPos: new Map(), playing: null },
    summary: { run: null, text: null, ver: '' },
  };

  // ---------- small helpers ----------
  const $ = (id) => document.getElementById(id);

  function h(tag, props, ...children) {
    const e = document.createElement(tag);
    setProps(e, props);
    for (const c of children.flat()) {
      if (c == null || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function s(tag, props) {
    const e = document.createElementNS(SVG_NS, tag);
    setProps(e, props);
    return e;
  }

  function setProps(e, props) {
    if (!props) return;
    for (const [k, v] of Object.entries(props)) {
      if (v == null || v === false) continue;
      if (k === 'text') e.textContent = v;
      else if (k === 'style') Object.assign(e.style, v);
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
  }

  const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
  const enc = encodeURIComponent;
  const fileURL = (run, p, v) => `/files/${enc(run)}/${p.split('/').map(enc).join('/')}${v ? `?v=${enc(v)}` : ''}`;

  function fmt(v) {
    if (!isNum(v)) return '–';
    const a = Math.abs(v);
    if (a === 0) return '0';
    if (a >= 1e5 || a < 1e-3) return v.toExponential(2).replace(/\.?0+e/, 'e').replace('e+', 'e');
    if (Number.isInteger(v)) return String(v);
    return String(Number(v.toPrecision(4)));
  }

  // fmtTick formats an axis label: large round numbers as 20k or 1.5M.
  function fmtTick(v) {
    const a = Math.abs(v);
    if (a >= 1e6 && a < 1e12) return `${Number((v / 1e6).toPrecision(4))}M`;
    if (a >= 1e4 && a < 1e6) return `${Number((v / 1e3).toPrecision(4))}k`;
    return fmt(v);
  }

  function fmtDuration(sec) {
    if (!isNum(sec)) return '';
    if (sec < 60) return `${Math.round(sec)}s`;
    if (sec < 3600) return `${Math.floor(sec / 60)}m ${Math.round(sec % 60)}s`;
    return `${Math.floor(sec / 3600)}h ${Math.round((sec % 3600) / 60)}m`;
  }

  function ago(ms) {
    const sec = Math.max(0, ms / 1000);
    if (sec < 10) return 'just now';
    if (sec < 60) return `${Math.round(sec)}s ago`;
    if (sec < 3600) return `${Math.round(sec / 60)}m ago`;
    if (sec < 86400) return `${Math.round(sec / 3600)}h ago`;
    return `${Math.round(sec / 86400)}d ago`;
  }

  async function getJSON(url) {
    const ctl = new AbortController();
    const t = setTimeout(() => ctl.abort(), 15000);
    try {
      const r = await fetch(url, { signal: ctl.signal, cache: 'no-store' });
      if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
      return await r.json();
    } finally {
      clearTimeout(t);
    }
  }

  // Keys that are not scalars to plot: the x axes and the clock.
  function ignoredKey(k) {
    return k === 'epoch' || k === 'step' || /^(time|timestamp|wall_?time|elapsed)(_s|_ms)?$/.test(k) ||
      /_(time|seconds)(_s|_ms)?$/.test(k) || /^time_/.test(k);
  }

  // Lower is better for these metrics (in tables).
  const lowerIsBetter = (k) => /loss|error|err$|mse|mae|rmse|perplexity|nll|kl|time/i.test(k);

  // Order of metrics in charts and tables: the usual ones first.
  const METRIC_ORDER = ['loss', 'accuracy', 'acc', 'precision', 'recall', 'f1', 'auc'];
  function metricRank(k) {
    const base = k.replace(/^(val|test)_/, '');
    const i = METRIC_ORDER.indexOf(base);
    if (i >= 0) return i;
    if (base === 'lr' || base === 'learning_rate') return 1000;
    return 100;
  }
  const byMetric = (a, b) => metricRank(a) - metricRank(b) || a.localeCompare(b);
  const splitRank = (k) => (k.startsWith('val_') ? 1 : k.startsWith('test_') ? 2 : 0);

  function colorOf(run) {
    let c = S.colors.get(run);
    if (!c) {
      c = PALETTE[S.colors.size % PALETTE.length];
      S.colors.set(run, c);
    }
    return c;
  }

  function statusOf(info) {
    if (info.error || S.broken.has(info.name)) return 'broken';
    if (info.done) return 'done';
    const age = S.serverNow - Date.parse(info.modified);
    return age < Math.max(5 * 60e3, 5 * S.pollMs) ? 'running' : 'idle';
  }

  const plannedEpochs = (info) => (info.config && isNum(info.config.epochs) ? info.config.epochs : null);
  const lastEpoch = (info) => (info.last && isNum(info.last.epoch) ? info.last.epoch : null);
  const isSelected = (run) => S.byName.has(run) && !S.deselected.has(run);
  // dname is the run's name as shown; r.name is its key in URLs and maps.
  const dname = (run) => { const r = S.byName.get(run); return (r && r.display) || run; };
  const selectedRuns = () => S.runs.filter((r) => !S.deselected.has(r.name)).map((r) => r.name);

  // ---------- persistence ----------
  function load() {
    try {
      const v = JSON.parse(localStorage.getItem(STORE_KEY) || '{}');
      if (Array.isArray(v.deselected)) S.deselected = new Set(v.deselected.filter((x) => typeof x === 'string'));
      if (isNum(v.smoothing)) S.smoothing = Math.min(0.95, Math.max(0, v.smoothing));
      S.logScale = v.logScale === true;
      if (typeof v.focus === 'string') S.focus = v.focus;
    } catch (e) { /* storage unavailable or corrupt: defaults */ }
    const tab = location.hash.replace('#', '');
    if (['scalars', 'images', 'run'].includes(tab)) S.tab = tab;
  }

  function save() {
    try {
      localStorage.setItem(STORE_KEY, JSON.stringify({
        deselected: [...S.deselected], smoothing: S.smoothing, logScale: S.logScale, focus: S.focus,
      }));
    } catch (e) { /* ignore */ }
  }

  // ---------- polling ----------
  // poll asks the server for what changed, loads it and redraws; it then
  // schedules itself. A call while one is in flight runs once more after it.
  async function poll() {
    if (S.inflight) { S.again = true; return; }
    S.inflight = true;
    clearTimeout(S.timer);
    try {
      const ans = await getJSON(`/api/runs?offset=${S.runOffset}`);
      applyRuns(ans);
      const want = new Set(selectedRuns());
      if (S.focus) want.add(S.focus);
      // One run that cannot be loaded is shown as broken; the others go on.
      await Promise.all([...want].map((name) => loadScalars(name).then(
        () => S.broken.delete(name),
        (e) => S.broken.set(name, String((e && e.message) || e)))));
      try {
        if (S.tab === 'images') await loadImages();
        if (S.tab === 'run') await loadSummary();
      } catch (e) {
        if (S.focus) S.broken.set(S.focus, String((e && e.message) || e));
      }
      render();
      setStatus('live', `Live · updated ${new Date().toLocaleTimeString()}`);
    } catch (e) {
      setStatus('error', 'Offline · retrying');
    } finally {
      S.inflight = false;
    }
    if (S.again) {
      S.again = false;
      poll();
      return;
    }
    S.timer = setTimeout(poll, S.pollMs);
  }

  function setStatus(state, text) {
    $('status').dataset.state = state;
    $('status-text').textContent = text;
  }

  function applyRuns(ans) {
    if (isNum(ans.poll_ms) && ans.poll_ms > 0) S.pollMs = ans.poll_ms;
    S.serverNow = Date.parse(ans.now) || Date.now();
    $('logdir').textContent = ans.logdir || '';
    S.runs = Array.isArray(ans.runs) ? ans.runs : [];
    S.runsTotal = isNum(ans.total) ? ans.total : S.runs.length;
    S.runsMore = isNum(ans.more) ? ans.more : 0;
    if (isNum(ans.offset)) S.runOffset = ans.offset;
    S.byName = new Map(S.runs.map((r) => [r.name, r]));
    for (const r of S.runs) colorOf(r.name);
    for (const name of S.data.keys()) {
      if (!S.byName.has(name)) { S.data.delete(name); S.chartsDirty = true; }
    }
    if (!S.focus || !S.byName.has(S.focus)) {
      // Focus the most recently changed run.
      let best = null;
      for (const r of S.runs) if (!best || Date.parse(r.modified) > Date.parse(best.modified)) best = r;
      S.focus = best ? best.name : null;
    }
  }

  // loadScalars fetches the metrics lines of the run that it has not seen.
  async function loadScalars(name) {
    const info = S.byName.get(name);
    if (!info) return;
    let d = S.data.get(name);
    if (!d) {
      d = { lines: [], pending: null, ver: '', series: null };
      S.data.set(name, d);
    }
    const ver = `${info.lines}/${info.pending}/${info.modified}`;
    if (d.ver === ver) return;
    let from = info.lines < d.lines.length ? 0 : d.lines.length;
    if (from === 0) d.lines = [];
    for (let guard = 0; guard < 1000; guard++) {
      const ans = await getJSON(`/api/runs/${enc(name)}/scalars?from=${from}`);
      if (ans.total < d.lines.length) { // the file was rewritten: start over
        d.lines = [];
        from = 0;
        continue;
      }
      for (const l of ans.lines) d.lines.push(l);
      d.pending = ans.pending || null;
      from = ans.from + ans.lines.length;
      if (!ans.more) break;
    }
    d.ver = ver;
    d.series = null;
    S.chartsDirty = true;
  }

  // seriesOf turns the lines of a run into series: "axis|metric" ->
  // {axis, metric, xs, ys}. Epoch lines plot against the epoch, step lines
  // against the step, other lines against their index.
  function seriesOf(name) {
    const d = S.data.get(name);
    if (!d) return new Map();
    if (d.series) return d.series;
    const out = new Map();
    const lines = d.pending ? d.lines.concat([d.pending]) : d.lines;
    lines.forEach((line, i) => {
      if (!line || typeof line !== 'object') return;
      let axis = 'line';
      let x = i + 1;
      if (isNum(line.epoch)) { axis = 'epoch'; x = line.epoch; } else if (isNum(line.step)) { axis = 'step'; x = line.step; }
      for (const k of Object.keys(line)) {
        const v = line[k];
        if (!isNum(v) || ignoredKey(k)) continue;
        const key = `${axis}|${k}`;
        let sr = out.get(key);
        if (!sr) { sr = { axis, metric: k, xs: [], ys: [] }; out.set(key, sr); }
        sr.xs.push(x);
        sr.ys.push(v);
      }
    });
    d.series = out;
    return out;
  }

  // ---------- sidebar ----------
  function renderSidebar() {
    const list = $('run-list');
    const q = S.filter.toLowerCase();
    $('run-count').textContent = S.runsTotal ? String(S.runsTotal) : '';
    const more = $('runs-more');
    if (more) {
      const shown = S.runs.length ? `runs ${S.runOffset + 1}–${S.runOffset + S.runs.length} of ${S.runsTotal}, newest first` : '';
      $('runs-more-text').textContent = S.runsMore > 0 ? `${shown}; ${S.runsMore} more` : shown;
      more.hidden = S.runsMore === 0 && S.runOffset === 0;
      $('runs-newer').disabled = S.runOffset === 0;
      $('runs-older').disabled = S.runsMore === 0;
    }
    $('runs-empty').hidden = S.runs.length > 0;
    for (const [name, li] of S.items) {
      if (!S.byName.has(name)) { li.remove(); S.items.delete(name); }
    }
    let prev = null;
    for (const info of S.runs) {
      let li = S.items.get(info.name);
      if (!li) { li = makeRunItem(info.name, dname(info.name)); S.items.set(info.name, li); }
      if (prev ? prev.nextSibling !== li : list.firstChild !== li) {
        if (prev) prev.after(li); else list.prepend(li);
      }
      prev = li;
      updateRunItem(li, info);
      li.hidden = q !== '' && !dname(info.name).toLowerCase().includes(q);
    }
  }

  function makeRunItem(name, shown) {
    const color = colorOf(name);
    const box = h('input', { type: 'checkbox', 'aria-label': `Show ${shown} in the charts`, style: { accentColor: color } });
    box.addEventListener('change', () => {
      if (box.checked) S.deselected.delete(name); else S.deselected.add(name);
      save();
      S.chartsDirty = true;
      render();
      poll();
    });
    const btn = h('button', { type: 'button', class: 'run-name', title: shown },
      h('span', { class: 'swatch', style: { background: color } }), h('span', { class: 'label', text: shown }));
    btn.addEventListener('click', () => setFocus(name));
    const li = h('li', { class: 'run-item', 'data-run': name }, box, btn,
      h('div', { class: 'run-meta' }), h('div', { class: 'run-progress', hidden: true }, h('span')));
    return li;
  }

  function updateRunItem(li, info) {
    const [box, , meta, progress] = li.children;
    box.checked = isSelected(info.name);
    li.classList.toggle('focused', info.name === S.focus);
    const st = statusOf(info);
    const ep = lastEpoch(info);
    const planned = plannedEpochs(info);
    const parts = [h('span', { class: `badge ${st}`, text: st, title: st === 'broken' ? (info.error || S.broken.get(info.name) || '') : '' })];
    if (ep != null) parts.push(h('span', { text: planned ? `epoch ${ep}/${planned}` : `epoch ${ep}` }));
    else if (info.lines) parts.push(h('span', { text: `${info.lines} lines` }));
    const res = info.results || {};
    const acc = ['test_accuracy', 'accuracy'].find((k) => isNum(res[k]));
    if (acc) parts.push(h('span', { text: `test acc ${fmt(res[acc])}` }));
    else if (st !== 'done') parts.push(h('span', { class: 'muted', text: ago(S.serverNow - Date.parse(info.modified)) }));
    meta.replaceChildren(...parts);
    const showProgress = st !== 'done' && planned && ep != null;
    progress.hidden = !showProgress;
    if (showProgress) progress.firstChild.style.width = `${Math.min(100, (100 * ep) / planned)}%`;
  }

  function setFocus(name) {
    if (!S.byName.has(name)) return;
    S.focus = name;
    save();
    if (S.tab === 'scalars') setTab('run');
    else { render(); poll(); }
  }

  function setTab(tab) {
    S.tab = tab;
    $('tooltip').hidden = true;
    history.replaceState(null, '', `#${tab}`);
    for (const b of document.querySelectorAll('.tab')) b.setAttribute('aria-selected', String(b.dataset.tab === tab));
    for (const v of document.querySelectorAll('.view')) v.hidden = v.dataset.view !== tab;
    S.chartsDirty = true;
    render();
    poll();
  }

  // ---------- scalars view ----------
  function collectCharts() {
    const charts = new Map();
    for (const run of selectedRuns()) {
      for (const sr of seriesOf(run).values()) {
        const base = sr.metric.replace(/^val_/, '');
        const key = `${sr.axis}|${base}`;
        let c = charts.get(key);
        if (!c) { c = { key, axis: sr.axis, metric: base, series: [] }; charts.set(key, c); }
        c.series.push({ run, metric: sr.metric, val: sr.metric !== base, xs: sr.xs, ys: sr.ys, color: colorOf(run) });
      }
    }
    const axisRank = { epoch: 0, step: 1, line: 2 };
    const list = [...charts.values()];
    list.sort((a, b) => axisRank[a.axis] - axisRank[b.axis] || byMetric(a.metric, b.metric));
    for (const c of list) c.series.sort((a, b) => a.val - b.val);
    return list;
  }

  function renderScalars() {
    renderCompare();
    if (!S.chartsDirty) return;
    S.chartsDirty = false;
    const charts = collectCharts();
    const grid = $('charts');
    const keep = new Set(charts.map((c) => c.key));
    for (const [key, card] of S.cards) {
      if (!keep.has(key)) { card.remove(); S.cards.delete(key); S.charts.delete(key); }
    }
    let prev = null;
    for (const c of charts) {
      let card = S.cards.get(c.key);
      if (!card) { card = makeChartCard(c); S.cards.set(c.key, card); }
      if (prev ? prev.nextSibling !== card : grid.firstChild !== card) {
        if (prev) prev.after(card); else grid.prepend(card);
      }
      prev = card;
      drawChart(card, c);
    }
    const empty = $('charts-empty');
    empty.hidden = charts.length > 0;
    if (!charts.length) {
      empty.textContent = !S.runs.length ? 'Waiting for runs in the log directory…'
        : !selectedRuns().length ? 'Select a run on the left to plot its metrics.'
          : 'Waiting for the first metrics line…';
    }
  }

  function makeChartCard(c) {
    const axisLabel = c.axis === 'line' ? 'line' : c.axis;
    const card = h('div', { class: 'card chart-card', 'data-chart': c.key },
      h('div', { class: 'chart-head' },
        h('span', { class: 'chart-title', text: c.metric }),
        h('span', { class: 'chart-axis' }, h('span', { class: 'chart-scale', text: 'log', hidden: true }), `per ${axisLabel}`)),
      h('div', { class: 'chart-body' }));
    return card;
  }

  function smooth(ys, w) {
    if (!(w > 0) || ys.length < 3) return ys;
    // Exponential moving average with bias correction, as TensorBoard does.
    const out = new Array(ys.length);
    let last = 0;
    let n = 0;
    for (let i = 0; i < ys.length; i++) {
      last = last * w + (1 - w) * ys[i];
      n++;
      out[i] = last / (1 - w ** n);
    }
    return out;
  }

  function niceTicks(lo, hi, count) {
    const span = hi - lo;
    const raw = span / Math.max(1, count);
    const mag = 10 ** Math.floor(Math.log10(raw));
    const r = raw / mag;
    const step = (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag;
    const ticks = [];
    for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) {
      ticks.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
    }
    return ticks;
  }

  function drawChart(card, c) {
    const body = card.querySelector('.chart-body');
    const W = Math.max(240, Math.floor(body.clientWidth || 400));
    const H = CHART_HEIGHT;
    const m = { l: 48, r: 12, t: 10, b: 26 };
    const pw = W - m.l - m.r;
    const ph = H - m.t - m.b;

    // Log scale when asked for, and for a learning rate that spans decades.
    const positive = c.series.every((sr) => sr.ys.every((v) => v > 0));
    let lo = Infinity; let hi = -Infinity;
    for (const sr of c.series) for (const v of sr.ys) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    const autoLog = /^(lr|learning_rate)$/.test(c.metric) && hi / lo > 20;
    const useLog = positive && (S.logScale || autoLog);
    card.querySelector('.chart-scale').hidden = !useLog;
    const ty = useLog ? Math.log10 : (v) => v;

    let x0 = Infinity; let x1 = -Infinity; let y0 = Infinity; let y1 = -Infinity;
    for (const sr of c.series) {
      for (let i = 0; i < sr.xs.length; i++) {
        x0 = Math.min(x0, sr.xs[i]); x1 = Math.max(x1, sr.xs[i]);
        const y = ty(sr.ys[i]);
        y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      }
    }
    if (x0 === x1) { x0 -= 1; x1 += 1; }
    if (c.axis !== 'line' && x0 < 0 && c.series.every((sr) => sr.xs.every((x) => x >= 0))) x0 = 0;
    if (y0 === y1) { const d = Math.abs(y0) * 0.1 || 1; y0 -= d; y1 += d; }
    const pad = (y1 - y0) * 0.06;
    y0 -= pad; y1 += pad;

    const X = (x) => m.l + ((x - x0) / (x1 - x0)) * pw;
    const Y = (y) => m.t + (1 - (ty(y) - y0) / (y1 - y0)) * ph;

    const root = s('svg', {
      class: 'chart', width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img',
      'aria-label': `${c.metric} per ${c.axis}`, 'data-metric': c.metric, 'data-axis': c.axis,
    });

    // grid and axes
    const grid = s('g', { class: 'grid' });
    let yt = niceTicks(y0, y1, 5);
    if (useLog && y1 - y0 >= 0.7) {
      // 1, 2 and 5 times the powers of ten over a few decades; whole decades over more.
      yt = [];
      const decades = y1 - y0;
      const mult = decades < 3 ? [1, 2, 5] : [1];
      const step = Math.max(1, Math.ceil(decades / 6));
      for (let e = Math.floor(y0); e <= Math.ceil(y1); e += step) {
        for (const k of mult) {
          const t = e + Math.log10(k);
          if (t >= y0 && t <= y1) yt.push(t);
        }
      }
    }
    for (const t of yt) {
      if (t < y0 || t > y1) continue;
      const py = m.t + (1 - (t - y0) / (y1 - y0)) * ph;
      grid.append(s('line', { x1: m.l, x2: W - m.r, y1: py, y2: py }));
      const label = s('text', { x: m.l - 8, y: py + 3.5, 'text-anchor': 'end' });
      label.textContent = fmtTick(useLog ? 10 ** t : t);
      root.append(label);
    }
    let xt = niceTicks(x0, x1, Math.max(2, Math.floor(pw / 70)));
    if (c.axis === 'epoch' || c.axis === 'line') xt = xt.filter(Number.isInteger);
    for (const t of xt) {
      if (t < x0 || t > x1) continue;
      const label = s('text', { x: X(t), y: H - 8, 'text-anchor': 'middle' });
      label.textContent = fmtTick(t);
      root.append(label);
    }
    root.prepend(grid);
    root.append(s('line', { class: 'axis-line', x1: m.l, x2: W - m.r, y1: m.t + ph, y2: m.t + ph }));

    // series
    const drawn = [];
    const markers = c.series.every((sr) => sr.xs.length <= Math.max(1, pw / 14));
    for (const sr of c.series) {
      const ys = smooth(sr.ys, S.smoothing);
      // Long series are thinned to about two points per pixel column.
      const stride = Math.max(1, Math.ceil(sr.xs.length / (2 * pw)));
      const pathOf = (vals) => {
        let d = '';
        for (let i = 0; i < vals.length; i += stride) d += `${i ? 'L' : 'M'}${X(sr.xs[i]).toFixed(1)},${Y(vals[i]).toFixed(1)}`;
        const j = vals.length - 1;
        if (j > 0 && j % stride) d += `L${X(sr.xs[j]).toFixed(1)},${Y(vals[j]).toFixed(1)}`;
        return d;
      };
      if (ys !== sr.ys) root.append(s('path', { class: 'series-raw', d: pathOf(sr.ys), stroke: sr.color }));
      root.append(s('path', {
        class: sr.val ? 'series val' : 'series', d: pathOf(ys), stroke: sr.color,
        'data-run': sr.run, 'data-metric': sr.metric, 'data-axis': c.axis, 'data-points': sr.xs.length,
      }));
      if (markers || sr.xs.length === 1) {
        const g = s('g', { class: 'markers' });
        ys.forEach((v, i) => g.append(s('circle', { class: 'marker', cx: X(sr.xs[i]), cy: Y(v), r: 2.6, stroke: sr.color })));
        root.append(g);
      }
      drawn.push({ ...sr, sy: ys });
    }

    // hover layer
    const hot = s('g', { class: 'hover' });
    root.append(hot);
    const hit = s('rect', { class: 'hit', x: m.l, y: m.t, width: pw, height: ph });
    root.append(hit);
    const model = { c, drawn, X, Y, x0, x1, m, pw };
    hit.addEventListener('mousemove', (ev) => hover(ev, root, hot, model));
    hit.addEventListener('mouseleave', () => { hot.replaceChildren(); $('tooltip').hidden = true; });

    body.replaceChildren(root);
    S.charts.set(c.key, model);
  }

  function hover(ev, root, hot, model) {
    const rect = root.getBoundingClientRect();
    const px = ev.clientX - rect.left;
    const xv = model.x0 + ((px - model.m.l) / model.pw) * (model.x1 - model.x0);
    // nearest x over all series
    let best = null;
    for (const sr of model.drawn) {
      for (const x of sr.xs) if (best === null || Math.abs(x - xv) < Math.abs(best - xv)) best = x;
    }
    if (best === null) return;
    const rows = [];
    hot.replaceChildren(s('line', {
      class: 'crosshair', x1: model.X(best), x2: model.X(best), y1: model.m.t, y2: model.m.t + (CHART_HEIGHT - model.m.t - model.m.b),
    }));
    for (const sr of model.drawn) {
      const i = sr.xs.lastIndexOf(best);
      if (i < 0) continue;
      hot.append(s('circle', { class: 'hot', cx: model.X(best), cy: model.Y(sr.sy[i]), r: 4.5, fill: sr.color }));
      rows.push({ sr, v: sr.ys[i], sv: sr.sy[i] });
    }
    rows.sort((a, b) => b.sv - a.sv);
    const tip = $('tooltip');
    tip.replaceChildren(h('div', { class: 'tt-head', text: `${model.c.axis} ${fmt(best)}` }),
      ...rows.map(({ sr, v, sv }) => h('div', { class: 'tt-row' },
        h('span', { class: 'swatch', style: { background: sr.color } }),
        h('span', { class: 'tt-name', text: `${sr.run} · ${sr.metric}` }),
        h('span', { class: 'tt-val', text: S.smoothing > 0 ? `${fmt(sv)} (${fmt(v)})` : fmt(v) }))));
    tip.hidden = false;
    const tw = tip.offsetWidth;
    const th = tip.offsetHeight;
    let left = ev.clientX + 16;
    if (left + tw > window.innerWidth - 8) left = ev.clientX - tw - 16;
    let top = ev.clientY + 12;
    if (top + th > window.innerHeight - 8) top = ev.clientY - th - 12;
    tip.style.left = `${Math.max(8, left)}px`;
    tip.style.top = `${Math.max(8, top)}px`;
  }

  // renderCompare draws the table of the selected runs: latest epoch values
  // and final results, the best value of each column in bold.
  function renderCompare() {
    const runs = selectedRuns().map((n) => S.byName.get(n));
    const card = $('compare-card');
    card.hidden = runs.length === 0;
    const key = JSON.stringify(runs.map((r) => [r.name, r.last, r.results, statusOf(r), r.config && r.config.epochs]));
    if (!runs.length || key === S.compareKey) return;
    S.compareKey = key;
    const lastKeys = new Set();
    const resKeys = new Set();
    for (const r of runs) {
      for (const [k, v] of Object.entries(r.last || {})) if (isNum(v) && !ignoredKey(k)) lastKeys.add(k);
      for (const [k, v] of Object.entries(r.results || {})) if (isNum(v)) resKeys.add(k);
    }
    const byCol = (a, b) => metricRank(a) - metricRank(b) || splitRank(a) - splitRank(b) || a.localeCompare(b);
    const lk = [...lastKeys].sort(byCol);
    const rk = [...resKeys].sort(byCol);
    const best = (keys, get) => {
      const out = new Map();
      if (runs.length < 2) return out;
      for (const k of keys) {
        const vals = runs.map((r) => get(r)[k]).filter(isNum);
        if (vals.length < 2) continue;
        out.set(k, lowerIsBetter(k) ? Math.min(...vals) : Math.max(...vals));
      }
      return out;
    };
    const bl = best(lk, (r) => r.last || {});
    const br = best(rk, (r) => r.results || {});

    const groupRow = h('tr', null, h('th', { class: 'group', colspan: 3 }),
      lk.length ? h('th', { class: 'group', colspan: lk.length, text: 'latest epoch' }) : null,
      rk.length ? h('th', { class: 'group', colspan: rk.length, text: 'final results' }) : null);
    const headRow = h('tr', null, h('th', { text: 'run' }), h('th', { text: 'status' }), h('th', { text: 'epoch' }),
      lk.map((k) => h('th', { text: k })), rk.map((k) => h('th', { text: k })));
    const rows = runs.map((r) => {
      const ep = lastEpoch(r);
      const planned = plannedEpochs(r);
      const st = statusOf(r);
      const tr = h('tr', { 'data-run': r.name },
        h('td', null, h('span', { class: 'cell-run' }, h('span', { class: 'swatch', style: { background: colorOf(r.name) } }), r.display || r.name)),
        h('td', null, h('span', { class: `badge ${st}`, text: st })),
        h('td', { text: ep == null ? '–' : planned ? `${ep}/${planned}` : String(ep) }),
        lk.map((k) => {
          const v = (r.last || {})[k];
          return h('td', { class: isNum(v) && bl.get(k) === v ? 'best' : null, text: fmt(v) });
        }),
        rk.map((k) => {
          const v = (r.results || {})[k];
          return h('td', { class: isNum(v) && br.get(k) === v ? 'best' : null, text: fmt(v) });
        }));
      tr.addEventListener('click', () => setFocus(r.name));
      return tr;
    });
    $('compare').replaceChildren(h('thead', null, (lk.length || rk.length) ? groupRow : null, headRow), h('tbody', null, rows));
  }

  // ---------- images view ----------
  async function loadImages() {
    if (!S.focus) return;
    const ans = await getJSON(`/api/runs/${enc(S.focus)}/images`);
    const key = JSON.stringify(ans);
    if (S.images.run === S.focus && S.images.key === key) return;
    if (S.images.run !== S.focus) { S.images.seqPos = new Map(); stopPlaying(); }
    S.images.run = S.focus;
    S.images.key = key;
    S.images.data = ans;
    S.images.dirty = true;
  }

  const GROUP_TITLES = { plots: 'Plots', explain: 'Explanations' };

  function renderImages() {
    fillRunSelect($('images-run'));
    const name = S.focus;
    $('images-title').textContent = name || 'No run';
    $('images-swatch').style.background = name ? colorOf(name) : 'transparent';
    const box = $('images');
    if (!name) { box.replaceChildren(h('p', { class: 'empty', text: 'No runs yet.' })); return; }
    if (S.images.run !== name || !S.images.dirty) return;
    S.images.dirty = false;
    const ans = S.images.data;
    const parts = [];
    if (ans.sequences.length) {
      parts.push(h('h2', { class: 'section-title', text: 'Samples' }));
      parts.push(h('div', { class: 'seq-grid' }, ans.sequences.map((sq) => sequenceCard(name, sq))));
    }
    for (const g of ans.groups) {
      parts.push(h('h2', { class: 'section-title', text: GROUP_TITLES[g.name] || g.name }));
      parts.push(h('div', { class: 'fig-grid' }, g.images.map((im) => h('figure', { class: 'card figure' },
        h('a', { href: fileURL(name, im.path, im.version), target: '_blank', rel: 'noopener' },
          h('img', { src: fileURL(name, im.path, im.version), alt: im.name, loading: 'lazy' })),
        h('figcaption', { title: im.path, text: im.path })))));
    }
    if (!parts.length) parts.push(h('p', { class: 'empty', text: 'No images in this run yet. Plots and sample grids (PNG files) appear here as the run writes them.' }));
    box.replaceChildren(...parts);
  }

  function sequenceCard(run, sq) {
    const id = `${sq.name}|${sq.axis}`;
    const n = sq.frames.length;
    // A slider at the last frame follows new frames; -1 means "latest".
    let pos = S.images.seqPos.has(id) ? S.images.seqPos.get(id) : -1;
    if (pos >= n) pos = -1;
    const at = pos < 0 ? n - 1 : pos;
    const img = h('img', { alt: `${sq.name} at ${sq.axis} ${sq.frames[at].index}` });
    const label = h('span', { class: 'seq-frame' });
    const slider = h('input', { type: 'range', min: 0, max: n - 1, step: 1, value: at, 'aria-label': `${sq.name} ${sq.axis}` });
    const show = (i) => {
      const f = sq.frames[i];
      img.src = fileURL(run, f.path, f.version);
      label.textContent = `${sq.axis} ${f.index} of ${sq.frames[n - 1].index}`;
      slider.value = i;
    };
    slider.addEventListener('input', () => {
      const i = Number(slider.value);
      S.images.seqPos.set(id, i === n - 1 ? -1 : i);
      show(i);
    });
    const play = h('button', { type: 'button', class: 'icon-btn', title: 'Play', 'aria-label': 'Play' });
    play.append(playIcon());
    play.addEventListener('click', () => {
      if (S.images.playing && S.images.playing.id === id) { stopPlaying(); return; }
      stopPlaying();
      let i = Number(slider.value) >= n - 1 ? 0 : Number(slider.value);
      show(i);
      const timer = setInterval(() => {
        i += 1;
        if (i >= n) { stopPlaying(); return; }
        S.images.seqPos.set(id, i === n - 1 ? -1 : i);
        show(i);
      }, 450);
      S.images.playing = { id, timer };
    });
    show(at);
    return h('div', { class: 'card seq-card', 'data-sequence': sq.name },
      h('div', { class: 'seq-head' }, h('h3', { text: sq.name }), label),
      h('div', { class: 'seq-img' }, img),
      h('div', { class: 'seq-controls' }, play, slider));
  }

  function playIcon() {
    const icon = s('svg', { viewBox: '0 0 12 12' });
    icon.append(s('path', { d: 'M2 1l9 5-9 5z' }));
    return icon;
  }

  function stopPlaying() {
    if (S.images.playing) clearInterval(S.images.playing.timer);
    S.images.playing = null;
  }

  function fillRunSelect(sel) {
    const names = S.runs.map((r) => r.name);
    const have = [...sel.options].map((o) => o.value);
    if (have.join('\u0000') !== names.join('\u0000')) {
      sel.replaceChildren(...names.map((n) => h('option', { value: n, text: dname(n) })));
    }
    if (S.focus) sel.value = S.focus;
  }

  // ---------- run view ----------
  async function loadSummary() {
    const info = S.focus && S.byName.get(S.focus);
    if (!info) return;
    const ver = `${info.name}/${info.modified}`;
    if (S.summary.ver === ver) return;
    if (!info.summary) {
      S.summary = { run: info.name, text: null, ver };
      return;
    }
    const ans = await getJSON(`/api/runs/${enc(info.name)}/summary`);
    S.summary = { run: info.name, text: ans.summary, ver };
  }

  function flatten(obj, prefix, out) {
    for (const [k, v] of Object.entries(obj)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length) flatten(v, key, out);
      else out.push([key, v]);
    }
    return out;
  }

  const valueText = (v) => (typeof v === 'string' ? v : isNum(v) ? fmt(v) : JSON.stringify(v));

  function kvTable(obj) {
    const rows = flatten(obj, '', []).map(([k, v]) => h('tr', null, h('td', { text: k }), h('td', { text: valueText(v) })));
    return h('div', { class: 'kv-wrap' }, h('table', { class: 'kv' }, h('tbody', null, rows)));
  }

  function tiles(obj, sub) {
    const keys = Object.keys(obj).filter((k) => isNum(obj[k]) && !ignoredKey(k)).sort(byMetric);
    return h('div', { class: 'tiles' }, keys.map((k) => {
      const v = obj[k];
      const pct = /acc|accuracy|precision|recall|f1|auc/i.test(k) && v >= 0 && v <= 1;
      return h('div', { class: 'tile' },
        h('div', { class: 'tile-label', title: k, text: k }),
        h('div', { class: 'tile-value', text: pct ? `${(v * 100).toFixed(2)}%` : fmt(v) }),
        sub ? h('div', { class: 'tile-sub', text: sub }) : null);
    }));
  }

  function renderRun() {
    fillRunSelect($('run-run'));
    const info = S.focus && S.byName.get(S.focus);
    $('run-title').textContent = info ? (info.display || info.name) : 'No run';
    $('run-swatch').style.background = info ? colorOf(info.name) : 'transparent';
    const box = $('run-details');
    if (!info) { box.replaceChildren(h('p', { class: 'empty', text: 'No runs yet.' })); S.runKey = ''; return; }
    const st = statusOf(info);
    // Redraw only on a change, so that a selection in the summary survives polls.
    const age = Math.floor((S.serverNow - Date.parse(info.modified)) / 60e3);
    const key = JSON.stringify([info, st, age, S.summary.run, S.summary.ver]);
    if (key === S.runKey) return;
    S.runKey = key;
    const ep = lastEpoch(info);
    const planned = plannedEpochs(info);
    const last = info.last || {};
    const timeS = isNum(last.time_s) ? last.time_s : null;
    const facts = [
      h('span', { class: `badge ${st}`, text: st }),
      ep != null ? h('span', { text: planned ? `epoch ${ep} of ${planned}` : `epoch ${ep}` }) : null,
      timeS != null ? h('span', { text: `${fmtDuration(timeS)} per epoch` }) : null,
      h('span', { class: 'muted', text: `updated ${ago(S.serverNow - Date.parse(info.modified))}` }),
      info.skipped ? h('span', { class: 'muted', text: `${info.skipped} malformed metrics lines skipped` }) : null,
    ];
    const cards = [];
    cards.push(h('div', { class: 'card wide' },
      h('div', { class: 'card-head' }, h('h3', { text: info.results ? 'Final results' : 'Latest epoch' }),
        h('span', { class: 'hint run-facts' }, facts)),
      info.results ? tiles(info.results) : Object.keys(last).length ? tiles(last, ep != null ? `epoch ${ep}` : '')
        : h('p', { class: 'empty-note', text: 'No metrics yet.' })));
    if (info.results && Object.keys(last).length) {
      cards.push(h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h3', { text: 'Last epoch' })), kvTable(last)));
    }
    cards.push(h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h3', { text: 'Configuration' })),
      info.config && typeof info.config === 'object' ? kvTable(info.config) : h('p', { class: 'empty-note', text: 'No config.json.' })));
    const summary = S.summary.run === info.name ? S.summary.text : null;
    cards.push(h('div', { class: 'card wide' }, h('div', { class: 'card-head' }, h('h3', { text: 'Model summary' })),
      summary ? h('pre', { class: 'summary', text: summary }) : h('p', { class: 'empty-note', text: 'No summary.txt.' })));
    box.replaceChildren(h('div', { class: 'detail-grid' }, cards));
  }

  // ---------- rendering ----------
  function render() {
    renderSidebar();
    if (S.tab === 'scalars') renderScalars();
    if (S.tab === 'images') renderImages();
    if (S.tab === 'run') renderRun();
  }

  function init() {
    load();
    $('smoothing').value = S.smoothing;
    $('smoothing-value').textContent = S.smoothing.toFixed(2);
    $('logscale').checked = S.logScale;
    $('smoothing').addEventListener('input', (e) => {
      S.smoothing = Number(e.target.value);
      $('smoothing-value').textContent = S.smoothing.toFixed(2);
      S.chartsDirty = true;
      save();
      renderScalars();
    });
    $('logscale').addEventListener('change', (e) => {
      S.logScale = e.target.checked;
      S.chartsDirty = true;
      save();
      renderScalars();
    });
    $('run-filter').addEventListener('input', (e) => { S.filter = e.target.value.trim(); renderSidebar(); });
    $('select-all').addEventListener('click', () => { S.deselected.clear(); save(); S.chartsDirty = true; render(); poll(); });
    $('select-none').addEventListener('click', () => {
      for (const r of S.runs) S.deselected.add(r.name);
      save(); S.chartsDirty = true; render();
    });
    $('runs-newer').addEventListener('click', () => { S.runOffset = Math.max(0, S.runOffset - 1000); poll(); });
    $('runs-older').addEventListener('click', () => { S.runOffset += S.runs.length; poll(); });
    for (const b of document.querySelectorAll('.tab')) b.addEventListener('click', () => setTab(b.dataset.tab));
    for (const id of ['images-run', 'run-run']) {
      $(id).addEventListener('change', (e) => { S.focus = e.target.value; save(); render(); poll(); });
    }
    let resize = 0;
    window.addEventListener('resize', () => {
      clearTimeout(resize);
      resize = setTimeout(() => { S.chartsDirty = true; renderScalars(); }, 150);
    });
    document.addEventListener('visibilitychange', () => { if (!document.hidden) poll(); });
    window.addEventListener('hashchange', () => {
      const tab = location.hash.replace('#', '');
      if (tab !== S.tab && ['scalars', 'images', 'run'].includes(tab)) setTab(tab);
    });
    setTab(S.tab);
  }

  init();
})();
