#!/usr/bin/env python3
"""The module graph of daemon/ (issue 14: "no include cycle in daemon/").

A module is a .c file and its .h (node.c + node.h = node), with the files
named after it and an underscore (api_records.c and api_handlers.h are
module api's; store_query.c is store's). Module A
depends on B when a file of A includes B's header. A cycle is a set of
modules that depend on each other (a strongly connected component of more
than one module): each of them can reach every other, which is the knot
the issue is about.

The cycles not yet untied are listed in KNOWN below, each with the module
that closes it. The check fails on any other cycle, and on a KNOWN one
that is gone (so the list only shrinks). Exit 0 when the graph matches.

  check_includes.py DAEMON_DIR         check
  check_includes.py DAEMON_DIR --dot   print the graph (Graphviz)
"""
import os
import re
import sys

# Cycles still to untie (issue 14), as sets of modules: none left (the
# last, feeds <-> patternsd, went when feeds got a state of its own).
KNOWN = []

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)\.h"', re.M)


def graph(daemon_dir):
    files = [f for f in os.listdir(daemon_dir) if f.endswith((".c", ".h"))]
    names = {os.path.splitext(f)[0] for f in files}

    def module(name):
        # the shortest name of a file here that name extends with "_"
        for i, ch in enumerate(name):
            if ch == "_" and name[:i] in names:
                return name[:i]
        return name

    modules = {module(n) for n in names}
    edges = {m: set() for m in modules}
    for f in files:
        with open(os.path.join(daemon_dir, f), encoding="utf-8") as fh:
            text = fh.read()
        src = module(os.path.splitext(f)[0])
        for dep in INCLUDE.findall(text):
            dep = os.path.basename(dep)
            if dep in names and module(dep) != src:
                edges[src].add(module(dep))
    return edges


def cycles(edges):
    """Tarjan's strongly connected components of more than one module."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    edges = graph(argv[1])
    if len(argv) > 2 and argv[2] == "--dot":
        print("digraph daemon {")
        for a in sorted(edges):
            for b in sorted(edges[a]):
                print(f'  "{a}" -> "{b}";')
        print("}")
        return 0
    found = cycles(edges)
    ok = True
    for comp in found:
        if comp not in KNOWN:
            ok = False
            print("FAIL: a module cycle in daemon/: " + " <-> ".join(sorted(comp)), file=sys.stderr)
            for a in sorted(comp):
                print(f"  {a} includes " + ", ".join(sorted(edges[a] & comp)), file=sys.stderr)
    for comp in KNOWN:
        if comp not in found:
            ok = False
            print("FAIL: the known cycle " + " <-> ".join(sorted(comp)) +
                  " is gone or changed: update KNOWN in " + os.path.basename(__file__), file=sys.stderr)
    if ok and not KNOWN:
        print(f"ok - daemon/ module graph: {len(edges)} modules, no cycle")
    elif ok:
        print(f"ok - daemon/ module graph: {len(edges)} modules, cycles only the known "
              f"{len(KNOWN)} ({'; '.join(' <-> '.join(sorted(c)) for c in KNOWN)})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
