#!/usr/bin/env python3
"""Quire's benchmark: Quire and its ceilings, measured side by side in one run.

Run through `.ci/bench`, which builds the release first. Every server runs pinned to core 0 with
one tokio worker; this driver and the load generators run on core 1. In one run it measures:

- the ceilings: a bare axum "Hello, World!" handler and a minimal Leptos SSR page
  (`bench/reference`, same versions and release profile as Quire);
- Quire on a 100,000-entry SQLite journal: the public home page, the logged-in journal page, an
  entry page, page 1,000, a selective and a common-word search, the `entries/list` server
  function and a save, plain and browser-like (`Accept-Encoding: br, gzip`);
- for each: the peak rate (wrk, 32 connections), then p50/p99 at half of that rate, open-loop
  (oha -q with latency correction), and each server's peak RSS;
- the search's server time (sequential requests, one connection);
- the browser download of a first visit and of each lazy chunk (raw and brotli);
- Lighthouse 12 scores (desktop and mobile) on the home, journal and entry pages.

It prints a table with each bar and the measured ratio, and writes the figures as JSON
(`target/bench/latest.json` and a copy named after the commit) so two commits can be compared.
Ratios matter, absolute numbers do not: the machine is shared.
"""

import argparse
import datetime
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
OUT = TARGET / "bench"
SERVER_CORE = 0
LOAD_CORE = 1
ENTRIES = 100_000
EMAIL = "bench@example.com"
PASSWORD = "correct horse battery staple bench"

WORDS = (
    "morning coffee walked river quiet meeting garden rain letter friend bread train window "
    "music evening tired happy lighthouse market mountain book kitchen bicycle sunlight notebook "
    "harbour winter summer laughed thought remembered forest"
).split()
TAGS = ["work", "family", "travel", "health", "reading", "ideas", "garden", "music"]


def say(*parts):
    print("==>", *parts, flush=True)


