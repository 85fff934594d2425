#!/usr/bin/env python3
"""Groups a CPU profile of `opendcc bench e2e --cpuprofile FILE` by component.

    python3 internal/loadgen/pprofgroups.py FILE [PPROF OPTIONS]

PPROF OPTIONS go to `go tool pprof`: `-tagignore=opendcc.part=client,devices`
keeps the DCC's own samples only (the load generator, the Receive Response
Service and the simulated devices carry that label; internal/cpuparts).

Each sample is attributed to the first group (in the order below) with a
frame on its stack, so the shares add up to 100 %: ECDSA inside xmldsig
counts as ECDSA, SQLite's file I/O as SQLite, GC assists as GC. JetStream
is the bus's own work only: a sample counts there when a nats-io frame is
nearer the leaf than any opendcc/dcc frame (the pipeline's handlers run
under nats.go's callbacks; until the second round of issue #6 their XML,
GBCS and signing work was counted as JetStream).
(Used for BENCHMARKS.md, "End to end".)
"""
import re, subprocess, sys, collections
# exclusive attribution of CPU samples: first group (in priority order) with a frame in the stack
groups = [
 ("GC (background mark, assists, sweep)", r"runtime\.(gcBgMarkWorker|gcAssistAlloc|bgsweep|bgscavenge|gcDrain|markroot)"),
 ("ECDSA P-256 (sign, verify)", r"crypto/ecdsa|fips140/ecdsa|fips140/nistec|p256|fips140/bigmod"),
 ("SQLite (modernc, database/sql, its file I/O)", r"modernc\.org/sqlite|database/sql"),
 ("JetStream (embedded nats-server, nats.go)", r"nats-io/"),
 ("XML signature, rest (xmldsig: parse, C14N, digest)", r"opendcc/xmldsig\."),
 ("XML parse/validate/encode (duis, xsd, xmlsafe)", r"opendcc/duis|opendcc/internal/xsd|opendcc/internal/xmlsafe|encoding/xml|beevik/etree"),
 ("GBCS build/MAC, transform, sim devices, WAN", r"opendcc/gbcs|opendcc/transform|opendcc/sim|opendcc/wan"),
 ("HTTP + TCP loopback (server, client, outbox)", r"net/http|internal/poll|^net\.|net\.\(|syscall\.(read|write)"),
 ("scheduler, timers, futex", r"runtime\.(schedule|findRunnable|park_m|futex|notesleep|mcall|stopm|netpoll|timer|goexit0|sysmon|usleep)"),
]
prof = sys.argv[1]
out = subprocess.run(["go","tool","pprof","-traces"]+sys.argv[2:]+[prof], capture_output=True, text=True).stdout
blocks = out.split("-----------+-------------------------------------------------------")
tot = collections.Counter(); total = 0.0; parts = collections.Counter()
def val(s):
    m = re.match(r"\s*([\d.]+)(ns|us|µs|ms|s)\b", s)
    if not m: return None
    v = float(m.group(1)); u = m.group(2)
    return v * {"ns":1e-9,"us":1e-6,"µs":1e-6,"ms":1e-3,"s":1}[u]
for b in blocks[1:]:
    lines = [l for l in b.strip("\n").split("\n") if l.strip()]
    # a labelled trace starts with its labels ("key:  value", unindented)
    part = "dcc"
    while lines and not lines[0][:1].isspace():
        k, _, lv = lines.pop(0).partition(":")
        if k == "opendcc.part": part = lv.strip()
    if not lines: continue
    v = val(lines[0])
    if v is None: continue
    parts[part] += v
    frames = [re.sub(r"^\s*[\d.]+(ns|us|µs|ms|s)\s+", "", lines[0]).strip()] + [l.strip() for l in lines[1:]]
    total += v
    for name, rx in groups:
        if name.startswith("JetStream"):
            ni = [i for i, f in enumerate(frames) if "nats-io/" in f]
            di = [i for i, f in enumerate(frames) if "opendcc/dcc." in f]
            if ni and (not di or ni[0] < di[0]):
                tot[name] += v; break
            continue
        if any(re.search(rx, f) for f in frames):
            tot[name] += v; break
    else:
        tot["other runtime / misc"] += v
print(f"total {total:.2f}s (" + ", ".join(f"{k} {v/total*100:.1f}%" for k, v in sorted(parts.items())) + ")")
for name, _ in groups + [("other runtime / misc", "")]:
    print(f"{tot[name]/total*100:5.1f}%  {tot[name]:6.2f}s  {name}")
