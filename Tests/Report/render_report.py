#!/usr/bin/env python3
"""Renders funnel-train's HTML report in headless Chromium and checks what a reader would see.

Makes a small simulated world, trains on it with `train --html`, writes `evaluate --state … --html --compare` (peers
from Tests/Report/bench_results.json), opens that page in headless Chromium over the DevTools protocol and fails
unless: every section is there; the page logged no console error, threw no exception and requested nothing but
its own file; it runs no script; and every <svg> has a non-empty box and drawn marks (lines, markers, bars) with a
non-zero bounding box. Takes a screenshot of the page (--screenshot PATH: the top of the page at a reduced scale,
as docs/report.png; otherwise a temporary full page, checked to be non-trivial).

    python3 Tests/Report/render_report.py --binary "$(swift build --show-bin-path)"
    python3 Tests/Report/render_report.py --binary DIR --world DIR --screenshot docs/report.png   # an existing world

Needs Debian's chromium and the pinned websocket-client (scripts/setup.sh, scripts/python_tools.sh).
"""

import argparse, base64, json, os, shutil, subprocess, sys, tempfile, time, urllib.request

import websocket  # websocket-client

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SECTIONS = ["metrics", "calibration", "deciles", "roc", "training", "delay", "peers", "metadata"]

# Evaluated in the page: sections, scripts, and per <svg> its box and its drawn marks with a non-empty bounding box.
INSPECT = r"""
(() => {
  const marks = 'polyline.series, circle, rect:not(.frame)';
  const svgs = [...document.querySelectorAll('svg')].map(svg => {
    const box = svg.getBoundingClientRect();
    const drawn = [...svg.querySelectorAll(marks)].filter(el => {
      const b = el.getBBox();
      return b.width > 0 && b.height > 0;
    });
    return {label: svg.getAttribute('aria-label'), width: box.width, height: box.height,
            marks: svg.querySelectorAll(marks).length, drawn: drawn.length};
  });
  return JSON.stringify({
    sections: [...document.querySelectorAll('section')].map(s => s.id),
    headings: [...document.querySelectorAll('section > h2')].length,
    scripts: document.scripts.length,
    height: document.documentElement.scrollHeight,
    svgs: svgs});
})()
"""


