"""Open pages in a real headless Chromium and report what a reader would see go wrong.

    python tools/browser.py build/site/index.html build/site/week16_gans.slides.html
    python tools/browser.py build/site/week16_gans.html --screenshot gans.png

For each page: did it load, did MathJax typeset the math (no raw $...$ left, no TeX errors),
does every image show, do its relative links point at files that exist, did any script throw,
and did the browser request anything that is not a local file. Chromium is driven through the
DevTools protocol over a pipe (--remote-debugging-pipe: JSON messages ending in a NUL byte on
file descriptors 3 and 4), with the Python standard library only. Every host name resolves to
"not found", so a page that reaches for the internet fails loudly instead of leaking.
"""

import argparse
import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")

# Runs in the page once it has loaded: waits for MathJax 3 if the page uses it, then reads the DOM.
INSPECT = r"""(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const prose = [...document.querySelectorAll('.jp-RenderedMarkdown, body:not(.jp-Notebook)')]
    .map(el => {
      const copy = el.cloneNode(true);
      copy.querySelectorAll('pre, code, script, style').forEach(n => n.remove());
      copy.querySelectorAll('mjx-container').forEach(n => n.replaceWith('[math]'));
      return copy.textContent;
    }).join('\n');
  const raw = prose.match(/\$\$|\\\(|\\\[|\\begin\{|\$[^$\s][^$]*\$/g) || [];
  return {
    title: document.title,
    ready: document.readyState,
    mathjax: !!(window.MathJax && MathJax.startup),
    math: document.querySelectorAll('mjx-container').length,
    tex_errors: [...document.querySelectorAll('mjx-merror')].map(e => e.textContent),
    raw_math: [...new Set(raw)].slice(0, 5).map(s => s.length > 90 ? s.slice(0, 90) + '...' : s),
    images: document.images.length,
    broken_images: [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))
      .map(i => i.src.slice(0, 80)),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    slides: document.querySelectorAll('.reveal .slides > section').length,
    reveal_ready: !!(window.Reveal && Reveal.isReady && Reveal.isReady()),
  };
})()"""


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    sys.exit("error: no Chromium found (looked for chromium, chromium-browser, google-chrome); "
             "install it with `apt-get install -y chromium` (make unit does, as root)")


def _above_9(fd: int) -> int:
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class Chromium:
    """A headless Chromium spoken to over the DevTools pipe; use as a context manager."""

    def __init__(self, executable: str | None = None, timeout: float = 60):
        self.timeout = timeout
        self.profile = tempfile.TemporaryDirectory(prefix="chromium-")
        to_chrome, self._send = os.pipe()
        self._recv, from_chrome = os.pipe()
        # Chromium's ends above 9, so that putting one on fd 3 or 4 cannot overwrite the other
        to_chrome, from_chrome = (_above_9(fd) for fd in (to_chrome, from_chrome))

        flags = ["--headless=new", "--remote-debugging-pipe",
                 f"--user-data-dir={self.profile.name}", "--host-resolver-rules=MAP * ~NOTFOUND",
                 "--no-first-run",
                 "--no-default-browser-check", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-extensions",
                 "--disable-gpu", "--hide-scrollbars", "--mute-audio", "about:blank"]
        if os.geteuid() == 0:  # Chromium's sandbox refuses to run as root
            flags.insert(0, "--no-sandbox")
        # Its log goes to a file: a pipe nobody reads would fill up and stall the browser.
        self.log = open(Path(self.profile.name) / "chromium.log", "w+b")  # noqa: SIM115
        # Chromium reads fd 3 and writes fd 4. bash moves the pipes there after the fork:
        # a preexec_fn would run Python in the child of a multithreaded (JAX) process, which
        # can deadlock before exec, and Popen then waits for the child forever.
        move = f'exec "$0" "$@" 3<&{to_chrome} {to_chrome}<&- 4>&{from_chrome} {from_chrome}>&-'
        self.process = subprocess.Popen(["bash", "-c", move, executable or find_chromium(),
                                         *flags], pass_fds=(to_chrome, from_chrome),
                                        stdout=subprocess.DEVNULL, stderr=self.log)
        os.close(to_chrome)
        os.close(from_chrome)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        self.targets: dict[str, str] = {}  # session id -> its tab's target id

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.call("Browser.close", timeout=5)
            except (RuntimeError, TimeoutError, OSError):
                pass
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        os.close(self._send)
        os.close(self._recv)
        self.log.close()
        self.profile.cleanup()

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._recv], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._recv, 1 << 20)
            if not chunk:
                self.log.seek(0)
                raise RuntimeError(f"Chromium exited: {self.log.read()[-2000:]!r}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float | None = None) -> dict:
        """Send one command and wait for its answer; events that arrive meanwhile are kept."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._send, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def wait_for(self, method: str, session: str, timeout: float | None = None) -> dict:
        deadline = time.monotonic() + (timeout or self.timeout)
        seen = 0
        while True:
            for event in self.events[seen:]:
                if event.get("method") == method and event.get("sessionId") == session:
                    return event
            seen = len(self.events)
            self.events.append(self._read_message(deadline))

    def open(self, url: str, width: int = 1280, height: int = 900) -> str:
        """A new tab showing url, loaded, with its network traffic recorded; its session id."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        session = session["sessionId"]
        self.targets[session] = target
        for domain in ("Network", "Page", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=session)
        self.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                  "deviceScaleFactor": 1, "mobile": False}, session=session)
        navigation = self.call("Page.navigate", {"url": url}, session=session)
        if navigation.get("errorText"):
            raise RuntimeError(f"{url}: {navigation['errorText']}")
        self.wait_for("Page.loadEventFired", session)
        return session

    def evaluate(self, expression: str, session: str):
        result = self.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True}, session=session)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:60]}...: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, session: str, path: Path) -> None:
        png = self.call("Page.captureScreenshot", {"format": "png"}, session=session)["data"]
        Path(path).write_bytes(base64.b64decode(png))

    def session_events(self, session: str, method: str) -> list[dict]:
        return [e["params"] for e in self.events
                if e.get("sessionId") == session and e.get("method") == method]


