#!/usr/bin/env python3
"""The method table (protocol/methods.def) against hls and the docs.

Reads the table as the built hls carries it (`hls --methods`: the methods
with their arguments, and hls's commands with the method each calls) and
checks, exiting 1 with every finding:

- hls: each method that names an hls command (its "cli") names one that
  exists, and each command that calls one method is the one its method
  names; the --flags and positional words of a command's method are in
  the command's usage, so the table's options are the ones hls offers;
- docs/control.md: its table of commands has a row for every method
  (the test-clock ones are named in the text) and none for another, and
  each row's args column names exactly the method's arguments;
- docs/cli.md: every hls command is named ("hls NAME"), with every --flag
  of its usage.

  check_docs.py HLS DOCS_DIR            check
  check_docs.py --self-test HLS DOCS_DIR  check that a changed doc fails
"""
import json
import re
import subprocess
import sys


def flag(key):
    return "--" + key.replace("_", "-")


def usage_flags(usage):
    return set(re.findall(r"--[a-z][a-z-]*", usage))


def control_rows(text):
    """{method name: args column} from the '| cmd | args | result |' table."""
    rows = {}
    on = False
    for line in text.splitlines():
        if line.startswith("| cmd | args |"):
            on = True
            continue
        if on and not line.startswith("|"):
            break
        if not on or line.startswith("|---"):
            continue
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        for name in re.findall(r"`([a-z_.]+)`", cells[0]):
            rows[name] = cells[1] if len(cells) > 1 else ""
    return rows


def top_level_keys(cell):
    """The keys of the outermost maps in a cell's code spans: `{id, set:
    {fields}}` -> {id, set}; `{rows: [{line, record}]}` -> {rows}."""
    keys = set()
    for span in re.findall(r"`([^`]*)`", cell):
        depth, word = 0, ""
        for ch in span + " ":
            if ch.isalnum() or ch == "_":
                word += ch
                continue
            if word and depth == 1 and ch in "?,:} ":
                keys.add(word)
            word = ""
            if ch in "{[":
                depth += 1
            elif ch in "}]":
                depth -= 1
    return keys


def check(table, control_md, cli_md):
    problems = []
    methods = {m["name"]: m for m in table["methods"]}
    commands = {c["name"]: c for c in table["commands"]}

    for m in methods.values():
        if m["cli"] and m["cli"] not in commands:
            problems.append(f"method {m['name']} names hls command '{m['cli']}', which hls does not have")
    for c in commands.values():
        if c["method"] is None:
            continue
        m = methods.get(c["method"])
        if m is None:
            problems.append(f"hls {c['name']} calls {c['method']}, which is not in the table")
            continue
        if m["cli"] != c["name"]:
            problems.append(f"hls {c['name']} calls {m['name']}, whose cli is '{m['cli']}'")
        flags = usage_flags(c["usage"])
        for a in m["args"]:
            if a.get("metavar") is None:
                continue  # not an hls option: hls fills it in itself
            if a["positional"] and a["metavar"] not in c["usage"]:
                problems.append(f"hls {c['name']}: usage lacks {a['metavar']} ({a['name']} of {m['name']})")
            if not a["positional"] and flag(a["name"]) not in flags:
                problems.append(f"hls {c['name']}: usage lacks {flag(a['name'])} ({a['name']} of {m['name']})")

    rows = control_rows(control_md)
    for name, m in methods.items():
        if m["test"]:
            if f"`{name}`" not in control_md:
                problems.append(f"docs/control.md does not name the test method {name}")
            continue
        if name not in rows:
            problems.append(f"docs/control.md: no row for method {name}")
            continue
        args = {a["name"] for a in m["args"]}
        keys = top_level_keys(rows[name])
        if "same filters as patterns" in rows[name]:
            keys |= {a["name"] for a in methods["patterns"]["args"]} - {"all", "limit", "offset"}
        keys -= {"fields"}  # {record: {fields}}: the record's fields, one argument
        for a in args - keys:
            problems.append(f"docs/control.md: row {name} does not name argument {a}")
        for k in keys - args:
            problems.append(f"docs/control.md: row {name} names {k}, not an argument of {name}")
    for name in rows:
        if name not in methods:
            problems.append(f"docs/control.md: row for {name}, which is no method")

    for c in commands.values():
        if not re.search(r"hls " + re.escape(c["name"]) + r"\b", cli_md):
            problems.append(f"docs/cli.md never names 'hls {c['name']}'")
        for f in usage_flags(c["usage"]):
            if f not in cli_md:
                problems.append(f"docs/cli.md never names {f} (of hls {c['name']})")
    return problems


def main(argv):
    self_test = argv[1:2] == ["--self-test"]
    if self_test:
        argv = argv[:1] + argv[2:]
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    out = subprocess.run([argv[1], "--methods"], check=True, capture_output=True, text=True).stdout
    table = json.loads(out)
    with open(f"{argv[2]}/control.md", encoding="utf-8") as f:
        control_md = f.read()
    with open(f"{argv[2]}/cli.md", encoding="utf-8") as f:
        cli_md = f.read()
    if self_test:
        # A method dropped from the docs, an argument the docs invent, an
        # undocumented flag: each must be found.
        cases = [
            ("row dropped", control_md.replace("| `peer.list` |", "| `peer.lists` |"), cli_md),
            ("argument invented", control_md.replace("`{address, node_id}`", "`{address, node_id, port}`"), cli_md),
            ("flag undocumented", control_md, cli_md.replace("--min-strength", "--min-strenght")),
        ]
        for what, c_md, l_md in cases:
            if not check(table, c_md, l_md):
                print(f"self-test: '{what}' was not found", file=sys.stderr)
                return 1
        print(f"self-test: {len(cases)} broken docs each found")
        return 0
    problems = check(table, control_md, cli_md)
    for p in problems:
        print(p, file=sys.stderr)
    if not problems:
        n_args = sum(len(m["args"]) for m in table["methods"])
        print(f"ok: {len(table['methods'])} methods ({n_args} arguments) and {len(table['commands'])} hls commands"
              " agree with docs/control.md and docs/cli.md")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