def run(arguments, log):
    result = subprocess.run([str(a) for a in arguments], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log.write(result.stdout)
    if result.returncode != 0:
        sys.exit(f"{' '.join(map(str, arguments))} failed ({result.returncode}):\n{result.stdout[-3000:]}")


def make_report(binary, directory, world, log):
    """Simulates (unless given a world), trains with --html, and writes evaluate's report with peers."""
    funnel = os.path.join(binary, "funnel-train")
    if world is None:
        world = os.path.join(directory, "world")
        run([funnel, "simulate", "-o", world, "--train-rows", 20000, "--test-rows", 5000, "--users", 1000,
             "--items", 800], log)
    state, test, truth = f"{directory}/model.ftrain", f"{world}/test.csv", f"{world}/test_truth.csv"
    run([funnel, "train", "--data", f"{world}/train.csv", "--schema", f"{world}/schema.json", "--state", state,
         "--test", test, "--truth", truth, "--html", f"{directory}/train.html"], log)
    page = f"{directory}/report.html"
    run([funnel, "evaluate", "--state", state, "--data", test, "--truth", truth, "--html", page,
         "--compare", os.path.join(ROOT, "Tests/Report/bench_results.json")], log)
    return page


class DevTools:
    """One page target of a headless Chromium, driven over its DevTools WebSocket; events are kept in order."""

    def __init__(self, chromium, profile):
        self.process = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking", "--hide-scrollbars", "--remote-debugging-port=0",
             f"--user-data-dir={profile}", "--window-size=1280,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(profile, "DevToolsActivePort")
        deadline = time.time() + 30
        while not (os.path.exists(port_file) and len(open(port_file).read().split()) >= 2):
            if time.time() > deadline or self.process.poll() is not None:
                self.close()
                sys.exit("chromium did not open its DevTools port")
            time.sleep(0.1)
        port = open(port_file).read().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            pages = [t for t in json.load(response) if t["type"] == "page"]
        self.socket = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events = []

    def call(self, method, **params):
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    sys.exit(f"{method}: {message['error']}")
                return message["result"]
            if "method" in message:
                self.events.append(message)

    def wait_for(self, event, seconds=30):
        deadline = time.time() + seconds
        while not any(e["method"] == event for e in self.events):
            if time.time() > deadline:
                sys.exit(f"no {event} within {seconds} s")
            message = json.loads(self.socket.recv())
            if "method" in message:
                self.events.append(message)

    def close(self):
        if getattr(self, "socket", None):
            self.socket.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def check(page, chromium, screenshot, profile):
    """The checks of the module docstring; returns a list of failures and prints what was seen."""
    browser = DevTools(chromium, profile)
    try:
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.call(f"{domain}.enable")
        # A viewport as tall as the screenshot's clip: outside the viewport a clip captures nothing.
        browser.call("Emulation.setDeviceMetricsOverride", width=1280, height=1500, deviceScaleFactor=1, mobile=False)
        url = "file://" + os.path.abspath(page)
        browser.call("Page.navigate", url=url)
        browser.wait_for("Page.loadEventFired")
        seen = json.loads(browser.call("Runtime.evaluate", expression=INSPECT, returnByValue=True)["result"]["value"])
        if screenshot:
            # The top of the page (title, metrics, calibration) at 0.6 scale: small enough for the README.
            shot = browser.call("Page.captureScreenshot", format="png",
                                clip={"x": 0, "y": 0, "width": 1280, "height": 1500, "scale": 0.6})
        else:
            shot = browser.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        png = base64.b64decode(shot["data"])
        events = browser.events
    finally:
        browser.close()
    failures = []
    errors = [e for e in events if e["method"] == "Runtime.exceptionThrown"
              or (e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
              or (e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")]
    failures += [f"console error: {json.dumps(e['params'])[:300]}" for e in errors]
    requests = [e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"]
    failures += [f"the page requested {u}" for u in requests if u != url and not u.startswith("data:")]
    if seen["sections"] != SECTIONS or seen["headings"] != len(SECTIONS):
        failures.append(f"sections {seen['sections']} ({seen['headings']} headings), expected {SECTIONS}")
    if seen["scripts"]:
        failures.append(f"{seen['scripts']} scripts in the page")
    # Simulated ESDC with its delay tower: 4 tasks × (reliability, rows per bin, deciles), ROC, loss, AUC, delay CDF.
    expected_svgs = 4 * 3 + 1 + 2 + 1
    if len(seen["svgs"]) != expected_svgs:
        failures.append(f"{len(seen['svgs'])} plots, expected {expected_svgs}")
    for svg in seen["svgs"]:
        if svg["width"] <= 0 or svg["height"] <= 0 or svg["drawn"] == 0:
            failures.append(f"plot '{svg['label']}' is empty: {svg}")
    if png[:8] != b"\x89PNG\r\n\x1a\n" or len(png) < 20_000:
        failures.append(f"the screenshot is not a picture of a page ({len(png)} bytes)")
    if screenshot:
        with open(screenshot, "wb") as f:
            f.write(png)
    drawn = sum(s["drawn"] for s in seen["svgs"])
    print(f"render_report: {len(seen['sections'])} sections, {len(seen['svgs'])} plots with {drawn} drawn marks, "
          f"{len(errors)} console errors, {len(requests)} requests, page {os.path.getsize(page)} bytes and "
          f"{seen['height']} px high, "
          f"screenshot {screenshot or '(not kept)'} ({len(png)} bytes)")
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", required=True, help="directory holding funnel-train")
    ap.add_argument("--world", help="an existing simulate output directory (default: a small new world)")
    ap.add_argument("--screenshot", help="write the README's screenshot here (the top of the page)")
    ap.add_argument("--chromium", default=os.environ.get("CHROMIUM", shutil.which("chromium") or "chromium"))
    args = ap.parse_args()
    started = time.time()
    directory = tempfile.mkdtemp(prefix="funnel-report-")
    try:
        with open(os.path.join(directory, "funnel-train.log"), "w") as log:
            page = make_report(os.path.abspath(args.binary), directory, args.world, log)
        profile = os.path.join(directory, "chromium-profile")
        os.makedirs(profile)
        failures = check(page, args.chromium, args.screenshot and os.path.abspath(args.screenshot), profile)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    for failure in failures:
        print("FAIL:", failure)
    print(f"render_report: {1 if not failures else 0} passed, {1 if failures else 0} failed "
          f"in {time.time() - started:.1f} s")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
