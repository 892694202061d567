/* flowhunt HTML report. Builds the page from the JSON in <script id="data">. Every string that
   comes from the logs (names, reasons, peers, file names, skip examples) is inserted with
   textContent or createTextNode, never parsed as HTML, and no link is built from data. Plain
   ES2017, no modules and no fetch, so the page works from file://. */
(function () {
  'use strict';

  var app = document.getElementById('app');
  var D;
  try {
    D = JSON.parse(document.getElementById('data').textContent);
  } catch (e) {
    app.appendChild(el('p', 'error', 'The report data could not be read: ' + e.message));
    return;
  }

  var COLORS = ['#1f5fbf', '#d1495b', '#2a9d8f', '#e09f3e', '#6a4c93', '#577590'];
  var UTC = 'UTC';
  // Tick steps for counts: whole numbers only.
  var COUNT_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7];

  // --- small DOM helpers: text only ---------------------------------------------------------

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function add(parent, tag, cls, text) {
    var e = el(tag, cls, text);
    parent.appendChild(e);
    return e;
  }
  function txt(parent, s) {
    parent.appendChild(document.createTextNode(String(s)));
  }
  function num(n, digits) {
    if (typeof n !== 'number' || !isFinite(n)) return String(n);
    return n.toLocaleString('en-US', { maximumFractionDigits: digits === undefined ? 3 : digits });
  }
  function bytes(b) {
    if (typeof b !== 'number' || !isFinite(b)) return String(b);
    if (b < 1000) return b + ' B';
    var units = 'kMGTPE', i = -1;
    while (b >= 1000 && i < units.length - 1) { b /= 1000; i++; }
    return b.toFixed(1) + ' ' + units[i] + 'B';
  }
  function when(unix) {
    return new Date(unix * 1000).toISOString().slice(0, 16).replace('T', ' ');
  }
  function dayLabel(unix) {
    var d = new Date(unix * 1000);
    return ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()] + ' ' + d.toISOString().slice(5, 10);
  }
  function duration(s) {
    if (s % 86400 === 0) return (s / 86400) + ' day' + (s === 86400 ? '' : 's');
    if (s % 3600 === 0) return (s / 3600) + ' h';
    if (s % 60 === 0) return (s / 60) + ' min';
    return s + ' s';
  }
  function plural(n, word) { return num(n) + ' ' + word + (n === 1 ? '' : 's'); }
  function badge(parent, text, cls) { return add(parent, 'span', 'badge' + (cls ? ' ' + cls : ''), text); }
  function hostCats(h) {
    var out = [];
    h.findings.forEach(function (f) { if (out.indexOf(f.category) < 0) out.push(f.category); });
    return out;
  }

  // --- summary -------------------------------------------------------------------------------

  function renderSummary() {
    var s = D.summary;
    add(app, 'h2', null, 'Run summary');
    var dl = add(app, 'dl', 'summary');
    function row(label, value) {
      add(dl, 'dt', null, label);
      var dd = add(dl, 'dd');
      if (typeof value === 'string') dd.textContent = value;
      else if (value) dd.appendChild(value);
      return dd;
    }
    var fmts = Object.keys(s.formats || {}).sort().map(function (k) { return k + ' \u00d7' + s.formats[k]; });
    var files = (s.files || []).length + (D.files_more || 0);
    row('Inputs', plural(files, 'file') + (fmts.length ? ' (' + fmts.join(', ') + ')' : ''));
    row('Records', num(s.records));
    var skipped = row('Skipped', num(s.skipped));
    if (s.skipped_by_reason) {
      var reasons = Object.keys(s.skipped_by_reason).sort();
      if (reasons.length) {
        txt(skipped, ': ' + reasons.map(function (r) { return r + ' \u00d7' + num(s.skipped_by_reason[r]); }).join('; '));
      }
    }
    row('Time span', s.from ? s.from + ' to ' + s.to : 'unknown (the input has no timestamps)');
    var ranges = row('Internal ranges', (s.internal || []).join(', ') + ' (' + (s.internal_source || 'unknown') + ')');
    if (s.inferred && s.inferred.length) {
      var ul = add(ranges, 'ul', 'plain');
      s.inferred.forEach(function (inf) { add(ul, 'li', null, 'inferred ' + inf.prefix + ': ' + inf.reason); });
    }
    row('Hosts', plural(s.hosts, 'internal host') + ' originated flows; ' + num(s.flagged) + ' flagged');
    if (D.axis) row('Plots', 'activity in buckets of ' + duration(D.axis.step_s) + ' over the whole span');
    if (s.notes && s.notes.length) {
      var nl = el('ul', 'plain');
      s.notes.forEach(function (n) { add(nl, 'li', null, n.detector + ': ' + n.text); });
      row('Notes', nl);
    }
    if (s.version) row('Version', s.version);
    if (s.files && s.files.length) {
      var det = add(app, 'details');
      add(det, 'summary', null, 'Files read');
      var t = add(det, 'table', 'data');
      var hr = add(add(t, 'thead'), 'tr');
      ['File', 'Format', 'Lines', 'Records', 'Skipped', 'Remarks'].forEach(function (h, i) {
        add(hr, 'th', i >= 2 && i <= 4 ? 'num' : null, h);
      });
      var tb = add(t, 'tbody');
      s.files.forEach(function (f) {
        var tr = add(tb, 'tr');
        add(tr, 'td', 'mono', f.file);
        add(tr, 'td', null, f.format || '');
        add(tr, 'td', 'num', num(f.lines));
        add(tr, 'td', 'num', num(f.records));
        add(tr, 'td', 'num', num(f.skipped));
        var rm = [];
        if (f.ignored) rm.push('ignored: ' + f.ignored);
        (f.skips || []).forEach(function (sk) {
          rm.push(sk.reason + ' \u00d7' + num(sk.count) + (sk.example ? ' (first' + (sk.first_line ? ' at line ' + sk.first_line : '') + ': ' + sk.example + ')' : ''));
        });
        if (f.unused_columns && f.unused_columns.length) rm.push('unused columns: ' + f.unused_columns.join(', '));
        add(tr, 'td', null, rm.join('; '));
      });
      if (D.files_more) add(det, 'p', 'muted', D.files_more + ' more files not listed.');
    }
  }

  // --- ranked host table -------------------------------------------------------------------

  var sections = []; // per host index: its <details>

  function renderTable() {
    add(app, 'h2', null, 'Ranked hosts');
    if (!D.hosts.length) {
      add(app, 'p', null, 'No host flagged.');
      return;
    }
    var controls = add(app, 'div', 'controls');
    var lab = add(controls, 'label', null, 'Category ');
    var sel = add(lab, 'select');
    var all = add(sel, 'option', null, 'all categories');
    all.value = '';
    D.categories.forEach(function (c) { var o = add(sel, 'option', null, c); o.value = c; });
    var lab2 = add(controls, 'label', null, 'Host ');
    var search = add(lab2, 'input');
    search.type = 'search';
    search.placeholder = 'address contains';
    var shown = add(controls, 'span', 'muted');

    var cols = [
      { name: 'Rank', key: function (h) { return h.rank; }, num: true },
      { name: 'Host', key: function (h) { return h.ip; } },
      { name: 'Score', key: function (h) { return h.score; }, num: true },
      { name: 'Categories', key: function (h) { return h.categories.join(','); } },
      { name: 'Findings', key: function (h) { return h.findings.length + (h.findings_more || 0); }, num: true },
      { name: 'Flows out', key: function (h) { return h.flows_out; }, num: true },
      { name: 'Sent', key: function (h) { return h.bytes_sent; }, num: true },
      { name: 'Top finding', key: function (h) { return h.findings.length ? h.findings[0].reason : ''; } }
    ];
    var t = add(app, 'table', 'data hosts');
    var hr = add(add(t, 'thead'), 'tr');
    var ths = cols.map(function (c, i) {
      var th = add(hr, 'th', c.num ? 'num' : null, c.name);
      th.tabIndex = 0;
      th.addEventListener('click', function () { sortBy(i); });
      th.addEventListener('keydown', function (e) { if (e.key === 'Enter') sortBy(i); });
      return th;
    });
    var tb = add(t, 'tbody');
    var rows = D.hosts.map(function (h, idx) {
      var tr = el('tr');
      add(tr, 'td', 'num', h.rank);
      var td = add(tr, 'td', 'ip');
      var a = add(td, 'a', null, h.ip);
      a.href = '#host-' + h.rank; // built from the rank, a number, never from data
      a.addEventListener('click', function () { openHost(idx); });
      add(tr, 'td', 'num', h.score.toFixed(2));
      var cats = add(tr, 'td');
      h.categories.forEach(function (c) { badge(cats, c, h.flagged ? 'flagged' : 'candidate'); });
      add(tr, 'td', 'num', h.findings.length + (h.findings_more || 0));
      add(tr, 'td', 'num', num(h.flows_out));
      add(tr, 'td', 'num', bytes(h.bytes_sent));
      var top = add(tr, 'td', 'top');
      if (h.findings.length) {
        badge(top, h.findings[0].category);
        txt(top, h.findings[0].reason);
      }
      return { tr: tr, host: h, idx: idx, cats: hostCats(h) };
    });
    var sortCol = 0, sortDir = 1;
    function sortBy(i) {
      if (sortCol === i) sortDir = -sortDir;
      else { sortCol = i; sortDir = cols[i].num && i !== 0 ? -1 : 1; }
      draw();
    }
    function draw() {
      var key = cols[sortCol].key;
      var sorted = rows.slice().sort(function (x, y) {
        var a = key(x.host), b = key(y.host);
        var c = typeof a === 'number' ? a - b : String(a).localeCompare(String(b));
        return c !== 0 ? sortDir * c : x.host.rank - y.host.rank;
      });
      ths.forEach(function (th, i) {
        if (i === sortCol) th.setAttribute('aria-sort', sortDir > 0 ? 'ascending' : 'descending');
        else th.removeAttribute('aria-sort');
      });
      var cat = sel.value, q = search.value.trim();
      var n = 0;
      while (tb.firstChild) tb.removeChild(tb.firstChild);
      sorted.forEach(function (r) {
        var ok = (!cat || r.cats.indexOf(cat) >= 0) && (!q || r.host.ip.indexOf(q) >= 0);
        if (sections[r.idx]) sections[r.idx].style.display = ok ? '' : 'none';
        if (!ok) return;
        n++;
        tb.appendChild(r.tr);
      });
      shown.textContent = 'showing ' + n + ' of ' + rows.length;
    }
    sel.addEventListener('change', draw);
    search.addEventListener('input', draw);
    drawTable = draw;
    draw();
    if (D.more_hosts) {
      add(app, 'p', 'note', plural(D.more_hosts, 'more host') + ' with lower scores (at most ' + (D.more_top_score || 0).toFixed(2) +
        ') not listed here: the page lists the top ' + D.limits.hosts + '; flowhunt\u2019s JSON output (-o json) has every host.');
    }
  }
  var drawTable = function () {};

  // --- host sections -------------------------------------------------------------------------

  function renderHosts() {
    if (!D.hosts.length) return;
    add(app, 'h2', null, 'Hosts');
    if (!D.axis) add(app, 'p', 'note', 'The input has no timestamps, so there are no timelines or inter-arrival plots.');
    D.hosts.forEach(function (h, idx) {
      var det = add(app, 'details', 'host');
      det.id = 'host-' + h.rank;
      var sum = add(det, 'summary');
      txt(sum, '#' + h.rank + ' ');
      add(sum, 'span', 'ip', h.ip);
      txt(sum, '  score ' + h.score.toFixed(2) + '  ');
      h.categories.forEach(function (c) { badge(sum, c, h.flagged ? 'flagged' : 'candidate'); });
      var done = false;
      det.addEventListener('toggle', function () {
        if (det.open && !done) { done = true; renderHost(det, h); }
      });
      det._render = function () { if (!done) { done = true; renderHost(det, h); } };
      sections[idx] = det;
    });
    drawTable();
    // The first hosts open at once; the others draw their plots when opened.
    for (var i = 0; i < Math.min(3, sections.length); i++) {
      sections[i].open = true;
      sections[i]._render();
    }
    openFromHash();
    window.addEventListener('hashchange', openFromHash);
  }

  function openHost(idx) {
    var det = sections[idx];
    if (!det) return;
    det.open = true;
    det._render();
  }
  function openFromHash() {
    var m = /^#host-(\d+)$/.exec(window.location.hash);
    if (!m) return;
    var rank = parseInt(m[1], 10);
    for (var i = 0; i < D.hosts.length; i++) {
      if (D.hosts[i].rank === rank) {
        openHost(i);
        sections[i].scrollIntoView();
      }
    }
  }

  function renderHost(det, h) {
    var body = add(det, 'div', 'hostbody');
    var p = add(body, 'p', 'muted');
    p.textContent = 'Originated ' + plural(h.flows_out, 'flow') + ' to ' + plural(h.peers, 'host') + ' on ' +
      plural(h.ports, 'port') + ' (' + bytes(h.bytes_sent) + ' sent, ' + bytes(h.bytes_received) + ' received); answered ' +
      plural(h.flows_in, 'flow') + '.';
    if (h.series_more) {
      add(body, 'p', 'note', plural(h.series_more, 'more suspicious pair') + ' not plotted (the page plots at most ' +
        (h.rank <= D.limits.detailed_hosts ? D.limits.series_top : D.limits.series_rest) + ' per host to stay small).');
    }
    h.findings.forEach(function (f) { renderFinding(body, h, f); });
    if (h.findings_more) add(body, 'p', 'muted', h.findings_more + ' more findings not listed.');
  }

  function renderFinding(parent, h, f) {
    var box = add(parent, 'div', 'finding');
    var head = add(box, 'div');
    badge(head, f.category);
    badge(head, f.flagged ? 'flagged' : 'candidate', f.flagged ? 'flagged' : 'candidate');
    txt(head, ' score ' + f.score.toFixed(2));
    add(box, 'p', 'reason', f.reason);
    if (f.peers.length) {
      var pp = add(box, 'div');
      add(pp, 'span', 'muted', 'Peers: ');
      add(pp, 'span', 'peer', f.peers.join('  '));
      if (f.peers_more) txt(pp, '  and ' + f.peers_more + ' more');
    }
    renderEvidence(box, f.evidence);
    if (f.series && f.series.length && D.axis) {
      plotTimeline(box, h, f);
    }
    if (f.gaps) plotGaps(box, f.gaps);
    if (f.clique) drawClique(box, h, f.clique);
    if (f.category === 'off-hours' && h.heatmap) drawHeatmap(box, h.heatmap, f.evidence.work_hours);
    if (f.category === 'scan' && h.fanout) plotFanOut(box, h.fanout);
    // flowhunt serve's page adds the drill-down to raw flows (live.js); the offline file has none.
    if (D.live && typeof window.flowhuntRawFlows === 'function') window.flowhuntRawFlows(box, h, f);
  }

  function renderEvidence(parent, ev) {
    var keys = Object.keys(ev || {}).sort();
    if (!keys.length) return;
    var det = add(parent, 'details');
    add(det, 'summary', 'muted', 'Evidence (' + keys.length + ' numbers)');
    var t = add(det, 'table', 'evidence');
    keys.forEach(function (k) {
      var tr = add(t, 'tr');
      add(tr, 'td', null, k);
      var v = ev[k], s;
      if (Array.isArray(v)) s = v.map(function (x) { return typeof x === 'object' ? JSON.stringify(x) : String(x); }).join(', ');
      else if (v !== null && typeof v === 'object') s = JSON.stringify(v);
      else if (typeof v === 'number') s = num(v) + (/bytes/.test(k) && v >= 1000 ? ' (' + bytes(v) + ')' : '');
      else s = String(v);
      add(tr, 'td', 'mono', s);
    });
  }

  function plotWidth(parent) {
    return Math.max(360, Math.min(1100, (parent.clientWidth || 900) - 8));
  }

  function plotBox(parent, title, caption) {
    var box = add(parent, 'div', 'plot');
    add(box, 'div', 'title', title);
    if (caption) add(box, 'div', 'caption', caption);
    return box;
  }

  function utcDate(ts) {
    return uPlot.tzDate(new Date(ts * 1000), UTC);
  }

  // Time ticks in UTC, 24-hour: the date at midnight or when ticks are days apart, else HH:MM.
  function timeTicks(u, splits) {
    var daily = splits.length > 1 && splits[1] - splits[0] >= 86400;
    return splits.map(function (v) {
      var iso = new Date(v * 1000).toISOString();
      var hm = iso.slice(11, 16);
      return daily || hm === '00:00' ? iso.slice(5, 10) : hm;
    });
  }

  // Timeline: distinct flow-start seconds per bucket for each of the finding's pairs.
  function plotTimeline(parent, h, f) {
    var ax = D.axis;
    var xs = new Array(ax.points);
    for (var i = 0; i < ax.points; i++) xs[i] = ax.start + i * ax.step_s;
    var data = [xs];
    var series = [{ label: 'time (UTC)', value: function (u, v) { return v === null || v === undefined ? '--' : when(v); } }];
    f.series.forEach(function (si, k) {
      var s = h.series[si];
      data.push(s.counts);
      series.push({ label: (s.inbound ? '\u2190 ' : '\u2192 ') + s.peer, stroke: COLORS[k % COLORS.length], width: 1.5, points: { show: false } });
    });
    var box = plotBox(parent, (f.category === 'exfil' ? 'Flows to the destination over time' : 'Activity over the whole span'),
      'Each point counts the distinct seconds in which a flow started, per ' + duration(ax.step_s) + '; \u2192 flows the host originated, \u2190 flows it received.');
    var chart = add(box, 'div');
    new uPlot({
      width: plotWidth(parent), height: 260, tzDate: utcDate, series: series,
      scales: { x: { time: true }, y: { range: function (u, lo, hi) { return [0, Math.max(1, hi)]; } } },
      axes: [{ values: timeTicks }, { label: 'distinct flow-start seconds / ' + duration(ax.step_s), labelFont: '11px system-ui, sans-serif', size: 60, incrs: COUNT_INCRS }]
    }, data, chart);
    var t = add(box, 'table', 'data');
    var hr = add(add(t, 'thead'), 'tr');
    ['Pair', 'Names', 'Flows', 'Distinct seconds', 'Sent', 'Internal hosts reaching it'].forEach(function (c, i) {
      add(hr, 'th', i >= 2 ? 'num' : null, c);
    });
    var tb = add(t, 'tbody');
    f.series.forEach(function (si) {
      var s = h.series[si];
      var tr = add(tb, 'tr');
      add(tr, 'td', 'mono', s.inbound ? s.peer + ' \u2192 ' + h.ip : h.ip + ' \u2192 ' + s.peer);
      add(tr, 'td', null, (s.names || []).join(', '));
      add(tr, 'td', 'num', num(s.flows));
      add(tr, 'td', 'num', num(s.seconds) + (s.capped ? ' (capped at ' + num(D.limits.max_pair_seconds) + ')' : ''));
      add(tr, 'td', 'num', bytes(s.bytes_out));
      add(tr, 'td', 'num', s.inbound ? '' : num(s.prevalence));
    });
  }

  function barPlot(parent, width, xs, ys, label, xAxis, xValue, yLabel) {
    var chart = add(parent, 'div');
    var step = xs.length > 1 ? xs[1] - xs[0] : 1;
    new uPlot({
      width: width, height: 200,
      series: [
        { label: xAxis, value: function (u, v) { return v === null || v === undefined ? '--' : xValue(v); } },
        { label: label, stroke: COLORS[0], fill: 'rgba(31,95,191,0.35)', width: 1, paths: uPlot.paths.bars({ size: [0.9, 40], align: 1 }), points: { show: false } }
      ],
      scales: { x: { time: false, range: function () { return [xs[0], xs[xs.length - 1] + step]; } }, y: { range: function (u, lo, hi) { return [0, Math.max(1, hi)]; } } },
      axes: [
        { label: xAxis, incrs: COUNT_INCRS, values: function (u, splits) { return splits.map(function (v) { return xValue(v); }); } },
        { label: yLabel, size: 60, incrs: COUNT_INCRS }
      ]
    }, [xs, ys], chart);
  }

  // Beacon and C2: histogram of the seconds between consecutive flows.
  function plotGaps(parent, g) {
    var xs = g.counts.map(function (c, i) { return g.from_s + i * g.bin_s; });
    var cap = num(g.gaps) + ' gaps between distinct flow-start seconds, median ' + num(g.median_s) + ' s; bins of ' + g.bin_s + ' s';
    if (g.under) cap += '; ' + plural(g.under, 'gap') + ' under ' + num(g.from_s) + ' s not drawn';
    if (g.over) cap += '; ' + plural(g.over, 'gap') + ' of ' + num(g.from_s + xs.length * g.bin_s) + ' s or more not drawn';
    var box = plotBox(parent, 'Inter-arrival times', cap);
    barPlot(box, plotWidth(parent), xs, g.counts, 'gaps', 'seconds between flows', function (v) { return num(v) + ' s'; }, 'gaps');
  }

  // Scan: distinct destinations per port.
  function plotFanOut(parent, fo) {
    var xs = fo.ports.map(function (p, i) { return i; });
    var cap = plural(fo.dsts_total, 'distinct destination') + ' on ' + plural(fo.ports_total, 'port');
    if (fo.ports.length < fo.ports_total) cap += '; the ' + fo.ports.length + ' ports with the most destinations are drawn';
    var box = plotBox(parent, 'Fan-out per destination port', cap);
    var portAt = function (v) {
      var i = Math.round(v);
      return i === v && i >= 0 && i < fo.ports.length ? String(fo.ports[i]) : '';
    };
    barPlot(box, plotWidth(parent), xs, fo.dsts, 'destinations', 'destination port', portAt, 'distinct destinations');
  }

  // Off-hours: flows per hour of day (columns) and day (rows), UTC: to the finding's
  // destinations, then all the host's flows.
  function drawHeatmap(parent, hm, workHours) {
    var work = /^(\d\d)-(\d\d)$/.exec(workHours || '');
    var ws = work ? parseInt(work[1], 10) : -1, we = work ? parseInt(work[2], 10) : -1;
    var note = work ? '; hours outside ' + workHours + ' in red on the header' : '';
    if (hm.days_more) note += '; the last ' + hm.counts.length + ' days (' + hm.days_more + ' earlier not shown)';
    if (hm.peer_counts) {
      heatGrid(plotBox(parent, 'Hour of day: flows to ' + hm.peers.join(', '),
        'Distinct flow-start seconds per hour (' + hm.zone + ')' + note), hm.peer_counts);
    }
    heatGrid(plotBox(parent, 'Hour of day: all flows the host originated', 'Flows per hour (' + hm.zone + ')' + note), hm.counts);

    function heatGrid(box, counts) {
      var grid = add(box, 'div', 'heatmap');
      grid.style.gridTemplateColumns = 'max-content repeat(24, minmax(10px, 22px))';
      var top = 0;
      counts.forEach(function (row) { row.forEach(function (c) { top = Math.max(top, c); }); });
      add(grid, 'div');
      for (var hr = 0; hr < 24; hr++) {
        add(grid, 'div', 'hdr' + (work && (hr < ws || hr >= we) ? ' off' : ''), hr < 10 ? '0' + hr : String(hr));
      }
      counts.forEach(function (row, d) {
        var day = hm.first_day + d * 86400;
        add(grid, 'div', 'day', dayLabel(day));
        row.forEach(function (c, h) {
          var cell = add(grid, 'div', 'cell');
          if (c > 0 && top > 0) {
            cell.style.background = 'rgba(209,73,91,' + (0.12 + 0.88 * c / top).toFixed(3) + ')';
          }
          cell.title = when(day + h * 3600) + ' ' + hm.zone + ': ' + num(c);
        });
      });
    }
  }

  // P2P: the members on a circle, a line where flows go, and the flow matrix.
  function drawClique(parent, h, c) {
    var n = c.members.length;
    var cap = plural(n, 'member') + ' on ' + c.port + (c.members_more ? ' (' + c.members_more + ' more not drawn)' : '') +
      '; lines join members with flows either way';
    var box = plotBox(parent, 'Group members', cap);
    var size = 320;
    var canvas = add(box, 'canvas');
    var ratio = window.devicePixelRatio || 1;
    canvas.width = size * 1.6 * ratio;
    canvas.height = size * ratio;
    canvas.style.width = (size * 1.6) + 'px';
    canvas.style.height = size + 'px';
    var ctx = canvas.getContext('2d');
    if (ctx) {
      ctx.scale(ratio, ratio);
      var cx = size * 0.8, cy = size / 2, r = size / 2 - 40;
      var pos = c.members.map(function (m, i) {
        var a = -Math.PI / 2 + 2 * Math.PI * i / n;
        return [cx + r * Math.cos(a), cy + r * Math.sin(a)];
      });
      var top = 1;
      c.flows.forEach(function (row) { row.forEach(function (x) { top = Math.max(top, x); }); });
      for (var i = 0; i < n; i++) {
        for (var j = i + 1; j < n; j++) {
          var f = c.flows[i][j] + c.flows[j][i];
          if (!f) continue;
          ctx.strokeStyle = 'rgba(31,95,191,0.6)';
          ctx.lineWidth = 1 + 3 * Math.log(1 + f) / Math.log(1 + 2 * top);
          ctx.beginPath();
          ctx.moveTo(pos[i][0], pos[i][1]);
          ctx.lineTo(pos[j][0], pos[j][1]);
          ctx.stroke();
        }
      }
      ctx.font = '12px ui-monospace, Menlo, Consolas, monospace';
      ctx.textAlign = 'center';
      c.members.forEach(function (m, i) {
        var self = m === h.ip;
        ctx.fillStyle = self ? '#d1495b' : '#1f5fbf';
        ctx.beginPath();
        ctx.arc(pos[i][0], pos[i][1], self ? 7 : 5, 0, 2 * Math.PI);
        ctx.fill();
        ctx.fillStyle = '#1d2330';
        var below = pos[i][1] >= cy;
        ctx.fillText(m, pos[i][0], pos[i][1] + (below ? 20 : -12));
      });
    }
    var t = add(box, 'table', 'clique');
    var hr = add(add(t, 'thead'), 'tr');
    add(hr, 'th', null, 'flows from \u2193 to \u2192');
    c.members.forEach(function (m) { add(hr, 'th', null, m); });
    var tb = add(t, 'tbody');
    c.members.forEach(function (m, i) {
      var tr = add(tb, 'tr');
      add(tr, 'th', null, m);
      c.members.forEach(function (x, j) {
        add(tr, 'td', i === j ? 'self' : null, i === j ? '' : num(c.flows[i][j]));
      });
    });
  }

  // -------------------------------------------------------------------------------------------

  try {
    if (D.generated) {
      add(app, 'p', 'muted', 'Generated ' + D.generated.replace('T', ' ').replace('Z', ' UTC') + '.');
    }
    renderSummary();
    renderTable();
    renderHosts();
  } catch (e) {
    app.appendChild(el('p', 'error', 'The report could not be drawn: ' + e.message));
    throw e;
  }
})();