# ---------------------------------------------------------------------------------------------
# Servers


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process pinned to the server core, with one tokio worker."""

    def __init__(self, name, argv, env=None, cwd=None):
        self.name = name
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        full_env = dict(os.environ)
        full_env.update({"TOKIO_WORKER_THREADS": "1", "RUST_LOG": "warn"})
        full_env.update(env or {})
        argv = [a.replace("{port}", str(self.port)) for a in argv]
        full_env = {k: v.replace("{port}", str(self.port)) for k, v in full_env.items()}
        self.log = open(OUT / f"{name}.log", "w")
        self.process = subprocess.Popen(
            ["taskset", "-c", str(SERVER_CORE), *argv],
            env=full_env,
            cwd=cwd,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{name} exited at start; see {self.log.name}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"{name} did not listen within 120 s; see {self.log.name}")

    def peak_rss_mib(self):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return None

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


# ---------------------------------------------------------------------------------------------
# HTTP helpers (the driver itself: setup requests and sequential timings)


def request(base, method, path, body=None, headers=None):
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    conn.request(method, path, body=body, headers=headers or {})
    res = conn.getresponse()
    data = res.read()
    conn.close()
    return res, data


def server_fn(base, endpoint, fields, cookie=None):
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
        "Origin": base,
    }
    if cookie:
        headers["Cookie"] = cookie
    return request(base, "POST", f"/api/{endpoint}", urllib.parse.urlencode(fields), headers)


def sequential_ms(base, path, cookie, runs):
    """Median and p95 of one request after another on one kept-alive connection."""
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        conn.request("GET", path, headers={"Cookie": cookie})
        res = conn.getresponse()
        res.read()
        samples.append((time.perf_counter() - start) * 1000)
        if res.status != 200:
            raise SystemExit(f"GET {path}: {res.status}")
    conn.close()
    samples.sort()
    return {"p50_ms": samples[len(samples) // 2], "p95_ms": samples[len(samples) * 95 // 100]}


# ---------------------------------------------------------------------------------------------
# The 100,000-entry journal, written straight into the SQLite file (seeding through the import
# path takes ten minutes; this takes well under one). Columns are filled the way
# app::entries::repo does: excerpt, tags column, entry_tags rows, content digest; the FTS index
# follows through the schema's triggers.


def body_of(i):
    x = (i * 2654435761) | 1
    words = []
    for _ in range(90):
        x ^= (x << 13) & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 7
        x ^= (x << 17) & 0xFFFFFFFFFFFFFFFF
        words.append(WORDS[x % len(WORDS)])
    if i % 1000 == 0:
        words.append("zeppelin")  # one entry in a thousand: a selective search
    first, rest = " ".join(words[:60]), " ".join(words[60:])
    return f"{first}.\n\nAnd then **{rest}**.", f"{first}. And then {rest}."


def excerpt_of(plain, max_chars=280):
    # app::entries::markdown::excerpt for this shape of text.
    if len(plain) <= max_chars:
        return plain
    cut = plain[:max_chars]
    i = cut.rfind(" ")
    if i > max_chars // 2:
        cut = cut[:i]
    return cut.rstrip(",.;: ") + "…"


def digest_of(date, title, body):
    h = hashlib.sha256()
    for part in (date, title, body):
        data = part.encode()
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def seed(db_path, user_id):
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    start_day = datetime.date(1996, 1, 1)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    with db:
        for i in range(ENTRIES):
            day = (start_day + datetime.timedelta(days=i // 9)).isoformat()
            tags = sorted({TAGS[i % len(TAGS)], TAGS[(i // 3) % len(TAGS)]})
            title = f"Entry number {i}"
            body, plain = body_of(i)
            cur = db.execute(
                "INSERT INTO entries (user_id, title, body, excerpt, entry_date, tags, created_at,"
                " updated_at, content_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (user_id, title, body, excerpt_of(plain), day, "\n".join(tags), now, now,
                 digest_of(day, title, body)),
            )
            db.executemany(
                "INSERT INTO entry_tags (entry_id, user_id, tag) VALUES (?, ?, ?)",
                [(cur.lastrowid, user_id, t) for t in tags],
            )
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("ANALYZE")
    db.close()


# ---------------------------------------------------------------------------------------------
# Load generators, on the load core


def wrk(url, headers, seconds, script=None):
    """Peak rate with 32 connections: requests/s and wrk's latency percentiles."""
    argv = ["taskset", "-c", str(LOAD_CORE), "wrk", "-t1", "-c32", f"-d{seconds}s", "--latency"]
    for k, v in headers.items():
        argv += ["-H", f"{k}: {v}"]
    if script:
        argv += ["-s", script]
    out = subprocess.run(argv + [url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} error responses under load\n{out}")
    return rate


def oha(url, headers, seconds, rate, method="GET", body=None):
    """Open-loop latency at a fixed rate (latency measured from when each request was due)."""
    argv = [
        "taskset", "-c", str(LOAD_CORE), "oha", "--no-tui", "--output-format", "json",
        "-z", f"{seconds}s", "-q", str(max(1, int(rate))), "--latency-correction",
        "-c", "32", "-m", method, "--disable-compression",
    ]
    for k, v in headers.items():
        argv += ["-H", f"{k}: {v}"]
    if body is not None:
        argv += ["-d", body]
    out = json.loads(subprocess.run(argv + [url], capture_output=True, text=True, check=True).stdout)
    pct = out["latencyPercentiles"]
    codes = out.get("statusCodeDistribution", {})
    bad = {c: n for c, n in codes.items() if not c.startswith("2")}
    if bad:
        raise SystemExit(f"{url}: error statuses at half load: {bad}")
    # Requests still in flight when the run's time is up are cut off; anything else is a failure.
    failed = {e: n for e, n in (out.get("errorDistribution") or {}).items()
              if e != "aborted due to deadline"}
    if failed:
        raise SystemExit(f"{url}: failed requests at half load: {failed}")
    return {"p50_ms": pct["p50"] * 1000, "p99_ms": pct["p99"] * 1000,
            "achieved_rps": out["summary"]["requestsPerSec"]}


def post_script(name, body, headers):
    path = OUT / f"{name}.lua"
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(body)}"]
    for k, v in headers.items():
        lines.append(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}")
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def settle():
    """Lets the server finish the peak run's requests before the half-load run starts.

    When wrk stops, the requests it leaves behind are dropped, but a query already handed to one
    of SQLite's connection threads runs to its end: up to eight of them (one per pooled
    connection), about a quarter of a second of work for the common-word search. Started at once,
    the half-load run would count that backlog as latency of its first requests; a second is
    ample for it to clear.
    """
    time.sleep(1)


def measure(label, url, headers, seconds, method="GET", body=None):
    script = None
    if method == "POST":
        script = post_script(re.sub(r"\W+", "_", label), body, headers)
    peak = wrk(url, headers if method == "GET" else {}, seconds, script)
    settle()
    half = oha(url, headers, seconds, peak / 2, method, body)
    row = {"what": label, "rps": peak, **half}
    say(f"{label}: {peak:,.0f} req/s; at {peak / 2:,.0f} req/s p50 {half['p50_ms']:.2f} ms,"
        f" p99 {half['p99_ms']:.2f} ms")
    return row


