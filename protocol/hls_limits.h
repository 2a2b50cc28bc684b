/* Every cap on a length or count that hlsd reads from outside: the wire,
 * a file, the control socket. Checked before allocating. One place, with
 * the reason for each number, so a reviewer can judge them together. */
#ifndef HLS_HLS_LIMITS_H
#define HLS_HLS_LIMITS_H

/* --- learning records (local data) --------------------------------------
 * A title is a headline, not a document: 300 bytes is a long sentence in
 * any script. Free-text fields hold a practitioner's paragraph or a short
 * case note; 64 KiB is a hard ceiling (config max_text_bytes lowers it). */
#define HLS_TITLE_MAX 300
#define HLS_TEXT_HARD_MAX 65536
#define HLS_TEXT_DEFAULT_MAX 16384
/* Theme slugs are tags, not sentences. 32 tags per record is far above
 * the 3-6 practitioners use, and bounds the theme table join. */
#define HLS_THEME_MAX 64
#define HLS_THEMES_PER_RECORD 32
/* Roles ("practitioner", "learning lead") and consent purposes. */
#define HLS_ROLE_MAX 64
#define HLS_PURPOSE_MAX 500
/* Place names and regions as people write them. */
#define HLS_PLACE_MAX 120
#define HLS_REGION_MAX 120

/* --- msgpack decoding ---------------------------------------------------
 * Nesting deeper than this is never produced by hlsd; refusing it keeps
 * the recursive decoder's stack bounded. */
#define HLS_MP_MAX_DEPTH 16

/* --- control socket -----------------------------------------------------
 * A request carries at most one import batch; 16 MiB is far above a batch
 * (HLS_IMPORT_BATCH_ROWS records of at most ~5 text fields each would be
 * larger only with absurd texts, which are refused anyway) and well below
 * anything that strains memory. Config control_max_frame lowers it. */
#define HLS_CTL_FRAME_HARD_MAX (16u * 1024u * 1024u)
#define HLS_CTL_FRAME_DEFAULT_MAX (8u * 1024u * 1024u)
/* Values in one decoded request: bounds the decoder's node array. */
#define HLS_CTL_MAX_VALUES 1000000u
/* Rows the CLI sends per import request. */
#define HLS_IMPORT_BATCH_ROWS 2000
/* One import may hold at most this many rows (a spreadsheet export of a
 * whole organisation's history is far below this). */
#define HLS_IMPORT_MAX_ROWS 5000000

/* Envelopes in one items.import request (hls import-items), which hls
 * fills to about HLS_IMPORT_ITEMS_BATCH_BYTES (one envelope more at most,
 * so a request of the largest envelope still fits the default frame):
 * 4096 stubs (~190 bytes each) are about that much, and the count bounds
 * the array hlsd decodes them into before it looks at them. */
#define HLS_IMPORT_ITEMS_MAX 4096
#define HLS_IMPORT_ITEMS_BATCH_BYTES (1024u * 1024u)

/* --- the read side's pages (places, stories, items; docs/control.md) ---
 * hlsd answers on its one thread, between gossip's turns, so a page must
 * take a few milliseconds whatever the store holds. Rows in one page, at
 * most, whatever limit a client asks (measured on a shared 2-vCPU
 * machine: ~5 us an item row read and packed, ~4 us a place, ~16 us a
 * story, which decodes its body and packs its texts), and rows a filtered
 * walk reads for one page, at most, matching or not (items --type,
 * stories --since or --place with --theme; ~2 us an item, ~5 us a story):
 * a page that reaches it ends with a cursor, maybe with fewer rows. A
 * page also ends before its rows outgrow a reply frame
 * (limits.control_max_frame). */
#define HLS_PAGE_ITEMS_MAX 500
#define HLS_PAGE_ITEMS_READ_MAX 2000
#define HLS_PAGE_STORIES_MAX 200
#define HLS_PAGE_STORIES_READ_MAX 1000
#define HLS_PAGE_PLACES_MAX 500

/* --- CSV files ----------------------------------------------------------
 * A CSV import file is read whole by the CLI: 1 GiB is far above 5
 * million rows of normal records. One field may not exceed the text hard
 * maximum plus slack for quoting. */
#define HLS_CSV_MAX_FILE (1024ull * 1024ull * 1024ull)
#define HLS_CSV_MAX_COLUMNS 64
/* JSON record files (hls record add --file). */
#define HLS_JSON_MAX_FILE (64u * 1024u * 1024u)

/* --- envelopes (docs/protocol.md) --------------------------------------
 * A story body holds a title and two free-text fields of at most the hard
 * text maximum each; a digest of one week of one place holds at most one
 * cell per theme x kind x scale x stage actually used: 20,000 cells is
 * far above any real place (hundreds) and bounds a body to ~1.5 MiB. */
#define HLS_ENV_MAX_BODY (2u * 1024u * 1024u)
#define HLS_ENV_MAX_BYTES (HLS_ENV_MAX_BODY + 256u)
#define HLS_DIGEST_MAX_CELLS 20000
#define HLS_PROFILE_MAX_ADDRESSES 8
#define HLS_PROFILE_ADDRESS_MAX 261 /* "[" + 253-byte host + "]:65535" */
/* Digest cells count records; a week of one place cannot exceed this. */
#define HLS_DIGEST_MAX_COUNT 100000000u
/* Entries in one erasure receipt (docs/protocol.md 4.5). An entry is at
 * most 45 bytes (array header, bin 32 origin, uint64 seq, state), so 1024
 * of them are a body of at most 46,083 bytes: a receipt envelope fits in
 * the smallest frame a node may configure (64 KiB, network.max_frame)
 * whatever its entries. A node publishes one receipt per publishing run
 * and the rest in the next runs; 1024 is far above the erasures a network
 * sees in one publish.delay, and the same count as gossip's other per-frame
 * lists (VECTOR entries, ITEMS envelopes). */
#define HLS_RECEIPT_MAX_ENTRIES 1024
/* One stub inside a fork report (docs/protocol.md 4.7). A stub is at
 * most 192 bytes (array header, a header of at most 124 bytes: two uint64
 * of 9, three bin 32 of 34, four one-byte fields; bin 64 signature, nil);
 * 256 leaves room and keeps a fork body at most 521 bytes. Each stub costs
 * one Ed25519 verification wherever a fork body is decoded. */
#define HLS_FORK_STUB_MAX 256
/* Nodes one rekey item may expel (docs/protocol.md 4.8): 64 x 33 bytes
 * keeps the body small; expelling more is a new network. */
#define HLS_REKEY_MAX_EXPELLED 64
/* Stewards a network names (who may rotate its key): a handful. */
#define HLS_STEWARDS_MAX 16

#endif