def inspect(browser: Chromium, path: Path, screenshot: Path | None = None,
            settle: float = 0.5, scroll_to: str | None = None) -> dict:
    """Open a local file and return what the page shows and everything it requested."""
    path, _, fragment = str(path).partition("#")  # a deck's slide: deck.slides.html#/5
    url = Path(path).resolve().as_uri() + (f"#{fragment}" if fragment else "")
    session = browser.open(url)
    report = browser.evaluate(INSPECT, session)
    time.sleep(settle)  # let late requests (fonts MathJax asked for) show up in the log
    browser.evaluate("1", session)  # collects the events that arrived meanwhile
    report["url"] = url
    report["requests"] = [e["request"]["url"] for e in
                          browser.session_events(session, "Network.requestWillBeSent")]
    report["failed"] = [f"{e.get('errorText')} ({e.get('type')})" for e in
                        browser.session_events(session, "Network.loadingFailed")]
    report["exceptions"] = [e["exceptionDetails"].get("exception", {}).get("description")
                            or e["exceptionDetails"].get("text") for e in
                            browser.session_events(session, "Runtime.exceptionThrown")]
    report["console_errors"] = [e["entry"]["text"] for e in
                                browser.session_events(session, "Log.entryAdded")
                                if e["entry"]["level"] == "error"]
    if scroll_to:
        browser.evaluate(f"document.querySelector({json.dumps(scroll_to)}).scrollIntoView()",
                         session)
    if screenshot:
        browser.screenshot(session, screenshot)
    browser.call("Target.closeTarget", {"targetId": browser.targets.pop(session)})
    return report


def problems(report: dict, expect_math: bool = True) -> list[str]:
    """What is wrong with an inspected page, one line each; empty if nothing."""
    found = []
    if report["ready"] != "complete":
        found.append(f"page did not finish loading ({report['ready']})")
    remote = [u for u in report["requests"] if not u.startswith(LOCAL_SCHEMES)]
    if remote:
        found.append(f"requests leaving the machine: {remote}")
    if report["failed"]:
        found.append(f"failed loads: {report['failed']}")
    if report["exceptions"] or report["console_errors"]:
        found.append(f"errors in the page: {report['exceptions'] + report['console_errors']}")
    if expect_math and not (report["mathjax"] and report["math"] > 0):
        found.append("no math typeset (MathJax missing or no mjx-container)")
    if report["raw_math"]:
        found.append(f"math left as raw TeX: {report['raw_math']}")
    if report["tex_errors"]:
        found.append(f"TeX errors: {report['tex_errors']}")
    if report["broken_images"]:
        found.append(f"{len(report['broken_images'])} of {report['images']} images do not show: "
                     f"{report['broken_images']}")
    for link in report["links"]:
        parsed = urlparse(link)
        if parsed.scheme == "file" and not Path(unquote(parsed.path)).exists():
            found.append(f"broken link: {link}")
    return found


# ------------------------------------------------ interaction: sliders, decks, dark mode, axe

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"

