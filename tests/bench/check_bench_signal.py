#!/usr/bin/env python3
"""Smoke test of bench_signal (ctest bench.signal_smoke): the harness runs
and reports what tests/bench/bench_signal.c documents. It does NOT judge
the pattern engine: nothing here asserts how many plants are found or how
many false patterns there are, only that the report is whole and agrees
with itself (a plant found has a delay, a false count is at most the
count, events a week are the events over the weeks...).

Usage: check_bench_signal.py PATH/TO/bench_signal
Exit status 0 when every check passes, 1 otherwise (each failure on
stderr), 2 on a usage error. Standard library only."""

import json
import math
import subprocess
import sys

# The engine's changes (protocol/patterns.h, enum hls_pat_change).
CHANGES = ["new", "updated", "retracted", "ended", "joined", "left", "grew", "shrank"]

# A tiny world: a run takes well under a second.
WORLD = ["--places", "12", "--weeks", "60", "--seeds", "1"]
TIMEOUT = 100  # seconds for one bench_signal run; ctest allows 120 for all

failures = []


def fail(where, message):
    failures.append(f"{where}: {message}")


def check(condition, where, message):
    if not condition:
        fail(where, message)
    return condition


def run(bench, args):
    """bench_signal's exit status, stdout and stderr."""
    try:
        p = subprocess.run([bench] + args, capture_output=True, text=True, timeout=TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, "", str(e)
    return p.returncode, p.stdout, p.stderr


def is_count(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_signal_counts(where, counts, numbers=is_count):
    """{signal: n, ..., "total": sum}; returns the signal names."""
    if not check(isinstance(counts, dict) and "total" in counts, where, f"not {{signal: n, ..., total}}: {counts!r}"):
        return set()
    signals = set(counts) - {"total"}
    check(len(signals) > 0, where, "no signal")
    for k, v in counts.items():
        check(numbers(v), where, f"{k} is {v!r}")
    if all(numbers(v) for v in counts.values()):
        total = sum(counts[s] for s in signals)
        check(math.isclose(total, counts["total"], rel_tol=1e-9, abs_tol=1e-9), where,
              f"total {counts['total']} is not the sum of the signals ({total})")
    return signals


def check_plant(where, p, weeks, scan_stat):
    keys = ["signal", "themes", "places", "needed", "onset_week", "week_to", "found", "delay_weeks",
            "within_2_weeks", "best_covered", "best_coverage", "shown_within_2_weeks", "oracle_p", "scan_oracle_p",
            "scan_uniform_p", "member_p", "member_false_places", "found_any_signal", "delay_weeks_any_signal",
            "within_2_weeks_any_signal"]
    missing = [k for k in keys if k not in p]
    if not check(not missing, where, f"missing {missing}"):
        return
    check(isinstance(p["signal"], str) and p["signal"], where, "no signal name")
    check(isinstance(p["themes"], str) and p["themes"], where, "no theme")
    n = p["places"]
    if not check(is_count(n) and n > 0, where, f"places {n!r}"):
        return
    check(p["needed"] == math.ceil(4 * n / 5), where, f"needed {p['needed']} is not 80% of {n} places rounded up")
    check(is_count(p["onset_week"]) and p["onset_week"] <= p["week_to"] < weeks, where,
          f"weeks {p['onset_week']}..{p['week_to']} not inside 0..{weeks - 1}")
    check(isinstance(p["found"], bool) and isinstance(p["within_2_weeks"], bool), where, "found/within not booleans")
    if p["found"]:
        check(isinstance(p["delay_weeks"], int) and not isinstance(p["delay_weeks"], bool), where,
              f"found with delay {p['delay_weeks']!r}")
        check(p["best_covered"] >= p["needed"], where,
              f"found with {p['best_covered']} places covered, {p['needed']} needed")
    else:
        check(p["delay_weeks"] is None, where, f"not found but delay {p['delay_weeks']!r}")
        check(not p["within_2_weeks"], where, "within 2 weeks but not found")
    if p["within_2_weeks"] and isinstance(p["delay_weeks"], int):
        check(p["delay_weeks"] <= 2, where, f"within 2 weeks with delay {p['delay_weeks']}")
    # By any signal (patterns on its theme(s) of any signal): never later than by its own.
    fa, da, wa = p["found_any_signal"], p["delay_weeks_any_signal"], p["within_2_weeks_any_signal"]
    if check(isinstance(fa, bool) and isinstance(wa, bool), where, "found/within by any signal not booleans"):
        check(fa or (da is None and not wa), where, f"not found by any signal but delay {da!r}, within {wa!r}")
        check(not fa or (isinstance(da, int) and not isinstance(da, bool)), where, f"found by any signal, delay {da!r}")
        check(wa == (fa and isinstance(da, int) and da <= 2), where, f"within by any signal {wa!r} with delay {da!r}")
        if p["found"]:
            check(fa and isinstance(da, int) and isinstance(p["delay_weeks"], int) and da <= p["delay_weeks"], where,
                  f"found by its signal at {p['delay_weeks']!r}, by any at {da!r}")
    check(is_count(p["best_covered"]) and p["best_covered"] <= n, where, f"best_covered {p['best_covered']!r}")
    check(is_number(p["best_coverage"]) and math.isclose(p["best_coverage"], p["best_covered"] / n), where,
          f"best_coverage {p['best_coverage']!r} is not best_covered / places")
    check(is_count(p["shown_within_2_weeks"]) and p["shown_within_2_weeks"] <= n, where,
          f"shown_within_2_weeks {p['shown_within_2_weeks']!r}")
    # the oracle has nothing to compare for spread (its places never
    # reported the theme), and is a p-value otherwise
    o = p["oracle_p"]
    if p["signal"] == "spread":
        check(o is None, where, f"spread with oracle_p {o!r}")
    else:
        check(o is None or (is_number(o) and 0 <= o <= 1), where, f"oracle_p {o!r}")
    # the scan oracle, emerging and together only; its uniform p-value
    # with --scan-stat tpm only
    so, su = p["scan_oracle_p"], p["scan_uniform_p"]
    if p["signal"] in ("emerging", "together"):
        check(so is None or (is_number(so) and 0 < so <= 1), where, f"scan_oracle_p {so!r}")
        if scan_stat == "tpm" and so is not None:
            check(is_number(su) and 0 <= su <= 1, where, f"scan_uniform_p {su!r} with --scan-stat tpm")
        else:
            check(su is None, where, f"scan_uniform_p {su!r} with --scan-stat {scan_stat}")
    else:
        check(so is None and su is None, where, f"{p['signal']} with scan_oracle_p {so!r}, scan_uniform_p {su!r}")
    # the membership oracle: emerging, together and cross-scale; a
    # p-value and the other places listed at it (never negative)
    mp, mf = p["member_p"], p["member_false_places"]
    if p["signal"] in ("emerging", "together", "cross-scale"):
        check(mp is None or (is_number(mp) and 0 <= mp <= 1), where, f"member_p {mp!r}")
        check((mf is None) == (mp is None), where, f"member_false_places {mf!r} with member_p {mp!r}")
        check(mf is None or (is_number(mf) and mf >= 0), where, f"member_false_places {mf!r}")
    else:
        check(mp is None and mf is None, where, f"{p['signal']} with member_p {mp!r}, member_false_places {mf!r}")


def check_oracle_check(where, c, expected):
    """--oracle-check's counts: null without it (or in a null world), else
    tests and, for each oracle, p-values at most 0.05 >= 0.01 >= 0.001."""
    if not expected:
        check(c is None, where, f"oracle_check {c!r} without --oracle-check")
        return
    if not check(isinstance(c, dict) and is_count(c.get("tests")), where, f"oracle_check {c!r}"):
        return
    for k in ["oracle_p_at_most", "scan_oracle_p_at_most"]:
        v = c.get(k)
        ok = isinstance(v, dict) and all(is_count(v.get(l)) for l in ["0.05", "0.01", "0.001"])
        if check(ok, where, f"{k} {v!r}"):
            check(v["0.001"] <= v["0.01"] <= v["0.05"] <= c["tests"], where, f"{k} {v!r} of {c['tests']} tests")


def check_run(where, r, null, weeks, fdr, scan_stat, oracle_check=False):
    keys = ["places", "weeks", "themes", "oracle_bar", "background", "style", "null", "seed", "plants", "distinct_patterns",
            "false_patterns", "false_patterns_per_104_weeks", "events", "false_events", "events_per_week",
            "live_at_end", "seconds", "oracle_check"]
    missing = [k for k in keys if k not in r]
    if not check(not missing, where, f"missing {missing}"):
        return
    check(r["null"] is null, where, f"null is {r['null']!r}, ran with{'' if null else 'out'} --null")
    check_oracle_check(where, r["oracle_check"], oracle_check and not null and
                       any(p.get("signal") == "emerging" for p in r.get("plants", [])))
    check(r["weeks"] == weeks, where, f"weeks {r['weeks']!r}")
    # fdr / 2 / (3 x themes)
    check(is_number(r["oracle_bar"]) and is_count(r["themes"]) and r["themes"] > 0 and is_number(fdr) and
          math.isclose(r["oracle_bar"], fdr / 2 / (3 * r["themes"]), rel_tol=1e-6), where,
          f"oracle_bar {r['oracle_bar']!r} is not fdr {fdr!r} / 2 / (3 x {r['themes']!r} themes)")
    plants = r["plants"]
    if not check(isinstance(plants, list), where, "plants is not a list"):
        return
    if null:
        check(plants == [], where, f"the null world has plants: {[p.get('signal') for p in plants]}")
    else:
        check(len(plants) > 0, where, "a planted world without plants")
        names = [p.get("signal") for p in plants]
        check(len(names) == len(set(names)), where, f"a signal planted twice: {names}")
    for i, p in enumerate(plants):
        check_plant(f"{where} plant {i} ({p.get('signal')})", p, weeks, scan_stat)

    signals = check_signal_counts(f"{where} distinct_patterns", r["distinct_patterns"])
    for key in ["false_patterns"]:
        check(check_signal_counts(f"{where} {key}", r[key]) == signals, where, f"{key} has other signals")
    check(check_signal_counts(f"{where} false_patterns_per_104_weeks", r["false_patterns_per_104_weeks"],
                              is_number) == signals, where, "false_patterns_per_104_weeks has other signals")
    for p in plants:
        check(p.get("signal") in signals, where, f"plant signal {p.get('signal')!r} not among {sorted(signals)}")
    if signals and all(is_count(r[k].get(s)) for k in ["distinct_patterns", "false_patterns"] for s in signals):
        for s in signals:
            check(r["false_patterns"][s] <= r["distinct_patterns"][s], where,
                  f"{s}: {r['false_patterns'][s]} false of {r['distinct_patterns'][s]} patterns")
            if null:
                check(r["false_patterns"][s] == r["distinct_patterns"][s], where,
                      f"{s}: in the null world every pattern is false")
            rate = r["false_patterns_per_104_weeks"].get(s)
            check(is_number(rate) and math.isclose(rate, r["false_patterns"][s] * 104 / weeks, rel_tol=1e-9),
                  where, f"{s}: false_patterns_per_104_weeks {rate!r} is not false_patterns * 104 / weeks")

    totals = {}
    for key in ["events", "false_events"]:
        ev = r[key]
        if not check(isinstance(ev, dict) and set(ev) == set(CHANGES), where,
                     f"{key} is not {{{', '.join(CHANGES)}}}: {ev!r}"):
            return
        for change, counts in ev.items():
            check(check_signal_counts(f"{where} {key}.{change}", counts) == signals, where,
                  f"{key}.{change} has other signals")
        totals[key] = {c: ev[c].get("total") for c in ev}
    for c in CHANGES:
        f, e = totals["false_events"][c], totals["events"][c]
        if is_count(f) and is_count(e):
            check(f <= e, where, f"{f} false {c} events of {e}")
            if null:
                check(f == e, where, f"in the null world every {c} event is false ({f} of {e})")

    epw = r["events_per_week"]
    if check(isinstance(epw, dict) and {"mean", "new_or_updated_mean", "max", "max_week"} <= set(epw), where,
             f"events_per_week is {epw!r}"):
        # events a feed sees: every change but a quiet update; new or changed:
        # those but retractions (the harness's "new_or_updated")
        feed = [c for c in CHANGES if c != "updated"]
        all_events = sum(totals["events"][c] for c in feed if is_count(totals["events"][c]))
        new_updated = sum(totals["events"][c] for c in feed if c != "retracted" and is_count(totals["events"][c]))
        check(is_number(epw["mean"]) and math.isclose(epw["mean"], all_events / weeks, rel_tol=1e-9), where,
              f"events a week {epw['mean']!r}, but {all_events} events in {weeks} weeks")
        check(is_number(epw["new_or_updated_mean"]) and
              math.isclose(epw["new_or_updated_mean"], new_updated / weeks, rel_tol=1e-9), where,
              f"new or updated a week {epw['new_or_updated_mean']!r}, but {new_updated} in {weeks} weeks")
        check(is_count(epw["max"]) and epw["max"] >= epw["mean"] - 1e-9, where,
              f"max {epw['max']!r} below the mean")
        check(is_count(epw["max_week"]) and epw["max_week"] < weeks, where, f"max_week {epw['max_week']!r}")
    check(is_count(r["live_at_end"]), where, f"live_at_end {r['live_at_end']!r}")
    secs = r["seconds"]
    check(isinstance(secs, dict) and all(is_number(secs.get(k)) for k in ["generate", "engine", "score"]), where,
          f"seconds is {secs!r}")


def check_aggregate(where, a, runs, null):
    keys = ["places", "weeks", "background", "null", "seeds", "recall_80_within_2_weeks",
            "false_patterns_per_104_weeks", "events_per_week", "seconds", "oracle_check"]
    missing = [k for k in keys if k not in a]
    if not check(not missing, where, f"missing {missing}"):
        return
    mine = [r for r in runs if r.get("background") == a["background"]]
    check(a["seeds"] == len(mine), where, f"{a['seeds']} seeds, {len(mine)} runs of background {a['background']}")
    # --oracle-check: the aggregate's counts are the runs' sums
    checked = [r["oracle_check"] for r in mine if isinstance(r.get("oracle_check"), dict)]
    c = a.get("oracle_check")
    if not checked:
        check(c is None, where, f"oracle_check {c!r} with no run checked")
    elif check(isinstance(c, dict), where, f"oracle_check {c!r}"):
        check(c.get("tests") == sum(x.get("tests", 0) for x in checked), where, "oracle_check tests not the runs' sum")
        for k in ["oracle_p_at_most", "scan_oracle_p_at_most"]:
            for l in ["0.05", "0.01", "0.001"]:
                want = sum(x.get(k, {}).get(l, 0) for x in checked)
                check(isinstance(c.get(k), dict) and c[k].get(l) == want, where,
                      f"oracle_check {k} {l} is {c.get(k)!r}, the runs' sum {want}")
    check(a["null"] is null, where, f"null is {a['null']!r}")
    recall = a["recall_80_within_2_weeks"]
    planted = {}
    for r in mine:
        for p in r.get("plants", []):
            planted[p.get("signal")] = planted.get(p.get("signal"), 0) + 1
    if check(isinstance(recall, dict), where, "recall is not an object"):
        check(set(recall) == set(planted), where, f"recall for {sorted(recall)}, plants of {sorted(planted)}")
        for s, x in recall.items():
            ok = isinstance(x, dict) and all(is_count(x.get(k)) for k in ["planted", "within_2_weeks", "found",
                                                                           "within_2_weeks_any_signal"])
            if check(ok, where, f"recall of {s} is {x!r}"):
                check(x["within_2_weeks"] <= x["found"] <= x["planted"] == planted.get(s), where,
                      f"{s}: {x['within_2_weeks']} within 2 weeks, {x['found']} found, {x['planted']} planted "
                      f"({planted.get(s)} in the runs)")
                any_runs = sum(bool(p.get("within_2_weeks_any_signal")) for r in mine for p in r.get("plants", [])
                               if p.get("signal") == s)
                check(x["within_2_weeks"] <= x["within_2_weeks_any_signal"] == any_runs <= x["planted"], where,
                      f"{s}: {x['within_2_weeks_any_signal']} within 2 weeks by any signal, {any_runs} in the runs, "
                      f"{x['within_2_weeks']} by its own")
                check((x.get("mean_delay") is None) == (x["found"] == 0), where,
                      f"{s}: mean_delay {x.get('mean_delay')!r} with {x['found']} found")
                tested = sum(1 for r in mine for p in r.get("plants", [])
                             if p.get("signal") == s and p.get("oracle_p") is not None)
                under = sum(1 for r in mine for p in r.get("plants", [])
                            if p.get("signal") == s and p.get("oracle_p") is not None and
                            p["oracle_p"] <= r.get("oracle_bar", -1))
                check(x.get("oracle_tested") == tested and x.get("oracle_under_bar") == under, where,
                      f"{s}: oracle {x.get('oracle_under_bar')!r} of {x.get('oracle_tested')!r} under the bar, "
                      f"the runs say {under} of {tested}")
                for field, name in [("scan_oracle_p", "scan_oracle"), ("scan_uniform_p", "scan_uniform")]:
                    ps = [(p[field], r.get("oracle_bar", -1)) for r in mine for p in r.get("plants", [])
                          if p.get("signal") == s and p.get(field) is not None]
                    under = sum(1 for v, bar in ps if v <= bar)
                    check(x.get(f"{name}_tested") == len(ps) and x.get(f"{name}_under_bar") == under, where,
                          f"{s}: {name} {x.get(f'{name}_under_bar')!r} of {x.get(f'{name}_tested')!r} under the "
                          f"bar, the runs say {under} of {len(ps)}")
                ms = [p for r in mine for p in r.get("plants", [])
                      if p.get("signal") == s and p.get("member_p") is not None]
                under = sum(1 for p in ms if p["member_p"] <= 0.05)
                check(x.get("members_tested") == len(ms) and x.get("members_at_most_tau") == under, where,
                      f"{s}: members {x.get('members_at_most_tau')!r} of {x.get('members_tested')!r} at most 0.05, "
                      f"the runs say {under} of {len(ms)}")
                mean = sum(p["member_false_places"] for p in ms) / len(ms) if ms else None
                got = x.get("mean_member_false_places")
                check((got is None and mean is None) or
                      (is_number(got) and mean is not None and math.isclose(got, mean, rel_tol=1e-9, abs_tol=1e-9)),
                      where, f"{s}: mean_member_false_places {got!r}, the runs say {mean!r}")
    check_signal_counts(f"{where} false_patterns_per_104_weeks", a["false_patterns_per_104_weeks"], is_number)
    epw = a["events_per_week"]
    check(isinstance(epw, dict) and all(is_number(epw.get(k)) for k in ["mean", "new_or_updated_mean", "max"]),
          where, f"events_per_week is {epw!r}")


def check_report(label, bench, args, null, scan_stat="ltss", oracle_check=False):
    rc, out, err = run(bench, args)
    where = f"bench_signal {' '.join(args)}"
    if not check(rc == 0, where, f"exit status {rc} (0 expected); stderr ends:\n{err[-2000:]}"):
        return
    try:
        doc = json.loads(out)
    except ValueError as e:
        fail(where, f"stdout is not one JSON object ({e}); it begins {out[:200]!r}")
        return
    check("AGGREGATE" in err, where, "no tables on stderr")
    keys = ["bench", "version", "config", "engine_params", "runs", "aggregate", "load_start", "load_end",
            "wall_seconds"]
    missing = [k for k in keys if k not in doc]
    if not check(not missing, where, f"missing {missing}"):
        return
    check(doc["bench"] == "bench_signal", where, f"bench is {doc['bench']!r}")
    cfg = doc["config"]
    check(isinstance(cfg, dict) and cfg.get("null") is null and cfg.get("places") == 12 and cfg.get("weeks") == 60
          and cfg.get("scan_stat") == scan_stat and cfg.get("oracle_check") is oracle_check
          and cfg.get("threads") == 1, where,
          f"config does not echo the command: {cfg!r}")
    check(isinstance(doc["engine_params"], dict) and "fdr" in doc["engine_params"], where,
          "engine_params without fdr")
    for k in ["load_start", "load_end"]:
        check(isinstance(doc[k], list) and len(doc[k]) == 3, where, f"{k} is {doc[k]!r}")
    runs, aggs = doc["runs"], doc["aggregate"]
    if not check(isinstance(runs, list) and runs and isinstance(aggs, list) and aggs, where, "no runs"):
        return
    backgrounds = [r.get("background") for r in runs]
    check(len(aggs) == len(set(backgrounds)), where,
          f"{len(aggs)} aggregates for {len(set(backgrounds))} backgrounds")
    for i, r in enumerate(runs):
        check_run(f"{label} run {i} ({r.get('background')}, seed {r.get('seed')})", r, null, 60,
                  doc["engine_params"].get("fdr") if isinstance(doc["engine_params"], dict) else None, scan_stat,
                  oracle_check)
    for a in aggs:
        check_aggregate(f"{label} aggregate {a.get('background')}", a, runs, null)
    return backgrounds


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    bench = sys.argv[1]

    rc, out, err = run(bench, ["--help"])
    if check(rc == 0, "bench_signal --help", f"exit status {rc}; stderr: {err[-500:]}"):
        for text in ["--places", "--weeks", "--seeds", "--background", "--style", "--null", "--gen", "--params",
                     "--scan-stat", "--oracle-check", "--json", "exit status", "issue", "person_share"]:
            check(text in out, "bench_signal --help", f"does not mention {text}")
        check(max(len(line) for line in out.splitlines()) <= 100, "bench_signal --help", "a line over 100 columns")
    rc, _, err = run(bench, ["--no-such-option"])
    check(rc == 2, "bench_signal --no-such-option", f"exit status {rc} (2 expected: a usage error)")
    rc, _, err = run(bench, ["--background", "no-such-model"] + WORLD)
    check(rc == 2, "bench_signal --background no-such-model", f"exit status {rc} (2 expected)")
    rc, _, err = run(bench, ["--scan-stat", "no-such-statistic"] + WORLD)
    check(rc == 2, "bench_signal --scan-stat no-such-statistic", f"exit status {rc} (2 expected)")

    # Planted: every background model (--background all), then the issue's
    # model with two seeds; null: the default model.
    every = check_report("planted", bench, WORLD + ["--background", "all", "--json"], False)
    if every is not None:
        check(len(every) == len(set(every)) and "default" in every and "issue" in every, "--background all",
              f"ran {every}")
    check_report("planted issue", bench, ["--places", "12", "--weeks", "60", "--seeds", "2", "--background", "issue",
                                          "--json"], False)
    check_report("planted, the scan oracle's truncated product", bench, ["--places", "12", "--weeks", "60", "--seeds",
                                                                         "1", "--scan-stat", "tpm", "--json"], False,
                 "tpm")
    check_report("planted, the oracles checked", bench, WORLD + ["--oracle-check", "--json"], False,
                 oracle_check=True)
    check_report("null", bench, WORLD + ["--null", "--json"], True)

    if failures:
        print(f"check_bench_signal: {len(failures)} check(s) failed:", file=sys.stderr)
        for f in failures:
            print(f"  {f}", file=sys.stderr)
        return 1
    print("check_bench_signal: bench_signal ran and reported as documented (detection quality not judged)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
