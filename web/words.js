/* hlsd web app: the plain words for scales, stages, kinds, consent levels,
 * states and pattern signals (docs/data-model.md, docs/consent.md,
 * docs/patterns.md, /work/shared/domain.md). */
(function () {
  'use strict';
  var HLS = (window.HLS = window.HLS || {});

  var SCALES = [
    { value: 'person', label: 'A person', short: 'Person',
      help: 'A life as a system: one person\u2019s or family\u2019s support, and everything in their life that shapes it.' },
    { value: 'organisation', label: 'An organisation', short: 'Organisation',
      help: 'How a team, service or organisation works: its practice, its rules, its culture.' },
    { value: 'place', label: 'A place', short: 'Place',
      help: 'A town, a neighbourhood or a region: the organisations and people who share it.' },
    { value: 'country', label: 'A country', short: 'Country',
      help: 'National rules, funding and policy that shape every place.' }
  ];

  var STAGES = [
    { value: 'purpose', label: 'Purpose', help: 'What are we here to do, together?' },
    { value: 'understand', label: 'Understand', help: 'Who are the actors in this system, and what patterns does it produce?' },
    { value: 'co-design', label: 'Co-design', help: 'What could we try, designed with the people involved?' },
    { value: 'experiment', label: 'Experiment', help: 'Try it, explore, listen.' },
    { value: 'reflect', label: 'Reflect', help: 'What happened, what did we learn?' },
    { value: 'embed', label: 'Embed', help: 'What changes in practice, structure or funding because of it?' }
  ];

  var KINDS = [
    { value: 'problem', label: 'Problem', help: 'something people are up against' },
    { value: 'aspiration', label: 'Aspiration', help: 'something people hope for' },
    { value: 'strength', label: 'Strength', help: 'something to build on' },
    { value: 'practice', label: 'Practice', help: 'a way of working' }
  ];

  var CONSENTS = [
    { value: 'private', label: 'Private', short: 'stays here' },
    { value: 'aggregate', label: 'Counted only', short: 'counted in weekly numbers' },
    { value: 'peers', label: 'Our peers', short: 'story to our direct peers' },
    { value: 'network', label: 'The whole network', short: 'story to every place' }
  ];

  var SIGNALS = [
    { value: 'spread', label: 'Spread',
      help: 'More places taking up a theme, all at once, than its history predicts.' },
    { value: 'emerging', label: 'Emerging',
      help: 'A theme jumping at some places, compared with each place\u2019s own usual level.' },
    { value: 'rising', label: 'Rising',
      help: 'A region\u2019s share of a theme growing, week after week.' },
    { value: 'together', label: 'Together',
      help: 'Two themes reported in the same weeks by the same places, more often than chance.' },
    { value: 'cross-scale', label: 'Cross-scale',
      help: 'A theme above its usual level at several scales at once (a person, an organisation, a place), in the same places.' }
  ];

  function find(list, value) {
    for (var i = 0; i < list.length; i++) if (list[i].value === value) return list[i];
    return null;
  }

  /* The short name of a scale (for tables and lines): 'Person'. */
  function scale(value) {
    var x = find(SCALES, value);
    return x ? x.short : (value === null || value === undefined ? '' : String(value));
  }

  function label(list, value) {
    var x = find(list, value);
    return x ? x.label : (value === null || value === undefined ? '' : String(value));
  }

  /* What each consent level means for this record, in plain words.
   * ctx: {place, scale, peers (direct peers listed), places (known)}. */
  function consentMeaning(level, ctx) {
    var place = ctx.place || 'this place';
    var counted;
    if (ctx.scale === 'person') {
      counted = 'It is counted in ' + place + '\u2019s weekly numbers by theme, which other places see. ' +
        'Because it is about a person, a count below 10 is withheld (shown only as \u201csome\u201d) and ' +
        'other counts are rounded to a multiple of 5, so that no one can be picked out.';
    } else if (ctx.scale) {
      counted = 'It is counted in ' + place + '\u2019s weekly numbers by theme, which other places see. ' +
        'At this scale counts describe services and places, not people, so they are shown exactly.';
    } else {
      counted = 'It is counted in ' + place + '\u2019s weekly numbers by theme, which other places see ' +
        '(small counts about people are withheld, the rest rounded).';
    }
    var storyWhat = 'its story (the title, what you tried, what you learnt, its themes, scale, stage and week)';
    var countedToo = 'Counted in the weekly numbers as above, and once a lead approves it, ';
    switch (level) {
      case 'private':
        return 'This record never leaves ' + place + ' in any form: it is not counted and not shared.';
      case 'aggregate':
        return counted + ' Its words never leave ' + place + '.';
      case 'peers':
        return countedToo + storyWhat + ' goes to the places ' + place +
          ' connects to directly' + (typeof ctx.peers === 'number' ? ' (' + ctx.peers + ' now)' : '') +
          ', and no further.';
      case 'network':
        return countedToo + storyWhat + ' goes to every place in the learning network' +
          (typeof ctx.places === 'number' && ctx.places > 0 ? ' (' + ctx.places + ' known to this node now)' : '') + '.';
      default:
        return '';
    }
  }

  var NEVER_SHARED = 'The context, what happened, who wrote it and the consent details are never shared, at any level.';

  var DIGEST_STATES = {
    published: 'shared',
    pending: 'will be shared at the next batch (within seconds)',
    waits_for_week_end: 'this week: shared when the week ends'
  };

  var STORY_STATES = {
    published: 'shared',
    pending: 'approved: will be shared at once',
    to_be_replaced: 'shared, and an approved new version will replace it',
    to_be_erased: 'shared, and being taken back everywhere (consent no longer allows it)'
  };

  var PEER_STATES = {
    connected: 'connected',
    connecting: 'connecting',
    blocked: 'blocked',
    idle: 'not connected'
  };

  function audienceText(a) {
    if (a === 'network') return 'every place in the network';
    if (a === 'peers') return 'our direct peers only';
    return a || '';
  }

  HLS.words = {
    SCALES: SCALES, STAGES: STAGES, KINDS: KINDS, CONSENTS: CONSENTS, SIGNALS: SIGNALS,
    find: find, label: label, scale: scale, consentMeaning: consentMeaning, NEVER_SHARED: NEVER_SHARED,
    DIGEST_STATES: DIGEST_STATES, STORY_STATES: STORY_STATES, PEER_STATES: PEER_STATES,
    audienceText: audienceText
  };
})();
