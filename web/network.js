/* hlsd web app: #/network: this node, the places it hears from, its peers
 * and its pattern feeds. */
(function () {
  'use strict';
  var HLS = (window.HLS = window.HLS || {});
  var d = HLS.dom, el = d.el, ui = HLS.ui, api = HLS.api, W = HLS.words;
  var pages = (HLS.pages = HLS.pages || {});

  function statusSection(ctx) {
    var sec = el('section', { 'aria-labelledby': 'node-h' }, el('h2', { id: 'node-h' }, 'This node'));
    var box = ui.slot();
    sec.appendChild(box);
    box.appendChild(ui.loading());
    api.call('status', {}).then(function (s) {
      if (!ctx.alive()) return;
      var rec = s.records || {};
      var g = s.gossip || {};
      var pt = s.patterns || {};
      var sync = g.syncing ? g.behind + ' items still to receive from connected peers' :
        (g.sessions ? 'up to date with connected peers' : 'no peer connected');
      var bySig = pt.by_signal || {};
      var sigs = W.SIGNALS.filter(function (x) { return bySig[x.value]; }).map(function (x) { return x.label.toLowerCase() + ' ' + bySig[x.value]; });
      var patterns = pt.state === 'loading' ? 'still computing (' + d.fmtNum(pt.loaded_items) + ' items read)' :
        d.fmtNum(pt.live) + ' live' + (sigs.length ? ' (' + sigs.join(', ') + ')' : '') + ', ' + d.fmtNum(pt.ended) + ' ended' +
        (pt.latest_week ? '; latest week of counts ' + pt.latest_week : '');
      ui.fill(box, d.facts([
        ['Place', s.place + (s.region ? ' (' + s.region + ')' : '') + ', ' + (s.role === 'partner' ? 'a national learning partner' : 'a place')],
        ['Node id', el('span', { class: 'mono' }, s.node_id)],
        ['Network', s.network_id],
        ['Listening on', s.listening_on || s.listen || 'not listening'],
        ['Peers connected', String(s.peers_connected)],
        ['Running for', d.fmtDuration(s.uptime_s) + ' (version ' + s.version + ')'],
        ['Records', d.fmtNum(rec.total) + ' (private ' + d.fmtNum(rec.private) + ', counted only ' + d.fmtNum(rec.aggregate) +
          ', peers ' + d.fmtNum(rec.peers) + ', network ' + d.fmtNum(rec.network) + ')'],
        ['Themes', d.fmtNum(s.themes)],
        ['Held from places', d.plural(g.chains, 'place') + ', ' + d.plural(g.items, 'item') + ' (' + d.fmtNum(g.stubs) +
          ' headers only, ' + d.fmtNum(g.erased) + ' taken back)'],
        ['Sync', sync],
        ['Forks', g.forks && g.forks.length ? g.forks.length + ' (a place signed two different items with one number: it is no longer followed)' : 'none'],
        ['Patterns', patterns],
        ['Store', d.fmtBytes(s.store_bytes)]
      ]));
    }, function (err) {
      if (!ctx.alive()) return;
      ui.fill(box, ui.errorBox(err, 'The node\u2019s status could not be loaded'));
    });
    return sec;
  }

  function placesSection(ctx) {
    var sec = el('section', { 'aria-labelledby': 'places-h' }, el('h2', { id: 'places-h' }, 'Places'),
      el('p', { class: 'hint' }, 'Every place whose items this node holds, this one included. A place\u2019s name links to the stories it shared.'));
    var box = ui.slot(), more = ui.slot();
    sec.appendChild(box);
    sec.appendChild(more);
    box.appendChild(ui.loading());
    var rows = [];
    function render() {
      ui.fill(box, ui.table([
        { label: 'Place', cls: 'wide' }, { label: 'Region' }, { label: 'Role' }, { label: 'Items', num: true },
        { label: 'Headers only', num: true }, { label: 'Taken back', num: true }, { label: 'Last heard' }
      ], rows.map(function (p) {
        return [d.link(['stories'], { place: p.node_id }, (p.place || '(no profile held)') + (p.self ? ' (this node)' : ''), { class: 'place-link' }),
          p.region || '', p.role || '', d.fmtNum(p.items), d.fmtNum(p.stubs), d.fmtNum(p.erased), d.timeEl(p.last_heard, true)];
      }), { caption: d.plural(rows.length, 'place') + ' shown', region: 'Places' }));
    }
    function load(after) {
      var a = { limit: 200 };
      if (after) a.after = after;
      return api.call('places', a).then(function (r) {
        if (!ctx.alive()) return;
        rows = rows.concat(r.places || []);
        render();
        d.clear(more);
        if (r.next) more.appendChild(ui.action('More places', function () { return load(r.next); },
          { onError: function (err) { ui.fill(more, ui.errorBox(err)); } }));
      }, function (err) {
        if (!ctx.alive()) return;
        ui.fill(box, ui.errorBox(err, 'The places could not be loaded'));
      });
    }
    load(null);
    return sec;
  }

  function peerState(p) {
    if (p.state === 'connected') return 'connected' + (p.direction ? ' (' + (p.direction === 'out' ? 'we dialled' : 'it dialled') + ')' : '');
    if (p.state === 'backoff' || /^backoff/.test(p.state || '')) {
      return 'waiting to retry' + (typeof p.next_attempt_in_s === 'number' ? ' in ' + p.next_attempt_in_s + ' s' : '');
    }
    return W.PEER_STATES[p.state] || p.state || '';
  }

  function peersSection(ctx) {
    var sec = el('section', { 'aria-labelledby': 'peers-h' }, el('h2', { id: 'peers-h' }, 'Peers'),
      el('p', { class: 'hint' }, 'The nodes this node keeps a connection to. Stories for \u201cour peers\u201d go to the listed ones only. ' +
        'Blocking refuses a node in both directions, and its items from anyone.'));
    var msg = ui.slot(), box = ui.slot();
    sec.appendChild(msg);
    sec.appendChild(box);
    var admin = api.can('peer.add');

    function load() {
      ui.fill(box, ui.loading());
      return api.call('peer.list', {}).then(function (list) {
        if (!ctx.alive()) return;
        list = list || [];
        if (list.length === 0) { ui.fill(box, el('p', { class: 'empty' }, 'No peers yet.')); return; }
        var cols = [{ label: 'Node', cls: 'mono' }, { label: 'Address' }, { label: 'State' }, { label: 'Listed' },
          { label: 'Last seen' }, { label: 'Failures', num: true }, { label: 'Last error' }];
        if (admin) cols.push({ label: 'Actions' });
        ui.fill(box, ui.table(cols, list.map(function (p) {
          var r = [p.node_id, p.address || '\u2013', peerState(p), p.listed ? 'yes' : 'no', d.timeEl(p.last_seen, true),
            d.fmtNum(p.failures || 0), p.last_error || ''];
          if (admin) {
            var acts = el('div', { class: 'row-actions' });
            var done = function (text) { return function () { ui.fill(msg, ui.notice('ok', text)); return load(); }; };
            var fail = function (what) { return function (err) { ui.fill(msg, ui.errorBox(err, what)); }; };
            if (p.state === 'blocked') {
              acts.appendChild(ui.action('Unblock', function () {
                return api.call('peer.unblock', { node_id: p.node_id }).then(done('Unblocked ' + p.node_id + '.'));
              }, { cls: 'btn-small', onError: fail('Not unblocked') }));
            } else {
              acts.appendChild(ui.action('Block', function () {
                return api.call('peer.block', { node_id: p.node_id }).then(done('Blocked ' + p.node_id + '.'));
              }, { cls: 'btn-small btn-danger', confirm: 'Block ' + p.node_id + '? Its items are refused from every peer until you unblock it.', onError: fail('Not blocked') }));
            }
            acts.appendChild(ui.action('Remove', function () {
              return api.call('peer.remove', { node_id: p.node_id }).then(function (res) {
                return done('Removed ' + p.node_id + (res && res.blocked ? '; it stays blocked until you unblock it.' : '.'))();
              });
            }, { cls: 'btn-small', confirm: 'Remove the peer ' + p.node_id + '? Its connection ends.', onError: fail('Not removed') }));
            r.push(acts);
          }
          return r;
        }), { region: 'Peers' }));
      }, function (err) {
        if (!ctx.alive()) return;
        ui.fill(box, ui.errorBox(err, 'The peers could not be loaded'));
      });
    }

    if (admin) {
      var addr = ui.field('Address', ui.input({ name: 'address', placeholder: 'host:7420', autocomplete: 'off', spellcheck: 'false' }),
        { hint: 'Where it listens: HOST:PORT.' });
      var nid = ui.field('Node id', ui.input({ name: 'node_id', placeholder: '@\u2026.ed25519', autocomplete: 'off', spellcheck: 'false' }),
        { hint: 'As its own status shows it: @ then 44 characters then .ed25519.' });
      var form = el('form', { class: 'inline-form' }, el('h3', null, 'Add a peer'), addr, nid,
        el('div', { class: 'form-actions' }, el('button', { type: 'submit', class: 'btn' }, 'Add peer')));
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        var a = { address: addr.control.value.trim(), node_id: nid.control.value.trim() };
        ui.setFieldError(addr, a.address ? null : 'Give its address.');
        ui.setFieldError(nid, a.node_id ? null : 'Give its node id.');
        if (!a.address || !a.node_id) return;
        ui.submitting(form, function () {
          return api.call('peer.add', a).then(function () {
            ui.fill(msg, ui.notice('ok', 'Added peer ' + a.node_id + ': this node dials it now.'));
            addr.control.value = '';
            nid.control.value = '';
            return load();
          });
        }).catch(function (err) { ui.fill(msg, ui.errorBox(err, 'Peer not added')); });
      });
      sec.appendChild(form);
    }
    load();
    return sec;
  }

  function filterText(fl) {
    if (!fl || typeof fl !== 'object') return fl ? String(fl) : 'every pattern';
    var keys = Object.keys(fl).filter(function (k) { return fl[k] !== null && fl[k] !== undefined; });
    if (keys.length === 0) return 'every pattern';
    return keys.map(function (k) { return k + '=' + (Array.isArray(fl[k]) ? fl[k].join(',') : fl[k]); }).join(' ');
  }

  function feedsSection(ctx) {
    var sec = el('section', { 'aria-labelledby': 'feeds-h' }, el('h2', { id: 'feeds-h' }, 'Pattern feeds'),
      el('p', { class: 'hint' }, 'A feed follows pattern changes (new, places joining, ended, \u2026) that match its filters, ' +
        'so a learning partner can convene the places around a shared theme. A feed\u2019s web address can be read by a feed reader.'));
    var msg = ui.slot(), box = ui.slot(), tokenBox = ui.slot();
    sec.appendChild(msg);
    sec.appendChild(tokenBox);
    sec.appendChild(box);
    var admin = api.can('feed.subscribe');

    function load() {
      ui.fill(box, ui.loading());
      return api.call('feed.list', {}).then(function (list) {
        if (!ctx.alive()) return;
        list = list || [];
        if (list.length === 0) { ui.fill(box, el('p', { class: 'empty' }, 'No feeds yet.')); return; }
        var cols = [{ label: 'Feed' }, { label: 'Follows' }, { label: 'Read up to', num: true }, { label: 'New since', num: true },
          { label: 'Last read' }];
        if (admin) cols.push({ label: 'Actions' });
        ui.fill(box, ui.table(cols, list.map(function (fd) {
          var r = [fd.name, filterText(fd.filter), String(fd.cursor), String(fd.events_after_cursor), d.timeEl(fd.acked, true)];
          if (admin) {
            var acts = el('div', { class: 'row-actions' });
            acts.appendChild(ui.action('Web address', function () {
              return api.call('feed.token', { name: fd.name }).then(function (t) {
                ui.fill(tokenBox, el('div', { class: 'card token-card' },
                  el('h3', null, 'Web addresses of the feed ', fd.name),
                  el('p', { class: 'hint' }, 'Give them to the people who follow this feed (a feed reader takes the Atom one). ' +
                    'They work until you make new ones: making new addresses stops the old ones. Treat them like a password.'),
                  ui.copyBox('JSON Feed', t.json_url), ui.copyBox('Atom', t.atom_url)));
                tokenBox.querySelector('input').focus();
              });
            }, { cls: 'btn-small', confirm: 'Make new web addresses for the feed ' + fd.name + '? Any earlier ones stop working.',
              onError: function (err) { ui.fill(msg, ui.errorBox(err, 'No address made')); } }));
            acts.appendChild(ui.action('Unsubscribe', function () {
              return api.call('feed.unsubscribe', { name: fd.name }).then(function () {
                ui.fill(msg, ui.notice('ok', 'The feed ' + fd.name + ' is gone.'));
                d.clear(tokenBox);
                return load();
              });
            }, { cls: 'btn-small btn-danger', confirm: 'Drop the feed ' + fd.name + ' and where its readers are up to?',
              onError: function (err) { ui.fill(msg, ui.errorBox(err, 'Not unsubscribed')); } }));
            r.push(acts);
          }
          return r;
        }), { region: 'Feeds' }));
      }, function (err) {
        if (!ctx.alive()) return;
        ui.fill(box, ui.errorBox(err, 'The feeds could not be loaded'));
      });
    }

    if (admin) {
      var ff = {
        name: ui.field('Name', ui.input({ maxlength: '64', autocomplete: 'off', spellcheck: 'false' }),
          { hint: 'Letters, digits, - _ and . only, up to 64.' }),
        signal: ui.field('Signal', ui.select(null, [{ value: '', label: 'Any' }].concat(W.SIGNALS))),
        theme: ui.field('Theme', ui.input({ maxlength: '336' }), { optional: true }),
        region: ui.field('Region', ui.input({ maxlength: '480' }), { optional: true }),
        place: ui.field('Place', ui.input({ maxlength: '480' }), { optional: true }),
        min_strength: ui.field('Strength at least', ui.input({ type: 'number', min: '0', step: '0.5' }), { optional: true })
      };
      var form = el('form', { class: 'inline-form grid-form' }, el('h3', null, 'Subscribe a new feed'),
        ff.name, ff.signal, ff.theme, ff.region, ff.place, ff.min_strength,
        el('div', { class: 'form-actions' }, el('button', { type: 'submit', class: 'btn' }, 'Subscribe')));
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        var a = {};
        Object.keys(ff).forEach(function (k) {
          var v = ff[k].control.value.trim();
          if (v === '') return;
          a[k] = k === 'min_strength' ? parseFloat(v) : v;
        });
        ui.setFieldError(ff.name, a.name ? (/^[A-Za-z0-9._-]+$/.test(a.name) ? null : 'Use letters, digits, - _ and . only.') : 'Give it a name.');
        if (!a.name || !/^[A-Za-z0-9._-]+$/.test(a.name)) { ff.name.control.focus(); return; }
        ui.submitting(form, function () {
          return api.call('feed.subscribe', a).then(function () {
            ui.fill(msg, ui.notice('ok', 'Subscribed the feed ' + a.name + '. \u201cWeb address\u201d gives the addresses to read it.'));
            Object.keys(ff).forEach(function (k) { ff[k].control.value = ''; });
            return load();
          });
        }).catch(function (err) { ui.fill(msg, ui.errorBox(err, 'Not subscribed')); });
      });
      sec.appendChild(form);
    }
    load();
    return sec;
  }

  pages.network = function (view, ctx) {
    ctx.title('Network');
    view.appendChild(ui.heading('Network', 'This node, the places it learns from, its peers and its pattern feeds.'));
    view.appendChild(statusSection(ctx));
    view.appendChild(placesSection(ctx));
    view.appendChild(peersSection(ctx));
    view.appendChild(feedsSection(ctx));
  };
})();
