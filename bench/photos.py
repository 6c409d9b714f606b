#!/usr/bin/env python3
"""Quire's photo benchmark: uploads, thumbnails, a journal page of photos, a Day One import.

Run through `.ci/bench --photos` (after the release build), or on its own once
`cargo leptos build --release --split --precompress` has run. Quire runs pinned to core 0 with
one tokio worker (as in bench/run.py); this driver on core 1. In one run it measures:

- a 12-megapixel JPEG (4000 x 3000, as phones take them): Quire's upload (`POST /media`: type
  check, decode, orientation, metadata removal, two smaller sizes, storage) one after another,
  beside the same work done by Pillow in this process (decode, resize to 1600 and 480 px, encode:
  what a Python journal does), and the thumbnail's fetch (`GET /media/<id>?size=small`);
- the journal page with 20 thumbnails beside the same page of 20 entries without photos (wrk
  peak rate, as bench/run.py);
- a Day One import of 1,000 entries with 500 photos (a zip made here with Day One's layout), from
  upload to the finished report, beside the same 1,000 entries without photos.

Figures go to `target/bench/photos.json`; docs/BENCHMARKS.md shows them.
"""

import io
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (the shared helpers: Server, request, server_fn, wrk)

from PIL import Image  # noqa: E402

EMAIL = "photos@example.com"
OTHER = "words@example.com"
PASSWORD = run.PASSWORD


def photo(width, height, seed, quality=90):
    """A JPEG with a photo's texture: smooth light and grain (noise alone would not compress like
    a photo; flat colour would compress far better)."""
    rng = random.Random(seed)
    grain = Image.effect_noise((width, height), 24 + rng.random() * 8)
    light = Image.linear_gradient("L").resize((width, height))
    shade = Image.radial_gradient("L").resize((width, height))
    image = Image.merge("RGB", (light, grain, shade))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def multipart(field, name, data, mime):
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n"
        f"Content-Type: {mime}\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def upload(base, cookie, name, data):
    body, kind = multipart("photo", name, data, "image/jpeg")
    res, out = run.request(base, "POST", "/media", body, {
        "Cookie": cookie, "Origin": base, "Accept": "application/json", "Content-Type": kind})
    if res.status != 201:
        raise SystemExit(f"upload failed: {res.status} {out[:300]!r}")
    return json.loads(out)


def login(base, email):
    res, data = run.server_fn(base, "auth/register", {
        "name": "Bench", "email": email, "password": PASSWORD, "password_again": PASSWORD})
    if res.status >= 400:
        raise SystemExit(f"registration failed: {res.status} {data[:300]!r}")
    res, data = run.server_fn(base, "auth/password-login", {"email": email, "password": PASSWORD})
    cookie = "; ".join(c.split(";")[0] for c in res.headers.get_all("Set-Cookie") or []
                       if "session" in c.split("=")[0])
    if res.status >= 400 or not cookie:
        raise SystemExit(f"login failed: {res.status} {data[:300]!r}")
    return cookie


def create(base, cookie, title, date, body):
    res, data = run.server_fn(base, "entries/create", {
        "title": title, "entry_date": date, "tags": "bench", "body": body}, cookie)
    if res.status >= 400:
        raise SystemExit(f"create failed: {res.status} {data[:300]!r}")


