/* hlsd web app: bar charts of counts per week, drawn as SVG.
 *
 * A count published after disclosure control is an interval [lo, hi]
 * (withheld: at least 1, below the threshold; rounded: the values that
 * round to it). A bar is drawn solid up to lo (what is certain) and light
 * from lo to hi (what withheld or rounded counts may add): the chart never
 * shows a number nobody published. */
(function () {
  'use strict';
  var HLS = (window.HLS = window.HLS || {});
  var d = HLS.dom;

  function niceStep(max, ticks) {
    if (max <= 0) return 1;
    var raw = max / ticks;
    var mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var norm = raw / mag;
    var step = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10;
    return Math.max(1, step * mag);
  }

  /* '2024-W42' -> ['W42', '2024'] */
  function weekParts(w) {
    var m = /^(\d{4})-W(\d{2})$/.exec(String(w));
    return m ? ['W' + m[2], m[1]] : [String(w), ''];
  }

  /* opts: {title, desc, labels: [week], marked: [bool], series: [{name,
   * values: [{lo, hi, tip}]}], yLabel, max (a shared scale), small} */
  function bars(opts) {
    var small = !!opts.small;
    var W = small ? 360 : 720, H = small ? 170 : 300;
    var m = small ? { l: 34, r: 8, t: 10, b: 34 } : { l: 52, r: 12, t: 14, b: 46 };
    var pw = W - m.l - m.r, ph = H - m.t - m.b;
    var n = opts.labels.length, ns = opts.series.length;
    var max = opts.max || 0;
    if (!opts.max) {
      opts.series.forEach(function (s) {
        s.values.forEach(function (v) { if (v && v.hi > max) max = v.hi; });
      });
    }
    var step = niceStep(max, small ? 3 : 5);
    var top = Math.max(step, Math.ceil(max / step) * step);
    var y = function (v) { return m.t + ph - (v / top) * ph; };
    var band = n > 0 ? pw / n : pw;
    var group = band * 0.78, bw = group / Math.max(1, ns);

    var titleId = d.newId('chart-title'), descId = d.newId('chart-desc');
    var root = d.svg('svg', {
      viewBox: '0 0 ' + W + ' ' + H, class: 'chart' + (small ? ' chart-small' : ''), role: 'img',
      'aria-labelledby': titleId + ' ' + descId, preserveAspectRatio: 'xMidYMid meet'
    });
    root.appendChild(d.svg('title', { id: titleId }, opts.title || 'Counts per week'));
    root.appendChild(d.svg('desc', { id: descId }, opts.desc || ''));

    /* The pattern's weeks, shaded behind the bars. */
    if (opts.marked) {
      for (var i = 0; i < n; i++) {
        if (!opts.marked[i]) continue;
        root.appendChild(d.svg('rect', { class: 'mark', x: m.l + i * band, y: m.t, width: band, height: ph }));
      }
    }

    /* Grid lines and y axis labels. */
    for (var v = 0; v <= top + 1e-9; v += step) {
      var yy = y(v);
      root.appendChild(d.svg('line', { class: v === 0 ? 'axis' : 'grid', x1: m.l, x2: m.l + pw, y1: yy, y2: yy }));
      root.appendChild(d.svg('text', { class: 'tick', x: m.l - 6, y: yy + 4, 'text-anchor': 'end' }, d.fmtNum(v)));
    }
    if (opts.yLabel && !small) {
      root.appendChild(d.svg('text', {
        class: 'axis-label', x: 14, y: m.t + ph / 2, 'text-anchor': 'middle',
        transform: 'rotate(-90 14 ' + (m.t + ph / 2) + ')'
      }, opts.yLabel));
    }

    /* Bars: solid to lo, light from lo to hi. */
    for (var k = 0; k < ns; k++) {
      var s = opts.series[k];
      for (var j = 0; j < n; j++) {
        var val = s.values[j];
        if (!val) continue;
        var x = m.l + j * band + (band - group) / 2 + k * bw;
        var g = d.svg('g', { class: 'bar-group' });
        g.appendChild(d.svg('title', null, val.tip || (opts.labels[j] + ': ' + val.text)));
        if (val.lo > 0) {
          g.appendChild(d.svg('rect', {
            class: 'bar s' + k, x: x.toFixed(1), y: y(val.lo).toFixed(1), width: Math.max(1, bw - 1).toFixed(1),
            height: (y(0) - y(val.lo)).toFixed(1)
          }));
        }
        if (val.hi > val.lo) {
          g.appendChild(d.svg('rect', {
            class: 'bar-range s' + k, x: x.toFixed(1), y: y(val.hi).toFixed(1),
            width: Math.max(1, bw - 1).toFixed(1), height: (y(val.lo) - y(val.hi)).toFixed(1)
          }));
        }
        /* An invisible full-height target, so a hover anywhere in the week
         * shows its numbers. */
        g.appendChild(d.svg('rect', {
          class: 'hit', x: x.toFixed(1), y: m.t, width: Math.max(1, bw).toFixed(1), height: ph
        }));
        root.appendChild(g);
      }
    }

    /* Week labels: at most ~12 (small: 5), the year under the first and
     * where it changes. */
    var every = Math.max(1, Math.ceil(n / (small ? 5 : 12)));
    var lastYear = '';
    for (var w = 0; w < n; w++) {
      var parts = weekParts(opts.labels[w]);
      var cx = m.l + w * band + band / 2;
      var show = w % every === 0;
      if (!show) continue;
      var t = d.svg('text', { class: 'tick', x: cx.toFixed(1), y: m.t + ph + 15, 'text-anchor': 'middle' }, parts[0]);
      root.appendChild(t);
      if (parts[1] && parts[1] !== lastYear) {
        root.appendChild(d.svg('text', { class: 'tick year', x: cx.toFixed(1), y: m.t + ph + 29, 'text-anchor': 'middle' }, parts[1]));
        lastYear = parts[1];
      }
    }
    return root;
  }

  /* A legend under a chart (HTML, so it wraps). items: [{cls, text}] */
  function legend(items) {
    return d.el('ul', { class: 'legend' }, items.map(function (it) {
      return d.el('li', null, d.el('span', { class: 'swatch ' + it.cls, 'aria-hidden': 'true' }), it.text);
    }));
  }

  /* Small multiples: one small chart per series, on one shared scale, so
   * places (or regions) can be compared at a glance. */
  function multiples(opts) {
    var max = 0;
    var partsOf = function (s) { return s.parts || [{ name: s.name, values: s.values }]; };
    opts.series.forEach(function (s) {
      partsOf(s).forEach(function (pt) { pt.values.forEach(function (v) { if (v && v.hi > max) max = v.hi; }); });
    });
    var grid = d.el('div', { class: 'multiples' });
    opts.series.forEach(function (s) {
      var fig = d.el('figure', { class: 'multiple' });
      fig.appendChild(d.el('figcaption', null, s.name));
      fig.appendChild(bars({
        title: s.name + ': ' + (opts.what || 'counts per week'), desc: s.desc || '',
        labels: opts.labels, marked: opts.marked, series: partsOf(s),
        max: max, small: true
      }));
      grid.appendChild(fig);
    });
    return grid;
  }

  HLS.chart = { bars: bars, legend: legend, multiples: multiples, weekParts: weekParts };
})();