# Moves every explorable's slider to each end and back; what the picture and caption were.
MOVE_SLIDERS = r"""(() => [...document.querySelectorAll('figure.explorable')].map(fig => {
  const input = fig.querySelector('input[type=range]'), img = fig.querySelector('img'),
        out = fig.querySelector('output');
  const seen = [];
  for (const value of [input.min, input.max, input.value]) {
    input.value = value;
    input.dispatchEvent(new Event('input', {bubbles: true}));
    seen.push({value: +value, src: img.src.length + ':' + img.src.slice(-40), alt: img.alt,
               caption: out.textContent});
  }
  return {title: fig.querySelector('figcaption').textContent, frames: +input.max + 1, seen};
}))()"""

# Walks through every slide of a reveal.js deck as a lecturer would show it: its height after
# the deck's fit-to-screen (zoom), the words in view (not the speaker notes, code, printed
# output, tables or formulas: a formula counts one word), each figure's width and height as a
# fraction of the slide's, what lies past the bottom edge once the folded code is opened, the
# code and output lines wider than their box, display equations past the right edge, the
# heading of a slide that shows a solution, and whether a slide shows a heading and nothing
# else (a section's own h1/h2 title slide may).
DECK_AUDIT = r"""(async () => {
  Reveal.configure({transition: 'none', backgroundTransition: 'none'});  // measure at rest
  const height = Reveal.getConfig().height, found = [];
  const frame = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const box = document.querySelector('.reveal .slides').getBoundingClientRect();
  const slides = Reveal.getSlides();
  const past = slide => {  // px of the slide's content below its bottom edge (layout px)
    const zoom = +(slide.style.zoom || 1);
    return Math.max(0, Math.round(slide.scrollHeight * zoom - height),
    ...[...slide.querySelectorAll('details[open]')].map(d =>
      Math.round((d.getBoundingClientRect().bottom - box.bottom) * height / box.height)));
  };
  for (const slide of slides) {
    const {h, v} = Reveal.getIndices(slide);
    Reveal.slide(h, v);
    await frame();
    const zoom = +(slide.style.zoom || 1);
    const tall = slide.scrollHeight * zoom;
    const copy = slide.cloneNode(true);
    copy.querySelectorAll('aside.notes, pre, details, script, style, table, .explorable')
      .forEach(n => n.remove());
    copy.querySelectorAll('mjx-container').forEach(n => n.replaceWith(' x '));
    const words = copy.textContent.split(/\s+/).filter(w => /\w/.test(w)).length;
    const figures = [...slide.querySelectorAll('.jp-RenderedImage img')].map(img => {
      const r = img.getBoundingClientRect();
      return {width: +(r.width / box.width).toFixed(2),
              height: +(r.height / box.height).toFixed(2)};
    });
    const bottom_before = past(slide);
    slide.querySelectorAll('details').forEach(d => d.open = true);
    await frame();
    const bottom_open = past(slide);
    const cut = [...slide.querySelectorAll('pre')].filter(p => p.scrollWidth > p.clientWidth + 1)
      .map(p => p.textContent.split('\n').reduce((a, b) => a.length > b.length ? a : b))
      .map(line => line.slice(0, 80));
    const math_cut = [...slide.querySelectorAll('mjx-container[display="true"] mjx-math')]
      .filter(m => m.getBoundingClientRect().right > box.right + 1).length;
    slide.querySelectorAll('details').forEach(d => d.open = false);
    const heading = (slide.querySelector('h1,h2,h3') || {}).textContent || '';
    const rest = slide.cloneNode(true);  // what the slide shows besides a heading
    rest.querySelectorAll('aside.notes, h3, h4, script, style').forEach(n => n.remove());
    const bare = !slide.querySelector('h1, h2') && !rest.textContent.trim() &&
      !rest.querySelector('img, svg, table, pre, details, mjx-container, .explorable');
    found.push({slide: h + '/' + v, height: Math.round(tall), zoom, cut, math_cut, words,
                figures,
                past_bottom: bottom_before, past_bottom_unfolded: bottom_open,
                solution: !!slide.querySelector('.celltag_solution'),
                heading: heading.replace(/¶$/, '').trim(), bare,
                notes: [...slide.querySelectorAll('aside.notes')].map(n => n.textContent)
                  .join(' ').trim().length});
  }
  return {height, slides: found};
})()"""

# What a slide of a deck made for a room may not do (the limits of issue 28).
MAX_WORDS, MIN_FIGURE, MIN_ZOOM = 40, 0.8, 0.9
SOLUTION_HEADING = r"^Solution \d+: \S"