def pillow_work(data):
    """What Quire does to an upload, done by Pillow: decode, two smaller sizes, encode."""
    image = Image.open(io.BytesIO(data))
    image.load()
    outs = []
    for side in (1600, 480):
        copy = image.copy()
        copy.thumbnail((side, side), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        copy.save(out, "JPEG", quality=90)
        outs.append(out.getvalue())
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return outs


def day_one_zip(path, entries, photos, with_photos=True):
    """A Day One export: Journal.json and photos/<md5>.jpeg, photos in every other entry."""
    items, files = [], []
    for i in range(entries):
        item = {
            "uuid": uuid.UUID(int=i + 1).hex.upper(),
            "creationDate": f"20{10 + i % 14:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}T08:{i % 60:02d}:00Z",
            "timeZone": "Europe/Paris",
            "text": f"# Day {i}\n\n{run.body_of(i)[0]}",
            "tags": ["bench"],
            "starred": i % 10 == 0,
        }
        if with_photos and i % 2 == 0 and len(files) < photos:
            ident = uuid.UUID(int=10_000 + i).hex.upper()
            md5 = uuid.UUID(int=20_000 + i).hex
            item["text"] += f"\n\n![](dayone-moment://{ident})"
            item["photos"] = [{"identifier": ident, "md5": md5, "type": "jpeg", "orderInEntry": 0}]
            files.append(f"photos/{md5}.jpeg")
        items.append(item)
    # A handful of distinct photos, reused: making 500 distinct 1600 x 1200 JPEGs in Python takes
    # longer than the import; Quire decodes each file anyway.
    samples = [photo(1600, 1200, s, quality=85) for s in range(8)]
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("Journal.json", json.dumps({"metadata": {"version": "1.0"}, "entries": items}),
                   compress_type=zipfile.ZIP_DEFLATED)
        for n, name in enumerate(files):
            z.writestr(name, samples[n % len(samples)])
    return len(files), os.path.getsize(path)


def import_zip(base, cookie, path):
    data = Path(path).read_bytes()
    body, kind = multipart("file", Path(path).name, data, "application/zip")
    start = time.perf_counter()
    res, out = run.request(base, "POST", "/import", body,
                           {"Cookie": cookie, "Origin": base, "Content-Type": kind})
    if res.status not in (303, 302):
        raise SystemExit(f"import failed: {res.status} {out[:300]!r}")
    while True:
        res, out = run.server_fn(base, "entries/import-report", {}, cookie)
        report = json.loads(out)
        if not (isinstance(report.get("state"), dict) and "Running" in report["state"]):
            break
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    if report.get("failed") or report.get("problem_count"):
        raise SystemExit(f"import reported problems: {report}")
    return seconds, report


def main():
    os.sched_setaffinity(0, {run.LOAD_CORE})
    run.OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="quire-photos-"))
    env = {
        "DATABASE_URL": f"sqlite://{work / 'quire.db'}",
        "QUIRE_PASSWORD_LOGIN": "on",
        "QUIRE_LISTEN": "127.0.0.1:{port}",
        "QUIRE_PUBLIC_URL": "http://127.0.0.1:{port}",
        "LEPTOS_SITE_ROOT": str(run.TARGET / "site"),
        "QUIRE_REGISTRATIONS_PER_HOUR": "1000",
        "QUIRE_REQUEST_TIMEOUT_SECONDS": "120",
    }
    results = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    quire = run.Server("quire-photos", [str(run.TARGET / "release" / "server")], env, cwd=work)
    try:
        base = quire.base
        cookie = login(base, EMAIL)

        # 1. A 12-megapixel JPEG.
        big = photo(4000, 3000, 1)
        run.say(f"12 MP JPEG: {len(big) / 1e6:.1f} MB")
        upload(base, cookie, "warm-up.jpg", big)
        quire_s, pillow_s, ids = [], [], []
        for n in range(5):
            t = time.perf_counter()
            ids.append(upload(base, cookie, f"IMG_{n}.jpg", big)["id"])
            quire_s.append(time.perf_counter() - t)
            t = time.perf_counter()
            pillow_work(big)
            pillow_s.append(time.perf_counter() - t)
        thumb = run.sequential_ms(base, f"/media/{ids[0]}?size=small", cookie, 50)
        thumb["rps"] = run.wrk(base + f"/media/{ids[0]}?size=small", {"Cookie": cookie}, 8)
        results["upload_12mp"] = {
            "bytes": len(big),
            "quire_s": statistics.median(quire_s),
            "pillow_s": statistics.median(pillow_s),
            "thumbnail_fetch_ms": thumb,
        }
        run.say(f"upload 12 MP: Quire {statistics.median(quire_s):.2f} s, "
                f"Pillow {statistics.median(pillow_s):.2f} s; thumbnail {thumb['p50_ms']:.2f} ms, "
                f"{thumb['rps']:,.0f} req/s")

        # 2. The journal page with 20 thumbnails, beside 20 entries without photos.
        small = photo(1200, 900, 2, quality=85)
        for n in range(20):
            md = upload(base, cookie, f"walk {n}.jpg", small)["markdown"]
            create(base, cookie, f"Walk {n}", f"2026-11-{1 + n:02d}", f"{run.body_of(n)[0]}\n\n{md}")
        words = login(base, OTHER)
        for n in range(20):
            create(base, words, f"Walk {n}", f"2026-11-{1 + n:02d}", run.body_of(n)[0])
        _, page = run.request(base, "GET", "/journal", None, {"Cookie": cookie})
        if page.count(b'class="entry-thumb"') != 20:
            raise SystemExit("the journal page does not show 20 thumbnails")
        for c in (cookie, words):
            run.sequential_ms(base, "/journal", c, 20)
        with_photos = run.wrk(base + "/journal", {"Cookie": cookie}, 8)
        without = run.wrk(base + "/journal", {"Cookie": words}, 8)
        results["journal_20_thumbnails"] = {"rps": with_photos, "rps_without_photos": without,
                                            "ratio": with_photos / without}
        run.say(f"journal page: 20 thumbnails {with_photos:,.0f} req/s, "
                f"without photos {without:,.0f} req/s ({with_photos / without:.2f}x)")
    finally:
        quire.stop()

    # 3. Day One: 1,000 entries with 500 photos, beside 1,000 without, each into a fresh Quire.
    figures = {}
    for label, with_photos in (("with_photos", True), ("without_photos", False)):
        zip_path = work / f"dayone-{label}.zip"
        count, size = day_one_zip(zip_path, 1000, 500, with_photos)
        (work / label).mkdir()
        env_one = dict(env, DATABASE_URL=f"sqlite://{work / label / 'quire.db'}")
        quire = run.Server(f"quire-dayone-{label}", [str(run.TARGET / "release" / "server")],
                           env_one, cwd=work / label)
        try:
            cookie = login(quire.base, EMAIL)
            seconds, report = import_zip(quire.base, cookie, zip_path)
            figures[label] = {"photos": count, "zip_bytes": size, "seconds": seconds,
                              "imported": report["imported"], "peak_rss_mib": quire.peak_rss_mib()}
            run.say(f"Day One import {label}: {report['imported']} entries, {count} photos, "
                    f"{size / 1e6:.0f} MB in {seconds:.1f} s, peak RSS {quire.peak_rss_mib():.0f} MiB")
        finally:
            quire.stop()
    results["day_one_import"] = figures
    shutil.rmtree(work, ignore_errors=True)
    (run.OUT / "photos.json").write_text(json.dumps(results, indent=2))
    run.say(f"figures written to {run.OUT / 'photos.json'}")


if __name__ == "__main__":
    main()