# ---------------------------------------------------------------------------------------------
# Browser download and Lighthouse


def brotli_size(path):
    js = ("const z=require('zlib');process.stdout.write(String(z.brotliCompressSync("
          "require('fs').readFileSync(process.argv[1]),{params:{[z.constants.BROTLI_PARAM_QUALITY]:11}})"
          ".length))")
    return int(subprocess.run(["node", "-e", js, str(path)], capture_output=True, text=True,
                              check=True).stdout)


def downloads():
    pkg = TARGET / "site" / "pkg"
    first, lazy = [], []
    for f in sorted(pkg.iterdir()):
        if f.suffix not in (".wasm", ".js", ".css"):
            continue
        row = {"file": f.name, "raw": f.stat().st_size, "brotli": brotli_size(f)}
        (lazy if re.match(r"^(split_|chunk_)", f.name) else first).append(row)
    return first, lazy


def lighthouse(base, pages, cookie):
    tools = OUT / "tools"
    binary = tools / "node_modules" / ".bin" / "lighthouse"
    if not binary.exists():
        say("installing Lighthouse 12 (target/bench/tools)")
        tools.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(tools), "--no-audit", "--no-fund",
                        "lighthouse@12"], check=True, stdout=subprocess.DEVNULL)
    flags = ("--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run "
             "--disable-background-networking --disable-component-update --disable-sync")
    scores = []
    for page, path, needs_login in pages:
        for form in ("desktop", "mobile"):
            report = OUT / f"lighthouse-{page}-{form}.json"
            argv = [str(binary), base + path, "--quiet", "--output=json",
                    f"--output-path={report}", "--chrome-path=/usr/bin/chromium",
                    f"--chrome-flags={flags}",
                    "--only-categories=performance,accessibility,best-practices,seo"]
            if form == "desktop":
                argv.append("--preset=desktop")
            if needs_login:
                argv.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
            subprocess.run(["taskset", "-c", str(LOAD_CORE), *argv], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cats = json.loads(report.read_text())["categories"]
            row = {"page": page, "form": form,
                   **{k: round((v["score"] or 0) * 100) for k, v in cats.items()}}
            say(f"lighthouse {page} {form}: {row}")
            scores.append(row)
    return scores


# ---------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=8, help="length of each load run")
    parser.add_argument("--no-lighthouse", action="store_true")
    args = parser.parse_args()
    os.sched_setaffinity(0, {LOAD_CORE})
    OUT.mkdir(parents=True, exist_ok=True)
    secs = args.seconds
    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                 capture_output=True, text=True).stdout.strip(),
        "machine": f"{os.cpu_count()} cores, {platform_cpu()}",
        "rows": [], "rss_mib": {},
    }
    rows = results["rows"]

    # The ceilings.
    reference = str(TARGET / "release" / "reference")
    for mode, label in (("axum", "bare axum \"Hello, World!\""),
                        ("leptos", "minimal Leptos SSR page")):
        server = Server(f"reference-{mode}", [reference, mode, "127.0.0.1:{port}"])
        try:
            rows.append(measure(label, server.base + "/", {}, secs) | {"key": mode})
            results["rss_mib"][label] = server.peak_rss_mib()
        finally:
            server.stop()

    # Quire on a fresh SQLite file: register, seed 100,000 entries, then measure.
    work = Path(tempfile.mkdtemp(prefix="quire-bench-"))
    db_path = work / "quire.db"
    env = {
        "DATABASE_URL": f"sqlite://{db_path}",
        "QUIRE_PASSWORD_LOGIN": "on",
        "QUIRE_LISTEN": "127.0.0.1:{port}",
        "QUIRE_PUBLIC_URL": "http://127.0.0.1:{port}",
        "LEPTOS_SITE_ROOT": str(TARGET / "site"),
        "QUIRE_REGISTRATIONS_PER_HOUR": "1000",
    }
    quire_bin = str(TARGET / "release" / "server")
    quire = Server("quire-setup", [quire_bin], env, cwd=work)
    try:
        res, data = server_fn(quire.base, "auth/register", {
            "name": "Bench", "email": EMAIL, "password": PASSWORD, "password_again": PASSWORD})
        if res.status >= 400:
            raise SystemExit(f"registration failed: {res.status} {data[:300]!r}")
    finally:
        quire.stop()
    user_id = sqlite3.connect(db_path).execute(
        "SELECT id FROM users WHERE email = ?", (EMAIL,)).fetchone()[0]
    say(f"seeding {ENTRIES:,} entries")
    started = time.time()
    seed(db_path, user_id)
    say(f"seeded in {time.time() - started:.0f} s")

    quire = Server("quire", [quire_bin], env, cwd=work)
    try:
        res, data = server_fn(quire.base, "auth/password-login",
                              {"email": EMAIL, "password": PASSWORD})
        cookie = "; ".join(c.split(";")[0] for c in res.headers.get_all("Set-Cookie") or []
                           if "session" in c.split("=")[0])
        if res.status >= 400 or not cookie:
            raise SystemExit(f"login failed: {res.status} {data[:300]!r}")
        db = sqlite3.connect(db_path)
        entry_id = db.execute("SELECT max(id) FROM entries WHERE user_id = ?",
                              (user_id,)).fetchone()[0]
        date, deep_id = db.execute(
            "SELECT entry_date, id FROM entries WHERE user_id = ? AND deleted_at IS NULL"
            " ORDER BY entry_date DESC, id DESC LIMIT 1 OFFSET ?",
            (user_id, 999 * 20 - 1)).fetchone()
        db.close()
        page1000 = f"/journal?before={date}_{deep_id}"
        logged_in = {"Cookie": cookie}
        browser = {"Cookie": cookie, "Accept-Encoding": "br, gzip",
                   "Accept": "text/html,application/xhtml+xml"}
        fn_headers = {"Cookie": cookie, "Origin": quire.base, "Accept": "application/json",
                      "Content-Type": "application/x-www-form-urlencoded"}
        # Warm up (the page cache, SQLite's cache, connections).
        for path in ("/journal", page1000, "/journal?q=zeppelin"):
            sequential_ms(quire.base, path, cookie, 20)

        targets = [
            ("home", "Quire home page, anonymous", "/", {}, "GET", None),
            ("journal", "Quire journal page, logged in (20 entries)", "/journal", logged_in,
             "GET", None),
            ("journal_browser", "Quire journal page, browser-like (br, gzip)", "/journal",
             browser, "GET", None),
            ("entry", "Quire entry page", f"/journal/{entry_id}", logged_in, "GET", None),
            ("page1000", "Quire journal page 1,000", page1000, logged_in, "GET", None),
            ("search_few", "Quire search, few matches (\"zeppelin\")", "/journal?q=zeppelin",
             logged_in, "GET", None),
            ("search_most", "Quire search, most match (\"lighthouse river\")",
             "/journal?q=lighthouse+river", logged_in, "GET", None),
            ("list_fn", "Quire entries/list server function", "/api/entries/list", fn_headers,
             "POST", ""),
            ("save", "Quire save (entries/create)", "/api/entries/create", fn_headers, "POST",
             urllib.parse.urlencode({"title": "A saved entry", "entry_date": "2026-12-03",
                                     "tags": "work", "body": body_of(7)[0]})),
        ]
        for key, label, path, headers, method, body in targets:
            rows.append(measure(label, quire.base + path, headers, secs, method, body)
                        | {"key": key})
        results["rss_mib"]["Quire"] = quire.peak_rss_mib()
        results["search_server_ms"] = {
            "few": sequential_ms(quire.base, "/journal?q=zeppelin", cookie, 30),
            "most": sequential_ms(quire.base, "/journal?q=lighthouse+river", cookie, 30),
        }
        first, lazy = downloads()
        results["first_visit"] = first
        results["lazy_chunks"] = lazy
        if not args.no_lighthouse:
            results["lighthouse"] = lighthouse(quire.base, [
                ("home", "/", False), ("journal", "/journal", True),
                ("entry", f"/journal/{entry_id}", True)], cookie)
    finally:
        quire.stop()
        shutil.rmtree(work, ignore_errors=True)

    results["bars"] = bars(results)
    report(results)
    (OUT / "latest.json").write_text(json.dumps(results, indent=2))
    (OUT / f"{results['commit'] or 'unknown'}.json").write_text(json.dumps(results, indent=2))
    say(f"figures written to {OUT / 'latest.json'}")