def deck_problems(deck: dict) -> list[str]:
    """Each slide's breaches of the limits, one line each; empty if none."""
    import re

    found = []
    for s in deck["slides"]:
        where = f"slide {s['slide']} ({s['heading'][:40]})"
        if s["words"] > MAX_WORDS:
            found.append(f"{where}: {s['words']} visible words (at most {MAX_WORDS})")
        for fig in s["figures"]:
            if fig["width"] < MIN_FIGURE and fig["height"] < MIN_FIGURE:
                found.append(f"{where}: a figure at {fig['width']:.0%} of the slide's width "
                             f"and {fig['height']:.0%} of its height (at least {MIN_FIGURE:.0%})")
        if s["zoom"] < MIN_ZOOM:
            found.append(f"{where}: scaled to {s['zoom']} (at least {MIN_ZOOM})")
        if s["height"] > deck["height"] or s["past_bottom"]:
            found.append(f"{where}: {max(s['height'] - deck['height'], s['past_bottom'])} px "
                         "past the bottom edge")
        if s["past_bottom_unfolded"]:
            found.append(f"{where}: {s['past_bottom_unfolded']} px past the bottom edge with "
                         "its code unfolded")
        if s["cut"]:
            found.append(f"{where}: lines cut at the right edge: {s['cut']}")
        if s["math_cut"]:
            found.append(f"{where}: {s['math_cut']} display equation(s) past the right edge")
        if s["bare"]:
            found.append(f"{where}: shows its heading and nothing else")
        if s["solution"] and not re.match(SOLUTION_HEADING, s["heading"]):
            found.append(f"{where}: a solution without a 'Solution N: <title>' heading")
    if not any(s["notes"] for s in deck["slides"]):
        found.append("no speaker notes in the deck")
    return found


def open_page(browser: Chromium, path: Path, dark: bool = False) -> str:
    """A tab showing a local file (optionally in dark mode), after MathJax; its session id."""
    session = browser.open(Path(path).resolve().as_uri())
    if dark:
        browser.call("Emulation.setEmulatedMedia", {"features": [
            {"name": "prefers-color-scheme", "value": "dark"}]}, session=session)
    browser.evaluate("window.MathJax && MathJax.startup ? MathJax.startup.promise.then(() => 1)"
                     " : 1", session)
    return session


def close_page(browser: Chromium, session: str) -> None:
    browser.call("Target.closeTarget", {"targetId": browser.targets.pop(session)})


def move_sliders(browser: Chromium, session: str) -> list[dict]:
    return browser.evaluate(MOVE_SLIDERS, session)


def deck_audit(browser: Chromium, session: str) -> dict:
    return browser.evaluate(DECK_AUDIT, session)


def axe_audit(browser: Chromium, session: str, rules: list[str] | None = None
              ) -> dict[str, list[str]]:
    """axe-core's violations on the open page, by impact: {impact: ['rule-id (n nodes)']};
    all of axe's rules, or only `rules` (e.g. color-contrast for a second colour scheme)."""
    if not AXE.is_file():
        sys.exit(f"error: {AXE} is missing: run `npm ci` (make unit does)")
    browser.evaluate(AXE.read_text(encoding="utf-8") + "; 1", session)
    only = f", runOnly: {json.dumps(rules)}" if rules else ""
    result = browser.evaluate(f"axe.run(document, {{resultTypes: ['violations']{only}}})"
                              ".then(r => r.violations.map(v => [v.impact, v.id, v.nodes.length,"
                              " v.nodes.slice(0, 2).map(n => n.target.join(' '))]))", session)
    found: dict[str, list[str]] = {}
    for impact, rule, nodes, where in result:
        found.setdefault(impact or "unknown", []).append(f"{rule} ({nodes} nodes: {where})")
    return found


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", type=Path, nargs="+", help="HTML files to open")
    parser.add_argument("--screenshot", type=Path,
                        help="PNG of the first screen of the (last) page")
    parser.add_argument("--scroll-to", metavar="CSS", help="scroll to this element first")
    args = parser.parse_args(argv)
    bad = 0
    with Chromium() as browser:
        for page in args.pages:
            if not Path(str(page).partition("#")[0]).is_file():
                sys.exit(f"error: no such file: {page}")
            report = inspect(browser, page, args.screenshot, scroll_to=args.scroll_to)
            found = problems(report, expect_math=False)
            print(f"{page}: {report['math']} formulas, {report['images']} images, "
                  f"{len(report['requests'])} requests, {len(report['links'])} links: "
                  + ("; ".join(found) if found else "ok"))
            bad += bool(found)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
