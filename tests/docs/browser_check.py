"""Open the built site in headless Chromium and fail on anything a reader would see broken.

    python tests/docs/browser_check.py SITE_DIR OUT_DIR      (``make docs-check``)

Serves SITE_DIR on 127.0.0.1 (as ``mkdocs serve`` would), opens the home page,
a tutorial and every API page, and fails when a page logs a console error or an
uncaught exception, a request fails, a request leaves 127.0.0.1 (CDN, web
fonts), or a maths element is still TeX text instead of KaTeX's output.
Screenshots go to OUT_DIR. Talks to Chromium over ``--remote-debugging-pipe``
(the DevTools protocol on file descriptors 3 and 4), so it needs nothing but
the ``chromium`` package.
"""
from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

# the home page, a tutorial with maths, and every API page (where the docstring maths is)
PAGES = ("index.html", "tutorials/custom-layer/index.html",
         *(f"api/{name}/index.html" for name in ("graph", "ops", "nn", "models", "datasets", "train")))
# what a page must show: every .arithmatex rendered by KaTeX, no reST left as text
PROBE = """(() => {
  const maths = [...document.querySelectorAll('.arithmatex')];
  const body = document.body.innerText;
  return {maths: maths.length, unrendered: maths.filter(m => !m.querySelector('.katex')).map(m => m.textContent),
          rest: ['.. math::', ':math:`'].filter(s => body.includes(s)), title: document.title};
})()"""


class Chromium:
    """A headless Chromium driven over the DevTools pipe: ``call`` sends, ``events`` collects."""

    def __init__(self, exe: str, profile: str):
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def fds() -> None:  # the child reads commands on fd 3 and writes replies on fd 4
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        args = [exe, "--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--window-size=1280,900", f"--user-data-dir={profile}", "about:blank"]
        # 3 and 4 listed too: subprocess closes every fd not in pass_fds after preexec_fn ran
        # its own session: close() ends the renderer and helper processes too, not only the browser
        self.proc = subprocess.Popen(args, pass_fds=(3, 4, to_child_r, from_child_w), preexec_fn=fds,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf, self._id, self.events = b"", 0, []

    def _read(self) -> dict:
        while b"\0" not in self._buf:
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method: str, session: str | None = None, **params) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params} | ({"sessionId": session} if session else {})
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30.0) -> None:
        end = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            if time.monotonic() > end:
                raise TimeoutError(f"no {method} within {timeout} s")
            self.events.append(self._read())

    def close(self) -> None:
        # the whole process group: a helper left alive kept writing into the profile folder while it was
        # being removed ("Directory not empty: 'Default'")
        import signal

        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


def problems(events: list[dict], origin: str) -> list[str]:
    """Console errors, exceptions, failed requests and requests outside ``origin``."""
    found = []
    for e in events:
        method, p = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
            found.append("console error: " + " ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
        elif method == "Runtime.exceptionThrown":
            found.append("uncaught exception: " + p["exceptionDetails"].get("exception", {}).get("description", ""))
        elif method == "Log.entryAdded" and p["entry"]["level"] == "error":
            found.append(f"log error: {p['entry']['text']} {p['entry'].get('url', '')}")
        elif method == "Network.loadingFailed" and not p.get("canceled"):
            found.append(f"failed request: {p['errorText']} (request {p['requestId']})")
        elif method == "Network.requestWillBeSent":
            url = p["request"]["url"]
            if not url.startswith((origin, "data:", "blob:", "about:")):
                found.append(f"outside request: {url}")
    return found


def check_page(browser: Chromium, origin: str, page: str, out: Path) -> list[str]:
    target = browser.call("Target.createTarget", url="about:blank")["targetId"]
    session = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    for domain in ("Runtime", "Log", "Network", "Page"):
        browser.call(f"{domain}.enable", session)
    browser.events.clear()
    browser.call("Page.navigate", session, url=f"{origin}/{page}")
    browser.wait_for("Page.loadEventFired")
    time.sleep(1.5)  # the theme and KaTeX render after the load event
    probe = browser.call("Runtime.evaluate", session, expression=PROBE, returnByValue=True)["result"]["value"]
    # the screenshot shows the first display formula when the page has one
    browser.call("Runtime.evaluate", session,
                 expression="document.querySelector('.katex-display')?.scrollIntoView({block: 'center'})")
    time.sleep(0.3)
    shot = browser.call("Page.captureScreenshot", session, format="png")["data"]
    name = page.replace("/index.html", "").replace("/", "-").replace(".html", "") or "index"
    (out / f"{name}.png").write_bytes(base64.b64decode(shot))
    found = problems(browser.events, origin)
    found += [f"maths left as text: {t[:80]!r}" for t in probe["unrendered"]]
    found += [f"raw reST on the page: {s!r}" for s in probe["rest"]]
    print(f"{page}: {probe['title']!r}, {probe['maths']} maths elements, screenshot {out / (name + '.png')}")
    browser.call("Target.closeTarget", targetId=target)
    return [f"{page}: {p}" for p in found]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # one line per page is printed instead
        pass


def main(site: str, out: str) -> int:
    exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if exe is None:
        raise SystemExit("docs-check needs Chromium: apt-get install chromium (Debian) and rerun make docs-check")
    site_dir, out_dir = Path(site).resolve(), Path(out)
    if not (site_dir / "index.html").is_file():
        raise SystemExit(f"{site_dir} holds no built site: run make docs first")
    out_dir.mkdir(parents=True, exist_ok=True)
    handler = functools.partial(QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:  # (a profile is scratch)
        browser = Chromium(exe, profile)
        try:
            found = [p for page in PAGES for p in check_page(browser, origin, page, out_dir)]
        finally:
            browser.close()
            server.shutdown()
    for p in found:
        print("FAIL", p)
    print("docs-check:", "failed" if found else f"passed ({len(PAGES)} pages)")
    return 1 if found else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.split("\n\n")[1].strip())
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