def platform_cpu():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def bars(r):
    rate = {row["key"]: row for row in r["rows"]}
    leptos, axum = rate["leptos"]["rps"], rate["axum"]["rps"]
    kib = lambda n: n / 1024  # noqa: E731
    first_br = sum(f["brotli"] for f in r["first_visit"])
    out = [
        ("journal page ≥ 0.5× minimal Leptos", rate["journal"]["rps"] / leptos, 0.5, ">="),
        ("entry page ≥ 0.5× minimal Leptos", rate["entry"]["rps"] / leptos, 0.5, ">="),
        ("home page ≥ 0.9× minimal Leptos", rate["home"]["rps"] / leptos, 0.9, ">="),
        ("entries/list ≥ 0.3× bare axum", rate["list_fn"]["rps"] / axum, 0.3, ">="),
        ("page 1,000 ≤ 1.1× page 1 (time per request)",
         rate["journal"]["rps"] / rate["page1000"]["rps"], 1.1, "<="),
    ]
    # Quire's rows only: the ceilings' own spread (oha near its limit at 100,000 req/s for the
    # bare handler) is shown in the table for comparison.
    worst = max((row["p99_ms"] / row["p50_ms"], row["what"]) for row in r["rows"]
                if row["key"] not in ("axum", "leptos"))
    out.append((f"p99 ≤ 3× p50 at half load (worst: {worst[1]})", worst[0], 3.0, "<="))
    out.append(("search matching most ≤ 20 ms server time (ms)",
                r["search_server_ms"]["most"]["p50_ms"], 20.0, "<="))
    out.append(("first visit ≤ 150 KiB brotli (KiB)", kib(first_br), 150.0, "<="))
    for s in r.get("lighthouse", []):
        low = min(v for k, v in s.items() if k not in ("page", "form"))
        out.append((f"Lighthouse {s['page']} {s['form']} ≥ 95 (lowest category)", low, 95, ">="))
    return [{"bar": name, "measured": round(value, 3), "target": target,
             "met": value >= target if op == ">=" else value <= target}
            for name, value, target, op in out]


