// convtrace ui: a plain-JavaScript front end over the JSON API (or, in a
// report written by `convtrace report --html`, over the answers embedded in
// the page). Captured content is attacker-controlled text: every value goes
// into the page through textContent or attributes, never through innerHTML.
'use strict';

(function () {
  const embeddedNode = document.getElementById('convtrace-data');
  const REPORT = embeddedNode ? JSON.parse(embeddedNode.textContent) : null;
  const TOKEN = new URLSearchParams(location.search).get('token');
  const PAGE = 50;
  const LIST_IN_REPORT = 500;  // rows a report embeds per listing (cli/cmd_report_html.cc)

  // --- Data ------------------------------------------------------------------

  // The canonical "path?query" of a request: parameters sorted by name,
  // empty ones left out. A report embeds its answers under these keys.
  function requestKey(path, params) {
    const names = Object.keys(params || {}).filter((k) => params[k] !== undefined &&
                                                         params[k] !== null && params[k] !== '');
    names.sort();
    const query = names.map((k) => encodeURIComponent(k) + '=' + encodeURIComponent(String(params[k])));
    return path + (query.length ? '?' + query.join('&') : '');
  }

  async function api(path, params) {
    const key = requestKey(path, params);
    if (REPORT) {
      if (Object.prototype.hasOwnProperty.call(REPORT.responses, key)) return REPORT.responses[key];
      throw new Error('not in this report: ' + key);
    }
    const headers = TOKEN ? { Authorization: 'Bearer ' + TOKEN } : {};
    const res = await fetch(key, { headers });
    const body = await res.json();
    if (!res.ok) throw new Error(body.error || ('HTTP ' + res.status));
    return body;
  }

  // --- DOM helpers (text only) -------------------------------------------------

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') node.textContent = String(v);
      else if (k === 'class') node.className = v;
      else if (k === 'onclick') node.addEventListener('click', v);
      else if (k === 'onchange') node.addEventListener('change', v);
      else if (k === 'style') Object.assign(node.style, v);
      else node.setAttribute(k, String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      node.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    }
    return node;
  }

  function link(text, route, params, extra) {
    return el('a', Object.assign({ href: '#' + requestKey(route, params), text }, extra || {}));
  }

  const usd = (exact) => (exact === null || exact === undefined ? '–' : '$' + exact);
  const num = (n) => (n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US'));
  function duration(nanos) {
    const ms = Number(nanos) / 1e6;
    if (ms >= 1000) return (ms / 1000).toFixed(2) + ' s';
    if (ms >= 10) return ms.toFixed(1) + ' ms';
    return ms.toFixed(2) + ' ms';
  }
  const shortTime = (rfc) => (rfc ? rfc.slice(0, 19).replace('T', ' ') : '–');

  function badge(outcome) {
    return el('span', { class: 'badge ' + outcome, text: outcome });
  }

  // A table: columns [{title, cell(row) → node|string, num, sort}], rows.
  function table(columns, rows, opts) {
    const head = el('tr', {}, columns.map((c) => {
      const th = el('th', { class: (c.num ? 'num ' : '') + (c.sort && opts && opts.onSort ? 'sortable' : ''),
                            text: c.title });
      if (c.sort && opts && opts.onSort) th.addEventListener('click', () => opts.onSort(c.sort));
      return th;
    }));
    const body = rows.map((r) => el('tr', {}, columns.map((c) => {
      const v = c.cell(r);
      return el('td', { class: c.num ? 'num' : '' }, typeof v === 'object' && v !== null ? v : String(v));
    })));
    return el('table', { 'data-testid': opts && opts.testid }, el('thead', {}, head), el('tbody', {}, body));
  }

  function card(label, value, testid) {
    return el('div', { class: 'card' }, el('div', { class: 'muted', text: label }),
              el('div', { class: 'value', text: value, 'data-testid': testid }));
  }

  // --- Routing and the time range ------------------------------------------------

  function route() {
    const hash = location.hash.replace(/^#/, '') || '/overview';
    const q = hash.indexOf('?');
    const path = q < 0 ? hash : hash.slice(0, q);
    const params = Object.fromEntries(new URLSearchParams(q < 0 ? '' : hash.slice(q + 1)));
    return { path, params };
  }

  function go(path, params) { location.hash = requestKey(path, params); }

  // The time range every page passes on: the report's own, or since/until of the URL.
  function range(params) {
    if (REPORT) return { since: REPORT.range.since, until: REPORT.range.until };
    return { since: params.since, until: params.until };
  }

  function isoDay(offsetDays) {
    const d = new Date(Date.now() - offsetDays * 86400000);
    return d.toISOString().slice(0, 10);
  }

  function renderRangePicker(current) {
    const box = document.getElementById('range');
    box.replaceChildren();
    if (REPORT) {
      box.appendChild(el('span', { class: 'muted', text: 'report of ' + (REPORT.range.since || 'the start') +
                                   ' – ' + (REPORT.range.until || 'now') + ', written ' + REPORT.written }));
      return;
    }
    const r = range(current.params);
    const since = el('input', { type: 'text', placeholder: 'since (YYYY-MM-DD)', value: r.since || '',
                                size: 14, 'data-testid': 'since' });
    const until = el('input', { type: 'text', placeholder: 'until', value: r.until || '', size: 14,
                                'data-testid': 'until' });
    const apply = (s, u) => go(current.path, Object.assign({}, current.params, { since: s, until: u, offset: '' }));
    const preset = el('select', { 'data-testid': 'range-preset', onchange: (e) => {
      const v = e.target.value;
      if (v === 'all') apply('', '');
      else if (v) apply(isoDay(Number(v)), '');
    } }, el('option', { value: '', text: 'time range…' }), el('option', { value: 'all', text: 'all time' }),
    el('option', { value: '1', text: 'since yesterday' }), el('option', { value: '7', text: 'last 7 days' }),
    el('option', { value: '30', text: 'last 30 days' }));
    box.append(preset, ' ', since, ' ', until, ' ',
               el('button', { text: 'apply', onclick: () => apply(since.value.trim(), until.value.trim()) }));
  }

  const PAGES = [
    ['/overview', 'Overview'], ['/conversations', 'Conversations'], ['/workflows', 'Workflows'],
    ['/users', 'Users'], ['/models', 'Models'],
  ];

  function renderNav(current) {
    const nav = document.getElementById('nav');
    const r = range(current.params);
    nav.replaceChildren(...PAGES.map(([path, title]) =>
      link(title, path, REPORT ? {} : r, { class: current.path === path ? 'active' : '' })));
  }

  // --- Charts (uPlot when the build bundled it, else a table) ----------------------

  const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#64748b'];

  // Seconds since the epoch of a bucket's name: "YYYY-MM-DD" (a UTC day) or an
  // RFC 3339 hour.
  const bucketStart = (name) => Date.parse(name.length === 10 ? name + 'T00:00:00Z' : name) / 1000;

  function spendChart(spend) {
    const box = el('div', { class: 'chart', 'data-testid': 'spend-chart', 'data-bucket': spend.bucket,
                            'data-stack': spend.stack });
    if (!spend.buckets.length || !spend.series.length) {
      return el('p', { class: 'muted', 'data-testid': 'spend-chart', 'data-bucket': spend.bucket,
                       'data-stack': spend.stack, text: 'No spend in this range.' });
    }
    const label = (i) => (spend.bucket === 'day' ? spend.buckets[i] : shortTime(spend.buckets[i]).slice(0, 16));
    if (typeof window.uPlot !== 'function') {
      box.appendChild(table([{ title: spend.bucket, cell: label }].concat(spend.series.map((s) => ({
        title: s.name, num: true, cell: (i) => usd(s.cost_usd_exact[i]) }))), spend.buckets.map((_, i) => i)));
      return box;
    }
    // An empty bucket on each side, so that a single bucket is a bar, not a line.
    const step = spend.bucket === 'day' ? 86400 : 3600;
    const xs = spend.buckets.map(bucketStart);
    xs.unshift(xs[0] - step);
    xs.push(xs[xs.length - 1] + step);
    // Stacked: each series is drawn as its running sum over the ones before it.
    const stacked = [];
    let base = spend.buckets.map(() => 0);
    for (const s of spend.series) {
      base = base.map((b, i) => b + Number(s.cost_pico_usd[i]) / 1e12);
      stacked.push([0].concat(base, [0]));
    }
    // Drawn from the top of the stack down, so each fill stays visible.
    const order = spend.series.map((_, i) => i).reverse();
    const series = [{}].concat(order.map((i) => {
      const s = spend.series[i];
      const colour = PALETTE[i % PALETTE.length];
      return { label: s.name, stroke: colour, fill: colour + 'aa', width: 1, points: { show: false },
               paths: window.uPlot.paths && window.uPlot.paths.bars ? window.uPlot.paths.bars({ size: [0.7, 48] }) : undefined,
               value: (u, v, si, idx) => (idx === null || idx === undefined ? '' : usd(s.cost_usd_exact[idx - 1] || '0')) };
    }));
    const data = [xs].concat(order.map((i) => stacked[i]));
    requestAnimationFrame(() => {
      const width = Math.max(320, box.clientWidth || 900);
      // eslint-disable-next-line no-new
      new window.uPlot({ width, height: 260, series,
                         scales: { x: { time: true }, y: { range: (u, lo, hi) => [0, hi > 0 ? hi * 1.1 : 1] } },
                         axes: [{}, { values: (u, vals) => vals.map((v) => '$' + v.toFixed(4)) }] },
                       data, box);
    });
    return box;
  }

  // Per hour or day, by model or provider: the chart's choices, kept in the URL.
  function spendControls(params, spend) {
    if (REPORT) return null;
    const choose = (name, options, value) => el('select', {
      'data-testid': 'spend-' + name,
      onchange: (e) => go('/overview', Object.assign({}, params, { [name]: e.target.value })),
    }, options.map(([v, text]) => el('option', Object.assign({ value: v, text }, v === value ? { selected: 'selected' } : {}))));
    return el('div', { class: 'controls' },
              choose('bucket', [['', 'per hour or day (by range)'], ['hour', 'per hour'], ['day', 'per day']], params.bucket || ''),
              ' ', choose('stack', [['model', 'by model'], ['provider', 'by provider']], spend.stack));
  }

  function tokensChart(total) {
    const parts = [['input', total.input_tokens], ['cached input', total.cache_read_tokens],
                   ['output', total.output_tokens], ['reasoning', total.reasoning_tokens]];
    return table([{ title: 'tokens', cell: (p) => p[0] }, { title: 'count', num: true, cell: (p) => num(p[1]) }],
                 parts, { testid: 'tokens' });
  }

  // --- Pages ------------------------------------------------------------------------

  async function overview(params) {
    const r = range(params);
    const d = await api('/api/overview', REPORT ? r : Object.assign({ bucket: params.bucket, stack: params.stack }, r));
    const t = d.total;
    const errorRate = t.spans ? ((100 * t.errors) / t.spans).toFixed(1) + '%' : '–';
    return [
      el('h1', { text: 'Overview' }),
      el('div', { class: 'cards' }, card('cost', usd(t.cost_usd_exact), 'total-cost'),
         card('LLM calls', num(t.llm_calls), 'total-calls'), card('spans', num(t.spans), 'total-spans'),
         card('errors', num(t.errors) + ' (' + errorRate + ' of spans)', 'total-errors'),
         card('input / output tokens', num(t.input_tokens) + ' / ' + num(t.output_tokens), 'total-tokens')),
      el('h2', { text: 'Spend per ' + d.spend.bucket + ', stacked by ' + d.spend.stack }),
      spendControls(params, d.spend), spendChart(d.spend),
      el('h2', { text: 'Tokens' }), tokensChart(t),
      el('h2', { text: 'Top conversations by cost' }),
      table([{ title: 'conversation', cell: (c) => link(c.conversation_id, '/conversation', Object.assign({ id: c.conversation_id }, REPORT ? {} : r)) },
             { title: 'user', cell: (c) => c.user_id || '–' }, { title: 'turns', num: true, cell: (c) => num(c.turns) },
             { title: 'errors', num: true, cell: (c) => num(c.errors) },
             { title: 'cost', num: true, cell: (c) => usd(c.cost_usd_exact) }], d.top_conversations, { testid: 'top-conversations' }),
      el('h2', { text: 'Top users by cost' }),
      table([{ title: 'user', cell: (u) => u.user || '(none)' }, { title: 'conversations', num: true, cell: (u) => num(u.conversations) },
             { title: 'LLM calls', num: true, cell: (u) => num(u.llm_calls) },
             { title: 'cost', num: true, cell: (u) => usd(u.cost_usd_exact) }], d.top_users, { testid: 'top-users' }),
      el('h2', { text: 'Cost per workflow type' }),
      table([{ title: 'type', cell: (w) => link(w.workflow_type, '/workflow', Object.assign({ type: w.workflow_type }, REPORT ? {} : r)) },
             { title: 'runs', num: true, cell: (w) => num(w.runs) },
             { title: 'cost', num: true, cell: (w) => usd(w.cost_usd_exact) },
             { title: 'average per run', num: true, cell: (w) => usd(w.avg_cost_per_run_usd_exact) }],
            d.workflow_types, { testid: 'overview-workflows' }),
      el('h2', { text: 'Cost by model' }), modelTable(d.by_model, 'overview-models'),
    ];
  }

  // Call latency percentiles (the Users and Models pages).
  function latencyColumns() {
    const at = (key) => (r) => (r.llm_calls ? duration(r[key]) : '–');
    return [{ title: 'p50 latency', num: true, cell: at('latency_p50_nano') },
            { title: 'p95 latency', num: true, cell: at('latency_p95_nano') },
            { title: 'p99 latency', num: true, cell: at('latency_p99_nano') }];
  }

  function modelTable(rows, testid, extra) {
    return table([{ title: 'model', cell: (m) => m.model || '(none)' }, { title: 'LLM calls', num: true, cell: (m) => num(m.llm_calls) },
                  { title: 'input tokens', num: true, cell: (m) => num(m.input_tokens) },
                  { title: 'output tokens', num: true, cell: (m) => num(m.output_tokens) },
                  { title: 'errors', num: true, cell: (m) => num(m.errors) },
                  { title: 'cost', num: true, cell: (m) => usd(m.cost_usd_exact) }].concat(extra || []), rows, { testid });
  }

  async function conversations(params) {
    const r = range(params);
    const query = Object.assign({}, r, REPORT ? { limit: LIST_IN_REPORT } : {
      user: params.user, min_cost: params.min_cost, errors: params.errors, q: params.q,
      sort: params.sort, offset: params.offset, limit: PAGE,
    });
    const d = await api('/api/conversations', query);
    const out = [el('h1', { text: 'Conversations' })];
    const here = (changes) => go('/conversations', Object.assign({}, params, changes));
    if (!REPORT) {
      const user = el('input', { value: params.user || '', size: 12, 'data-testid': 'filter-user' });
      const cost = el('input', { value: params.min_cost || '', size: 8, placeholder: '0.01', 'data-testid': 'filter-cost' });
      const text = el('input', { value: params.q || '', size: 16, 'data-testid': 'filter-text' });
      const errors = el('input', { type: 'checkbox', 'data-testid': 'filter-errors' });
      errors.checked = params.errors === '1';
      out.push(el('div', { class: 'filters' }, el('label', {}, 'user', user), el('label', {}, 'cost above (USD)', cost),
                  el('label', {}, 'text in content', text), el('label', {}, 'has errors', errors),
                  el('button', { text: 'filter', 'data-testid': 'filter-apply', onclick: () => here({
                    user: user.value.trim(), min_cost: cost.value.trim(), q: text.value.trim(),
                    errors: errors.checked ? '1' : '', offset: '' }) })));
    }
    const sortBy = (key) => {
      const desc = params.sort === key + ':desc' || (!params.sort && key === 'last-seen');
      here({ sort: key + (desc ? ':asc' : ':desc'), offset: '' });
    };
    out.push(table([
      { title: 'conversation', cell: (c) => link(c.conversation_id, '/conversation', Object.assign({ id: c.conversation_id }, REPORT ? {} : r)), sort: 'id' },
      { title: 'user', cell: (c) => c.user_id || '–' },
      { title: 'first seen (UTC)', cell: (c) => shortTime(c.first_seen_time), sort: 'first-seen' },
      { title: 'last seen (UTC)', cell: (c) => shortTime(c.last_seen_time), sort: 'last-seen' },
      { title: 'duration', num: true, cell: (c) => duration(c.duration_nano) },
      { title: 'turns', num: true, cell: (c) => num(c.turns), sort: 'turns' },
      { title: 'LLM calls', num: true, cell: (c) => num(c.llm_calls), sort: 'llm-calls' },
      { title: 'errors', num: true, cell: (c) => num(c.errors), sort: 'errors' },
      { title: 'cost', num: true, cell: (c) => usd(c.cost_usd_exact), sort: 'cost' },
    ], d.rows, { testid: 'conversations', onSort: REPORT ? null : sortBy }));
    if (!d.rows.length) out.push(el('p', { class: 'muted', text: 'No conversations match.' }));
    if (d.text_scan_limited) out.push(el('p', { class: 'muted', text: 'Text search looked at the first conversations only; narrow the range.' }));
    if (!REPORT) {
      const offset = Number(params.offset || 0);
      out.push(el('div', { class: 'pager' },
        offset > 0 ? el('button', { text: '← previous', onclick: () => here({ offset: Math.max(0, offset - PAGE) || '' }) }) : null,
        el('span', { class: 'muted', text: 'rows ' + (offset + 1) + '–' + (offset + d.rows.length) }),
        d.more ? el('button', { text: 'next →', 'data-testid': 'next-page', onclick: () => here({ offset: offset + PAGE }) }) : null));
    }
    return out;
  }

  // Text of captured messages: the GenAI JSON message list when it is one, else the text.
  function messages(text, direction) {
    let list = null;
    try { list = JSON.parse(text); } catch (e) { list = null; }
    if (!Array.isArray(list)) return [{ role: direction === 'in' ? 'input' : 'output', text }];
    return list.map((m) => {
      const parts = Array.isArray(m.parts) ? m.parts : [];
      const content = parts.map((p) => (p && (p.content !== undefined ? (typeof p.content === 'string' ? p.content : JSON.stringify(p.content)) : JSON.stringify(p)))).join('\n');
      return { role: m.role || direction, text: content || (typeof m.content === 'string' ? m.content : JSON.stringify(m)) };
    });
  }

  function chat(turn) {
    const withInput = turn.spans.filter((s) => s.input_messages !== null);
    const withOutput = turn.spans.filter((s) => s.output_messages !== null);
    if (!withInput.length && !withOutput.length) return null;
    const box = el('div', { class: 'chat' });
    if (withInput.length) {
      for (const m of messages(withInput[0].input_messages, 'in')) {
        box.appendChild(el('div', { class: 'bubble in' }, el('span', { class: 'role', text: m.role }), m.text));
      }
    }
    if (withOutput.length) {
      for (const m of messages(withOutput[0].output_messages, 'out')) {
        box.appendChild(el('div', { class: 'bubble out' }, el('span', { class: 'role', text: m.role }), m.text));
      }
    }
    return box;
  }

  const traceCache = new Map();
  async function traceSpans(traceId) {
    if (!traceCache.has(traceId)) traceCache.set(traceId, api('/api/trace', { id: traceId }));
    return traceCache.get(traceId);
  }

  function valueText(v) { return typeof v === 'string' ? v : JSON.stringify(v); }

  async function showSpan(box, span) {
    box.replaceChildren(el('p', { class: 'muted', text: 'Loading attributes…' }));
    const rows = [['name', span.name], ['kind', span.kind || '–'], ['model', span.model || '–'],
                  ['start', span.start_time], ['offset in turn', duration(span.start_offset_nano)],
                  ['duration', duration(span.duration_nano)], ['status', span.status],
                  ['cost', usd(span.cost_usd_exact)], ['trace', span.trace_id], ['span', span.span_id]];
    if (span.error) rows.push(['error', span.error + (span.error_message ? ': ' + span.error_message : '')]);
    const parts = [el('h2', { text: 'Span ' + span.name }),
                   table([{ title: 'field', cell: (r) => r[0] }, { title: 'value', cell: (r) => el('pre', { class: 'text', text: r[1] }) }], rows)];
    for (const e of span.events) {
      parts.push(el('div', {}, el('strong', { text: 'event ' + e.name + ' ' }), el('span', { class: 'muted', text: e.time })),
                 table([{ title: 'key', cell: (a) => a.key }, { title: 'value', cell: (a) => el('pre', { class: 'text', text: valueText(a.value) }) }], e.attributes));
    }
    try {
      const t = await traceSpans(span.trace_id);
      const full = t.spans.find((s) => s.span_id === span.span_id);
      if (full) {
        parts.push(el('h2', { text: 'Attributes' }),
                   table([{ title: 'key', cell: (a) => a.key }, { title: 'value', cell: (a) => el('pre', { class: 'text', text: valueText(a.value) }) }],
                         full.attributes, { testid: 'span-attributes' }),
                   el('h2', { text: 'Resource' }),
                   table([{ title: 'key', cell: (a) => a.key }, { title: 'value', cell: (a) => valueText(a.value) }], full.resource));
      }
    } catch (e) {
      parts.push(el('p', { class: 'muted', text: 'Attributes: ' + e.message }));
    }
    box.replaceChildren(el('div', { class: 'details', 'data-testid': 'span-details' }, parts));
  }

  function waterfall(turn, selected) {
    const total = Math.max(1, Number(turn.duration_nano));
    const details = el('div');
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => el('span', { text: duration(f * total) }));
    const rows = turn.spans.map((s) => {
      const left = (100 * Number(s.start_offset_nano)) / total;
      const width = Math.max(0.3, (100 * Number(s.duration_nano)) / total);
      const bar = el('div', { class: 'wf-bar ' + (s.status === 'error' ? 'error' : s.kind),
                              style: { left: left + '%', width: Math.min(width, 100 - left) + '%' },
                              title: s.name + ' +' + duration(s.start_offset_nano) + ' ' + duration(s.duration_nano) });
      const row = el('div', { class: 'wf-row', 'data-testid': 'span-row', 'data-span': s.span_id },
        el('div', { class: 'wf-name', style: { paddingLeft: (12 * s.depth) + 'px' } },
           s.name, s.model ? el('span', { class: 'muted', text: ' ' + s.model }) : null,
           s.status === 'error' ? el('span', { class: 'error', text: ' ✕ ' + (s.error_message || s.error || 'error') }) : null),
        el('div', { class: 'wf-track' }, bar),
        el('div', { class: 'wf-dur', text: duration(s.duration_nano) }));
      row.addEventListener('click', () => {
        for (const other of row.parentNode.querySelectorAll('.wf-row')) other.classList.remove('selected');
        row.classList.add('selected');
        showSpan(details, s);
      });
      if (selected && selected === s.span_id) requestAnimationFrame(() => row.click());
      return row;
    });
    return el('div', { class: 'waterfall', 'data-testid': 'waterfall' }, el('div', { class: 'axis' }, ticks), el('div', {}, rows), details);
  }

  async function conversation(params) {
    const v = await api('/api/conversation', { id: params.id });
    const out = [el('h1', { text: 'Conversation ' + v.conversation_id }),
      el('div', { class: 'cards' }, card('cost', usd(v.cost_usd_exact), 'conversation-cost'),
         card('turns', num(v.turns.length)), card('LLM calls', num(v.llm_calls)),
         card('errors', num(v.errors), 'conversation-errors'),
         card('users', v.user_ids.join(', ') || '–'))];
    for (const t of v.turns) {
      const models = [...new Set(t.spans.map((s) => s.model).filter((m) => m))];
      const errors = t.spans.filter((s) => s.status === 'error');
      const open = params.turn ? Number(params.turn) === t.turn : t.outcome !== 'ok' || v.turns.length <= 3;
      const body = el('div', { class: 'turn-body' });
      const box = el('section', { class: 'turn' + (open ? '' : ' collapsed'), 'data-testid': 'turn', 'data-turn': t.turn });
      const head = el('div', { class: 'turn-head', 'data-testid': 'turn-head' },
        el('strong', { text: 'Turn ' + t.turn }), badge(t.outcome),
        el('span', { class: 'muted', text: shortTime(t.start_time) + ' UTC' }),
        el('span', { text: models.join(', ') || 'no model call' }),
        el('span', { text: num(t.input_tokens) + ' in / ' + num(t.output_tokens) + ' out tokens' }),
        el('span', { text: usd(t.cost_usd_exact), 'data-testid': 'turn-cost' }),
        el('span', { text: duration(t.duration_nano) }),
        el('span', { class: 'muted', text: 'running ' + usd(t.running_total_usd_exact) }));
      head.addEventListener('click', () => box.classList.toggle('collapsed'));
      for (const s of errors) {
        body.appendChild(el('p', { class: 'error', 'data-testid': 'turn-error' },
          (t.outcome === 'recovered' ? 'recovered from: ' : 'failed: ') + s.name + ' — ' +
          (s.error || 'error') + (s.error_message && s.error_message !== s.error ? ': ' + s.error_message : '')));
      }
      const c = chat(t);
      if (c) body.appendChild(c);
      body.appendChild(waterfall(t, Number(params.turn) === t.turn ? params.span : null));
      box.append(head, body);
      out.push(box);
    }
    return out;
  }

  async function workflows(params) {
    const r = range(params);
    const d = await api('/api/workflows', r);
    return [el('h1', { text: 'Workflows' }),
      table([{ title: 'type', cell: (w) => link(w.workflow_type, '/workflow', Object.assign({ type: w.workflow_type }, REPORT ? {} : r)) },
             { title: 'runs', num: true, cell: (w) => num(w.runs) }, { title: 'cost', num: true, cell: (w) => usd(w.cost_usd_exact) },
             { title: 'average per run', num: true, cell: (w) => usd(w.avg_cost_per_run_usd_exact) },
             { title: 'p50 per run', num: true, cell: (w) => usd(w.p50_run_cost_usd_exact) },
             { title: 'p95 per run', num: true, cell: (w) => usd(w.p95_run_cost_usd_exact) },
             { title: 'LLM calls', num: true, cell: (w) => num(w.llm_calls) }, { title: 'errors', num: true, cell: (w) => num(w.errors) }],
            d.types, { testid: 'workflow-types' })];
  }

  async function workflowType(params) {
    const r = range(params);
    const d = await api('/api/workflow_runs', Object.assign({ type: params.type }, r, REPORT ? { limit: LIST_IN_REPORT } : { offset: params.offset, limit: PAGE }));
    return [el('h1', { text: 'Workflow type ' + params.type }),
      table([{ title: 'run', cell: (w) => link(w.workflow_id, '/run', { id: w.workflow_id, trace: w.trace_id }) },
             { title: 'conversation', cell: (w) => (w.conversation_id ? link(w.conversation_id, '/conversation', { id: w.conversation_id }) : '–') },
             { title: 'user', cell: (w) => w.user_id || '–' }, { title: 'started (UTC)', cell: (w) => shortTime(w.start_time) },
             { title: 'cost', num: true, cell: (w) => usd(w.cost_usd_exact) }, { title: 'LLM calls', num: true, cell: (w) => num(w.llm_calls) },
             { title: 'costliest step', cell: (w) => w.costliest_step || '–' }, { title: 'errors', num: true, cell: (w) => num(w.errors) }],
            d.rows, { testid: 'workflow-runs' })];
  }

  async function run(params) {
    const d = await api('/api/workflow_run', { id: params.id, trace: params.trace });
    return [el('h1', { text: 'Workflow run ' + d.workflow_id }),
      el('div', { class: 'cards' }, card('cost', usd(d.cost_usd_exact), 'run-cost'),
         d.conversation_id ? el('div', { class: 'card' }, el('div', { class: 'muted', text: 'conversation' }), link(d.conversation_id, '/conversation', { id: d.conversation_id })) : null),
      table([{ title: 'step', cell: (s) => el('span', { style: { paddingLeft: (14 * s.depth) + 'px' }, text: s.name }) },
             { title: 'kind', cell: (s) => s.kind || '–' }, { title: 'start', num: true, cell: (s) => '+' + duration(s.start_offset_nano) },
             { title: 'duration', num: true, cell: (s) => duration(s.duration_nano) },
             { title: 'own cost', num: true, cell: (s) => usd(s.own_cost_usd_exact) },
             { title: 'cost with steps below', num: true, cell: (s) => usd(s.subtree_cost_usd_exact) },
             { title: 'share', cell: (s) => el('div', { class: 'share', title: (s.cost_share_ppm / 1e4).toFixed(1) + '%' },
                                               el('span', { style: { width: (s.cost_share_ppm / 1e4) + '%' } })) },
             { title: 'status', cell: (s) => s.status }], d.steps, { testid: 'run-steps' })];
  }

  async function users(params) {
    const d = await api('/api/users', range(params));
    return [el('h1', { text: 'Users' }),
      table([{ title: 'user', cell: (u) => (u.user ? link(u.user, '/conversations', Object.assign({ user: u.user }, REPORT ? {} : range(params))) : '(none)') },
             { title: 'conversations', num: true, cell: (u) => num(u.conversations) },
             { title: 'LLM calls', num: true, cell: (u) => num(u.llm_calls) },
             { title: 'input tokens', num: true, cell: (u) => num(u.input_tokens) },
             { title: 'output tokens', num: true, cell: (u) => num(u.output_tokens) },
             { title: 'errors', num: true, cell: (u) => num(u.errors) },
             { title: 'average per conversation', num: true, cell: (u) => usd(u.avg_cost_per_conversation_usd_exact) },
             { title: 'cost', num: true, cell: (u) => usd(u.cost_usd_exact) }].concat(latencyColumns()), d.rows, { testid: 'users' })];
  }

  async function models(params) {
    const d = await api('/api/models', range(params));
    return [el('h1', { text: 'Models' }), modelTable(d.rows, 'models', latencyColumns())];
  }

  const VIEWS = { '/overview': overview, '/conversations': conversations, '/conversation': conversation,
                  '/workflows': workflows, '/workflow': workflowType, '/run': run, '/users': users, '/models': models };

  let rendering = 0;
  async function render() {
    const current = route();
    renderNav(current);
    renderRangePicker(current);
    const view = VIEWS[current.path] || overview;
    const mine = ++rendering;
    const main = document.getElementById('main');
    try {
      const nodes = await view(current.params);
      if (mine !== rendering) return;
      main.replaceChildren(...nodes.filter((n) => n));
      main.setAttribute('data-ready', String(mine));
    } catch (e) {
      if (mine !== rendering) return;
      main.replaceChildren(el('p', { class: 'error', 'data-testid': 'page-error', text: e.message }));
      main.setAttribute('data-ready', String(mine));
    }
  }

  // --- Live: poll for new spans and redraw the page when there are some ---------------

  let knownSpans = null;
  async function poll() {
    try {
      const d = await api('/api/live', {});
      const live = document.getElementById('live');
      live.textContent = 'live · ' + num(d.span_count) + ' spans';
      live.setAttribute('data-spans', String(d.span_count));
      if (knownSpans !== null && d.span_count !== knownSpans) {
        traceCache.clear();
        await render();
      }
      knownSpans = d.span_count;
    } catch (e) {
      document.getElementById('live').textContent = 'live: ' + e.message;
    }
  }

  window.addEventListener('hashchange', render);
  render();
  if (!REPORT) {
    poll();
    setInterval(poll, 2000);
  }
})();
