/* flowhunt serve: drill-down from a finding to the raw flows of its pairs. Only in the page the
   server sends; it asks the same server (CSP connect-src 'self') and inserts every value from the
   logs as text. report.js calls window.flowhuntRawFlows(box, host, finding) per finding. */
(function () {
  'use strict';

  var MAX_PEERS = 8;

  function add(parent, tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    parent.appendChild(e);
    return e;
  }

  function size(b) {
    if (!b) return '0';
    var u = ['B', 'kB', 'MB', 'GB', 'TB'], i = 0;
    while (b >= 1000 && i < u.length - 1) { b /= 1000; i++; }
    return (i ? b.toFixed(1) : String(b)) + ' ' + u[i];
  }

  // Peers that name an address (ip, ip:port, [v6]:port); DNS domains have no flows to show.
  function addressPeer(p) {
    return /^[0-9a-fA-F:.\[\]]+$/.test(p) && /[.:]/.test(p);
  }

  function show(out, host, peer, btn) {
    out.textContent = '';
    add(out, 'p', 'muted', 'Reading the inputs for flows between ' + host + ' and ' + peer + '\u2026');
    btn.disabled = true;
    var q = new URLSearchParams({ host: host, peer: peer });
    fetch('api/flows?' + q.toString(), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) throw new Error(body && body.error ? body.error : 'HTTP ' + r.status);
          return body;
        });
      })
      .then(function (body) { render(out, body); })
      .catch(function (e) {
        out.textContent = '';
        add(out, 'p', 'error', 'Raw flows could not be read: ' + e.message);
      })
      .then(function () { btn.disabled = false; });
  }

  function render(out, body) {
    out.textContent = '';
    var note = body.matched + ' record' + (body.matched === 1 ? '' : 's') + ' between ' + body.host + ' and ' + body.peer;
    if (body.matched > body.flows.length) note += '; the first ' + body.flows.length + ' by time are shown';
    add(out, 'p', 'muted', note + '.');
    if (!body.flows.length) return;
    var t = add(out, 'table', 'data rawflows');
    var hr = add(add(t, 'thead'), 'tr');
    var cols = ['Time (UTC)', 'Kind', 'Source', 'Destination', 'Proto', 'Duration', 'Sent', 'Received', 'Packets', 'Action', 'Application'];
    cols.forEach(function (c) { add(hr, 'th', null, c); });
    var tb = add(t, 'tbody');
    body.flows.forEach(function (f) {
      var tr = add(tb, 'tr');
      add(tr, 'td', 'mono', f.time);
      add(tr, 'td', null, f.kind);
      add(tr, 'td', 'mono', f.src);
      add(tr, 'td', 'mono', f.dst);
      add(tr, 'td', null, f.proto);
      add(tr, 'td', 'num', f.duration_s ? f.duration_s.toFixed(3) + ' s' : '');
      add(tr, 'td', 'num', size(f.bytes_out));
      add(tr, 'td', 'num', size(f.bytes_in));
      add(tr, 'td', 'num', (f.pkts_out || 0) + ' / ' + (f.pkts_in || 0));
      add(tr, 'td', null, f.action || '');
      var app = [];
      if (f.dns_query) app.push('dns ' + f.dns_query);
      if (f.tls_sni) app.push('sni ' + f.tls_sni);
      if (f.http_host) app.push('http ' + f.http_host);
      if (f.user_agent) app.push('ua ' + f.user_agent);
      if (f.alert) app.push('alert ' + f.alert);
      add(tr, 'td', null, app.join('; '));
    });
  }

  window.flowhuntRawFlows = function (box, h, f) {
    var peers = (f.peers || []).filter(addressPeer).slice(0, MAX_PEERS);
    if (!peers.length) return;
    var det = add(box, 'details', 'raw');
    add(det, 'summary', 'muted', 'Raw flows');
    var bar = add(det, 'div', 'controls');
    var out = add(det, 'div');
    peers.forEach(function (p) {
      var btn = add(bar, 'button', 'peerbtn', p);
      btn.type = 'button';
      btn.addEventListener('click', function () { show(out, h.ip, p, btn); });
    });
  };
})();