def report(r):
    leptos = next(row["rps"] for row in r["rows"] if row["key"] == "leptos")
    print(f"\nQuire benchmark, {r['date']}, commit {r['commit']}, {r['machine']}")
    print("servers pinned to core 0 with one worker; wrk (-t1 -c32) and oha on core 1\n")
    print("| what | req/s | ratio to minimal Leptos | p50 at half load | p99 at half load |")
    print("|---|---|---|---|---|")
    for row in r["rows"]:
        print(f"| {row['what']} | {row['rps']:,.0f} | {row['rps'] / leptos:.2f}× |"
              f" {row['p50_ms']:.2f} ms | {row['p99_ms']:.2f} ms |")
    print("\n| peak RSS | MiB |\n|---|---|")
    for name, mib in r["rss_mib"].items():
        print(f"| {name} | {mib:.0f} |")
    s = r["search_server_ms"]
    print(f"\nsearch, one request at a time: few matches p50 {s['few']['p50_ms']:.1f} ms,"
          f" most match p50 {s['most']['p50_ms']:.1f} ms")
    print("\n| first visit | raw | brotli |\n|---|---|---|")
    for f in r["first_visit"]:
        print(f"| {f['file']} | {f['raw'] / 1024:.1f} KiB | {f['brotli'] / 1024:.1f} KiB |")
    print(f"| **total** | {sum(f['raw'] for f in r['first_visit']) / 1024:.1f} KiB |"
          f" {sum(f['brotli'] for f in r['first_visit']) / 1024:.1f} KiB |")
    print(f"\nlazy chunks: {len(r['lazy_chunks'])} files, "
          f"{sum(f['brotli'] for f in r['lazy_chunks']) / 1024:.1f} KiB brotli in all; "
          "largest: " + ", ".join(
              f"{f['file']} {f['brotli'] / 1024:.1f} KiB"
              for f in sorted(r["lazy_chunks"], key=lambda f: -f["brotli"])[:3]))
    if r.get("lighthouse"):
        print("\n| Lighthouse | performance | accessibility | best practices | SEO |")
        print("|---|---|---|---|---|")
        for s in r["lighthouse"]:
            print(f"| {s['page']}, {s['form']} | {s.get('performance')} |"
                  f" {s.get('accessibility')} | {s.get('best-practices')} | {s.get('seo')} |")
    print("\n| bar | measured | target | met |\n|---|---|---|---|")
    for b in r["bars"]:
        print(f"| {b['bar']} | {b['measured']} | {b['target']} | {'yes' if b['met'] else 'NO'} |")


if __name__ == "__main__":
    sys.exit(main())
