/* hlsd web app: #/users: the people who may use this web app (admins). */
(function () {
  'use strict';
  var HLS = (window.HLS = window.HLS || {});
  var d = HLS.dom, el = d.el, ui = HLS.ui, api = HLS.api;
  var pages = (HLS.pages = HLS.pages || {});

  var ROLE_HELP = [
    { value: 'viewer', label: 'Viewer', help: 'reads records, stories and patterns' },
    { value: 'practitioner', label: 'Practitioner', help: 'also records learning, and changes or deletes their own records' },
    { value: 'lead', label: 'Learning lead', help: 'also gives consent and approves or rejects stories' },
    { value: 'admin', label: 'Admin', help: 'also manages peers, feeds and the people of this web app' }
  ];

  function linkCard(title, name, res) {
    return el('div', { class: 'card token-card' },
      el('h3', null, title),
      el('p', null, 'Send this link to ', el('strong', null, name), ' over a channel you trust (not a public one). ' +
        'It works once' + (res.link_expires_at ? ', until ' + d.fmtTime(res.link_expires_at) : '') +
        ': it signs them in and asks them to choose a password. It is shown only now.'),
      ui.copyBox('One-time sign-in link', res.link));
  }

  pages.users = function (view, ctx) {
    ctx.title('People');
    view.appendChild(ui.heading('People', 'Who may use this web app, and what their role lets them do.'));
    if (!api.can('user.list')) {
      view.appendChild(ui.notice('info', 'Only an admin manages the people of this web app.'));
      return;
    }
    view.appendChild(el('dl', { class: 'facts roles' }, ROLE_HELP.map(function (r) {
      return [el('dt', null, r.label), el('dd', null, r.help)];
    })));
    var msg = ui.slot(), linkBox = ui.slot(), box = ui.slot();
    view.appendChild(msg);
    view.appendChild(linkBox);

    function showLink(title, name, res) {
      ui.fill(linkBox, linkCard(title, name, res));
      var inp = linkBox.querySelector('input');
      if (inp) inp.focus();
    }

    var nameF = ui.field('Name', ui.input({ maxlength: '64', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none' }),
      { hint: 'Letters, digits, - _ and . only (for example ana.smith). They sign in with it.' });
    var roleF = ui.radios('role', 'Role', ROLE_HELP.map(function (r) { return { value: r.value, label: r.label, help: r.help }; }), 'practitioner');
    var form = el('form', { class: 'inline-form user-add' }, el('h2', null, 'Add a person'), nameF, roleF,
      el('div', { class: 'form-actions' }, el('button', { type: 'submit', class: 'btn btn-primary' }, 'Add and make a sign-in link')));
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var name = nameF.control.value.trim();
      var bad = !name ? 'Give a name.' : !/^[A-Za-z0-9._-]{1,64}$/.test(name) ? 'Use letters, digits, - _ and . only, up to 64.' : null;
      ui.setFieldError(nameF, bad);
      if (bad) { nameF.control.focus(); return; }
      ui.submitting(form, function () {
        return api.call('user.add', { name: name, role: roleF.value() || 'viewer' }).then(function (res) {
          d.clear(msg);
          showLink('Added ' + res.name + ' (' + res.role + ')', res.name, res);
          nameF.control.value = '';
          return load();
        });
      }).catch(function (err) { ui.fill(msg, ui.errorBox(err, 'Not added')); });
    });
    view.appendChild(form);
    view.appendChild(el('h2', null, 'Everyone'));
    view.appendChild(box);

    function load() {
      ui.fill(box, ui.loading());
      return api.call('user.list', {}).then(function (list) {
        if (!ctx.alive()) return;
        list = list || [];
        if (list.length === 0) { ui.fill(box, el('p', { class: 'empty' }, 'No one yet.')); return; }
        var me = api.state.session.user;
        ui.fill(box, ui.table([
          { label: 'Name', rowHeader: true }, { label: 'Role' }, { label: 'Added' }, { label: 'Last signed in' },
          { label: 'Password' }, { label: 'Sign-in link' }, { label: 'Actions' }
        ], list.map(function (u) {
          var acts = el('div', { class: 'row-actions' });
          /* Not for yourself: a new link ends your own session before you
           * could copy it. */
          if (u.name !== me) acts.appendChild(ui.action('New link', function () {
            return api.call('user.reset', { name: u.name }).then(function (res) {
              d.clear(msg);
              showLink('A new sign-in link for ' + u.name, u.name, res);
              return load();
            });
          }, { cls: 'btn-small', confirm: 'Give ' + u.name + ' a new sign-in link? Their password is forgotten and they are signed out everywhere.',
            onError: function (err) { ui.fill(msg, ui.errorBox(err, 'No new link')); } }));
          if (u.name !== me) {
            acts.appendChild(ui.action('Remove', function () {
              return api.call('user.remove', { name: u.name }).then(function () {
                ui.fill(msg, ui.notice('ok', u.name + ' can no longer sign in.'));
                d.clear(linkBox);
                return load();
              });
            }, { cls: 'btn-small btn-danger', confirm: 'Remove ' + u.name + '? They are signed out at once.',
              onError: function (err) { ui.fill(msg, ui.errorBox(err, 'Not removed')); } }));
          }
          var role = ROLE_HELP.filter(function (r) { return r.value === u.role; })[0];
          return [u.name + (u.name === me ? ' (you)' : ''), role ? role.label : u.role, d.timeEl(u.created_at, true), d.timeEl(u.last_signin_at, true),
            u.has_password ? 'set' : 'not yet', u.link_pending ? 'waiting to be used' : '\u2013', acts];
        }), { region: 'People' }));
      }, function (err) {
        if (!ctx.alive()) return;
        ui.fill(box, ui.errorBox(err, 'The people could not be loaded'));
      });
    }
    load();
  };
})();
