#!/usr/bin/env python3
"""End-to-end tests of kube5xx's Kubernetes client against fake_apiserver.py.

Each test starts its own fake API server (HTTPS, a CA made here with openssl) and drives the
client through kube_probe (list, discover, watch with the informer) or `kube5xx audit`.
Exit status: 0 all passed, 1 a test failed, 77 a tool is missing.
"""
import argparse
import base64
import concurrent.futures
import json
import os
import queue
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = "s3cr3t-token-0123456789"


def run(*cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


class Certs:
    """A CA, a server certificate for 127.0.0.1 and a client certificate (CN=alice)."""

    def __init__(self, d):
        self.d = d
        p = lambda n: os.path.join(d, n)
        self.ca, self.ca_key = p("ca.crt"), p("ca.key")
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", self.ca_key, "-out", self.ca, "-days", "1", "-subj", "/CN=fake-ca")
        self.server, self.server_key = self.leaf("server", "/CN=127.0.0.1",
                                                 "subjectAltName=IP:127.0.0.1\n"
                                                 "extendedKeyUsage=serverAuth\n")
        self.client, self.client_key = self.leaf("client", "/CN=alice/O=system:masters",
                                                 "extendedKeyUsage=clientAuth\n")

    def leaf(self, name, subj, ext):
        p = lambda n: os.path.join(self.d, n)
        key, csr, crt, extf = p(name + ".key"), p(name + ".csr"), p(name + ".crt"), p(name + ".ext")
        with open(extf, "w") as f:
            f.write(ext)
        run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", csr, "-subj", subj)
        run("openssl", "x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
            "-CAcreateserial", "-out", crt, "-days", "1", "-extfile", extf)
        return crt, key


def b64file(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


class Server:
    def __init__(self, env, *extra):
        self.env = env
        self.dir = tempfile.mkdtemp(dir=env.dir)  # this server's kubeconfigs: tests run at once
        pf = os.path.join(self.dir, "port")
        c = env.certs
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "fake_apiserver.py"), "--cert", c.server,
             "--key", c.server_key, "--client-ca", c.ca, "--token", TOKEN, "--port-file", pf,
             *extra], stdout=subprocess.DEVNULL)
        for _ in range(200):
            if os.path.exists(pf):
                break
            time.sleep(0.05)
        with open(pf) as f:
            self.port = int(f.read())
        self.url = "https://127.0.0.1:%d" % self.port
        self.ctx = ssl.create_default_context(cafile=c.ca)

    def call(self, path, body=None):
        post = path != "/fake/stats"
        data = json.dumps(body if body is not None else {}).encode() if post else None
        req = urllib.request.Request(self.url + path, data=data, method="POST" if post else "GET",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=10) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            return json.loads(e.read())

    def put(self, *objs):
        return self.call("/fake/objects", {"items": list(objs)})

    def requests(self, verb=None, resource=None):
        reqs = self.call("/fake/stats")["requests"]
        return [r for r in reqs if (verb is None or r["verb"] == verb) and
                (resource is None or r["resource"] == resource)]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(5)

    def kubeconfig(self, name="kubeconfig", user=None, extra_contexts=""):
        c = self.env.certs
        user = {"token": TOKEN} if user is None else user
        ulines = "".join("    %s: %s\n" % (k, v) for k, v in user.items())
        text = f"""apiVersion: v1
kind: Config
current-context: fake
clusters:
- name: fake
  cluster:
    server: {self.url}
    certificate-authority-data: {b64file(c.ca)}
contexts:
- name: fake
  context:
    cluster: fake
    user: tester
    namespace: shop
{extra_contexts}users:
- name: tester
  user:
{ulines}"""
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path


class Probe:
    """kube_probe as a child; its output lines arrive in a queue."""

    def __init__(self, env, *args, extra_env=None):
        self.lines = queue.Queue()
        self.all = []
        self.cursor = 0
        e = dict(os.environ)
        e.update(extra_env or {})
        self.proc = subprocess.Popen([env.probe, *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=e)
        threading.Thread(target=self.pump, daemon=True).start()

    def pump(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def mark(self):
        """Later expect() calls look only at lines printed after this point."""
        self.drain()
        self.cursor = len(self.all)

    def drain(self):
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                return
            if line is None:
                self.lines.put(None)
                return
            self.all.append(line)

    def expect(self, pattern, timeout=10.0):
        """Returns the first line since the last mark() matching pattern (threads print in
        any order, so lines seen while waiting for another pattern still count)."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        for line in self.all[self.cursor:]:
            if rx.search(line):
                return line
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no line matching %r within %.0fs; saw:\n  %s" %
                                     (pattern, timeout, "\n  ".join(self.all[-30:])))
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError("probe exited (%s) before %r; saw:\n  %s" % (
                    self.proc.wait(), pattern, "\n  ".join(self.all[-30:])))
            self.all.append(line)
            if rx.search(line):
                return line

    def finish(self, timeout=10.0):
        self.proc.stdin.close()
        t0 = time.monotonic()
        self.proc.wait(timeout)
        took = time.monotonic() - t0
        while True:
            line = self.lines.get(timeout=5)
            if line is None:
                break
            self.all.append(line)
        return took


def deployment(name, ns="shop", replicas=2, port=8080):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {
                         "containers": [{"name": "app", "image": "example/app:1",
                                         "ports": [{"name": "http", "containerPort": port}]}]}}}}


def service(name, ns="shop", target="http", app=None):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": {"app": app or name},
                     "ports": [{"port": 80, "targetPort": target}]}}


class Env:
    def __init__(self, probe, kube5xx):
        self.probe, self.kube5xx = probe, kube5xx
        self.dir = tempfile.mkdtemp(prefix="k5-kube-e2e-")
        self.certs = Certs(self.dir)

    def list(self, kubeconfig, *args, check=True, extra_env=None):
        e = dict(os.environ)
        e.update(extra_env or {})
        cmd = [self.probe, "list"] + (["--kubeconfig", kubeconfig] if kubeconfig else []) + \
            list(args)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=e)
        if check and r.returncode != 0:
            raise AssertionError("list failed: %s" % r.stderr)
        return r


# ------------------------------------------------------------------------- tests

def test_auth(env):
    s = Server(env)
    try:
        s.put(deployment("web"))
        c = env.certs
        # Bearer token (certificate-authority-data for the server).
        r = env.list(s.kubeconfig(), "--kind", "Deployment")
        assert "ITEM shop/web" in r.stdout, r.stdout
        # No credentials at all: 401, named.
        r = env.list(s.kubeconfig("nocreds", user={}), "--kind",
                     "Deployment", check=False)
        assert r.returncode == 2 and "401" in r.stderr, (r.returncode, r.stderr, r.stdout)
        # A wrong token: 401.
        r = env.list(s.kubeconfig("badtok", user={"token": "nope"}), "--kind", "Deployment",
                     check=False)
        assert r.returncode == 2 and "401" in r.stderr and "Unauthorized" in r.stderr, r.stderr
        # Client certificate, as -data fields and as files.
        r = env.list(s.kubeconfig("certdata", user={
            "client-certificate-data": b64file(c.client),
            "client-key-data": b64file(c.client_key)}), "--kind", "Deployment")
        assert "ITEM shop/web" in r.stdout, r.stdout
        for f in (c.client, c.client_key):  # relative paths: beside the kubeconfig
            shutil.copy(f, s.dir)
        r = env.list(s.kubeconfig("certfiles", user={
            "client-certificate": os.path.basename(c.client),
            "client-key": os.path.basename(c.client_key)}), "--kind", "Deployment")
        assert "ITEM shop/web" in r.stdout, r.stdout
        users = {x["user"] for x in s.requests("list", "deployments") if x["status"] == 200}
        assert users == {"token:" + TOKEN[:8], "cert:alice"}, users
        # tokenFile, through $KUBECONFIG rather than --kubeconfig.
        tf = os.path.join(env.dir, "token-file")
        with open(tf, "w") as f:
            f.write(TOKEN + "\n")
        kc = s.kubeconfig("tokfile", user={"tokenFile": tf})
        r = env.list(None, "--kind", "Deployment", extra_env={"KUBECONFIG": "/nonexistent:" + kc})
        assert "ITEM shop/web" in r.stdout, r.stdout
        # The server's certificate is checked: a kubeconfig with another CA fails.
        other = Certs(tempfile.mkdtemp(dir=env.dir))
        kc = s.kubeconfig("wrongca")
        with open(kc) as f:
            text = f.read().replace(b64file(c.ca), b64file(other.ca))
        with open(kc, "w") as f:
            f.write(text)
        r = env.list(kc, "--kind", "Deployment", check=False)
        assert r.returncode == 2 and ("certificate" in r.stderr or "SSL" in r.stderr), r.stderr
    finally:
        s.stop()


def test_pagination(env):
    s = Server(env)
    try:
        s.put(*[deployment("web-%02d" % i) for i in range(7)], deployment("api", ns="other"))
        kc = s.kubeconfig()
        r = env.list(kc, "--kind", "Deployment", "-n", "shop", "--limit", "2")
        items = [l for l in r.stdout.splitlines() if l.startswith("ITEM")]
        assert [l.split()[1] for l in items] == ["shop/web-%02d" % i for i in range(7)], items
        # Objects handed on are typed and trimmed.
        assert all(l.endswith("- - apps/v1/Deployment") for l in items), items
        rv = r.stdout.splitlines()[-1]
        assert re.fullmatch(r"RV \d+", rv), rv
        pages = s.requests("list", "deployments")
        assert len(pages) == 4, pages
        assert all("limit=2" in p["path"] and "/namespaces/shop/" in p["path"] for p in pages)
        assert sum("continue=" in p["path"] for p in pages) == 3, pages
        # All namespaces.
        r = env.list(kc, "--kind", "Deployment")
        assert "ITEM other/api" in r.stdout and r.stdout.count("ITEM") == 8, r.stdout
        # A continue token that expired mid-list: the list starts over once, and says so.
        s.call("/fake/faults", {"verb": "list", "continue_only": True, "compact": True})
        r = env.list(kc, "--kind", "Deployment", "-n", "shop", "--limit", "3")
        out = r.stdout.splitlines()
        assert "RESTART" in out, out
        after = out[out.index("RESTART") + 1:]
        assert [l.split()[1] for l in after if l.startswith("ITEM")] == \
            ["shop/web-%02d" % i for i in range(7)], out
        codes = [p["status"] for p in s.requests("list", "deployments")][-5:]
        assert 410 in codes, codes
    finally:
        s.stop()


def test_list_retries(env):
    s = Server(env)
    try:
        s.put(deployment("web"))
        kc = s.kubeconfig()
        # 429 with Retry-After: 1, twice: the list waits at least 2 s in all, then succeeds.
        s.call("/fake/faults", {"verb": "list", "status": 429, "retry_after": 1, "count": 2})
        t0 = time.monotonic()
        r = env.list(kc, "--kind", "Deployment")
        took = time.monotonic() - t0
        assert "ITEM shop/web" in r.stdout and took >= 2.0, (r.stdout, took)
        codes = [p["status"] for p in s.requests("list", "deployments")]
        assert codes == [429, 429, 200], codes
        # A 500 and a dropped connection are retried too.
        s.call("/fake/faults", {"verb": "list", "status": 500, "count": 1})
        s.call("/fake/faults", {"verb": "list", "drop": True, "count": 1})
        r = env.list(kc, "--kind", "Deployment")
        assert "ITEM shop/web" in r.stdout, r.stdout
        # A 403 is not: it is reported with the server's message.
        s.call("/fake/faults", {"verb": "list", "status": 403, "count": 1})
        r = env.list(kc, "--kind", "Deployment", check=False)
        assert r.returncode == 2 and "HTTP 403" in r.stderr, r.stderr
    finally:
        s.stop()


def test_discovery(env):
    s = Server(env, "--disable", "autoscaling/v2")
    try:
        kc = s.kubeconfig()
        # The kind table's versions are tried in order: autoscaling/v2 is gone, v1 is served.
        out = subprocess.run([env.probe, "discover", "--kubeconfig", kc, "--kind",
                              "HorizontalPodAutoscaler"], capture_output=True, text=True).stdout
        assert out.strip() == "SERVED HorizontalPodAutoscaler yes autoscaling/v1", out
        out = subprocess.run([env.probe, "discover", "--kubeconfig", kc, "--kind", "Ingress"],
                             capture_output=True, text=True).stdout
        assert out.strip() == "SERVED Ingress yes networking.k8s.io/v1", out
        out = subprocess.run([env.probe, "discover", "--kubeconfig", kc, "--kind", "HTTPRoute"],
                             capture_output=True, text=True).stdout
        assert out.strip() == "SERVED HTTPRoute yes gateway.networking.k8s.io/v1beta1", out
        out = subprocess.run([env.probe, "discover", "--kubeconfig", kc, "--kind", "Gateway"],
                             capture_output=True, text=True).stdout
        assert out.strip() == "SERVED Gateway no", out
    finally:
        s.stop()
    s = Server(env, "--disable", "autoscaling/v2", "--disable", "autoscaling/v1")
    try:
        kc = s.kubeconfig()
        out = subprocess.run([env.probe, "discover", "--kubeconfig", kc, "--kind",
                              "HorizontalPodAutoscaler"], capture_output=True, text=True).stdout
        assert out.strip() == "SERVED HorizontalPodAutoscaler no", out
        # The informer skips the kind with a log line naming every version tried, and serves
        # the others.
        p = Probe(env, "watch", "--kubeconfig", kc, "--kind", "HorizontalPodAutoscaler,Service")
        p.expect(r"^ERROR HorizontalPodAutoscaler the server does not serve "
                 r"HorizontalPodAutoscaler \(autoscaling/v2, autoscaling/v1 "
                 r"horizontalpodautoscalers\): skipped")
        p.expect(r"^END HorizontalPodAutoscaler")  # an empty replace: it has no objects
        p.expect(r"^END Service")
        p.finish()
        assert any(l.startswith("STATS HorizontalPodAutoscaler state=2") for l in p.all), p.all
    finally:
        s.stop()


def test_informer(env):
    s = Server(env, "--bookmark-interval", "0.3")
    try:
        s.put(deployment("web"), deployment("api"), service("web"))
        kc = s.kubeconfig()
        p = Probe(env, "watch", "--kubeconfig", kc, "--kind", "Deployment,Service",
                  "--watch-timeout", "30", "--backoff-ms", "100", "--limit", "1")
        p.expect(r"^BEGIN Deployment")
        p.expect(r"^END Deployment")
        p.expect(r"^END Service")
        adds = [l for l in p.all if l.startswith("ADDED Deployment")]
        assert len(adds) == 2, p.all
        lists = len(s.requests("list", "deployments"))
        assert lists == 2, "limit 1, 2 objects: 2 pages"
        # Changes arrive as events.
        s.put(deployment("cart"))
        p.expect(r"^ADDED Deployment shop/cart ")
        s.put(deployment("cart", replicas=3))
        p.expect(r"^MODIFIED Deployment shop/cart ")
        s.call("/fake/delete", {"apiVersion": "apps/v1", "kind": "Deployment",
                                "namespace": "shop", "name": "api"})
        p.expect(r"^DELETED Deployment shop/api ")

        # Bookmarks move the resourceVersion on while other kinds change; a server-side end
        # of the watch is followed by a new watch from there, without a relist.
        s.put(service("other"), service("third"))
        p.expect(r"^ADDED Service shop/third ")
        head = int(s.put()["rv"])
        time.sleep(1.0)  # a few bookmark intervals
        s.call("/fake/close-watches")
        s.put(deployment("late"))
        p.expect(r"^ADDED Deployment shop/late ")
        watches = [w for w in s.requests("watch", "deployments")]
        assert len(watches) >= 2, watches
        rv2 = int(re.search(r"resourceVersion=(\d+)", watches[1]["path"]).group(1))
        assert rv2 >= head, (rv2, head, watches[1]["path"])
        assert "allowWatchBookmarks=true" in watches[1]["path"], watches[1]
        assert len(s.requests("list", "deployments")) == lists, "no relist expected"

        # A dropped watch connection: the client watches again from its last rv.
        s.call("/fake/faults", {"verb": "watch", "resource": "deployments",
                                "drop_after_events": 1})
        s.call("/fake/close-watches")
        time.sleep(0.5)
        s.put(deployment("d1"), deployment("d2"))
        p.expect(r"^ADDED Deployment shop/d1 ")
        p.expect(r"^ERROR Deployment watch of deployments: ")
        p.expect(r"^ADDED Deployment shop/d2 ")

        # 429 on a watch: reported, retried no sooner than Retry-After.
        s.call("/fake/faults", {"verb": "watch", "resource": "deployments", "status": 429,
                                "retry_after": 1})
        s.call("/fake/close-watches")
        p.expect(r"^ERROR Deployment watch of deployments: HTTP 429")
        t0 = time.monotonic()
        s.put(deployment("d3"))
        p.expect(r"^ADDED Deployment shop/d3 ")
        assert time.monotonic() - t0 >= 0.8, "retried before Retry-After"

        took = p.finish()
        assert took < 3.0, "stop took %.1fs" % took
        stats = {l.split()[1]: l for l in p.all if l.startswith("STATS")}
        d = stats["Deployment"]
        assert "state=1" in d and re.search(r"restarts=[1-9]", d) and \
            re.search(r"watch_errors=[1-9]", d), d
        assert p.all[-1] == "STOPPED", p.all[-3:]
        # objects: web, cart, late, d1, d2, d3 (api deleted)
        assert "objects=6 " in d, d
    finally:
        s.stop()


def test_relist_410(env):
    """History compacted past the informer's resourceVersion: the rewatch gets an ERROR event
    carrying a 410 Status, and the informer lists again (a full replace)."""
    s = Server(env, "--bookmark-interval", "3600")  # no bookmark may move the rv on
    try:
        s.put(deployment("web"), deployment("api"))
        p = Probe(env, "watch", "--kubeconfig", s.kubeconfig(), "--kind", "Deployment",
                  "--backoff-ms", "100")
        p.expect(r"^END Deployment")
        while not s.requests("watch", "deployments"):
            time.sleep(0.05)
        p.mark()
        s.put(service("elsewhere"))  # the head moves past the Deployment watch's rv
        s.call("/fake/compact", {})
        s.call("/fake/close-watches")
        p.expect(r"^ERROR Deployment watch of deployments: too old resource version: \d+ "
                 r"\(\d+\) \(code 410\); listing again")
        p.expect(r"^BEGIN Deployment")
        p.expect(r"^END Deployment")
        relisted = [l.split()[2] for l in p.all[p.cursor:] if l.startswith("ADDED Deployment")]
        assert sorted(relisted) == ["shop/api", "shop/web"], p.all[p.cursor:]
        s.put(deployment("after"))
        p.expect(r"^ADDED Deployment shop/after ")
        # A 410 as the HTTP status of the watch request itself: a relist too.
        p.mark()
        s.call("/fake/faults", {"verb": "watch", "resource": "deployments", "status": 410})
        s.call("/fake/close-watches")
        p.expect(r"^ERROR Deployment .*listing again")
        p.expect(r"^END Deployment")
        p.finish()
        st = [l for l in p.all if l.startswith("STATS")][0]
        assert re.search(r"\brelists_410=2\b", st) and re.search(r"\blists=3\b", st) and \
            re.search(r"\bobjects=3\b", st), st
    finally:
        s.stop()


def test_watch_timeout(env):
    """The server ends every watch after timeoutSeconds: the informer watches again from its
    resourceVersion, without a relist and without calling it an error."""
    s = Server(env)
    try:
        s.put(deployment("web"))
        p = Probe(env, "watch", "--kubeconfig", s.kubeconfig(), "--kind", "Deployment",
                  "--watch-timeout", "1", "--backoff-ms", "100", "-n", "shop")
        p.expect(r"^END Deployment")
        deadline = time.monotonic() + 10
        while len(s.requests("watch", "deployments")) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        watches = s.requests("watch", "deployments")
        assert len(watches) >= 3, watches
        assert all("timeoutSeconds=1&" in w["path"] or w["path"].endswith("timeoutSeconds=1")
                   for w in watches), watches
        s.put(deployment("elsewhere", ns="other"), deployment("late"))
        p.expect(r"^ADDED Deployment shop/late ")
        p.finish()
        assert not any("other/elsewhere" in l for l in p.all), "-n shop watched another namespace"
        assert all("/namespaces/shop/" in w["path"] for w in s.requests("watch", "deployments"))
        st = [l for l in p.all if l.startswith("STATS")][0]
        assert "lists=1 " in st and "watch_errors=0" in st and \
            re.search(r"restarts=([2-9]|\d\d)", st), st
        assert not any(l.startswith("ERROR") for l in p.all), p.all
        assert len(s.requests("list", "deployments")) == 1
    finally:
        s.stop()


def test_in_cluster_token_rotation(env):
    s = Server(env, "--token", "rotated-token")
    try:
        s.put(deployment("web"))
        sa = os.path.join(env.dir, "sa")
        os.makedirs(sa, exist_ok=True)
        shutil.copy(env.certs.ca, os.path.join(sa, "ca.crt"))
        with open(os.path.join(sa, "token"), "w") as f:
            f.write(TOKEN)
        with open(os.path.join(sa, "namespace"), "w") as f:
            f.write("shop\n")
        ev = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(s.port)}
        p = Probe(env, "watch", "--in-cluster", sa, "--kind", "Deployment", "--backoff-ms", "100",
                  extra_env=ev)
        p.expect(r"^END Deployment")
        for _ in range(100):
            if s.requests("watch", "deployments"):
                break
            time.sleep(0.05)
        # kubelet rotates the projected token (a new file renamed over the old one); the old
        # token stops working; the next request must carry the new one.
        tmp = os.path.join(sa, "token.new")
        with open(tmp, "w") as f:
            f.write("rotated-token")
        os.replace(tmp, os.path.join(sa, "token"))
        s.call("/fake/tokens", {"tokens": ["rotated-token"]})
        s.call("/fake/close-watches")
        s.put(deployment("after"))
        p.expect(r"^ADDED Deployment shop/after ")
        p.finish()
        users = [r["user"] for r in s.requests("watch", "deployments")]
        assert users[0] == "token:" + TOKEN[:8] and users[-1] == "token:rotated-", users
        assert not any(r["status"] == 401 for r in s.requests()), "a request used a stale token"
    finally:
        s.stop()


def findings(text):
    """Finding lines of a text report without their location: "severity: message [rule] (...)"."""
    out = []
    for line in text.splitlines():
        m = re.match(r"^(.*?): (error|warning|info): (.*)$", line)
        if m:
            out.append((m.group(1), m.group(2) + ": " + m.group(3)))
    return out


def test_audit_matches_lint(env):
    objs = os.path.join(HERE, "fixtures", "cluster.json")
    s = Server(env, "--load", objs)
    try:
        kc = s.kubeconfig()
        lint = subprocess.run([env.kube5xx, "lint", "--no-config", objs], capture_output=True,
                              text=True, cwd=env.dir)
        audit = subprocess.run([env.kube5xx, "audit", "--no-config", "--kubeconfig", kc, "-A",
                                "--chunk-size", "1"], capture_output=True, text=True, cwd=env.dir)
        assert audit.returncode == lint.returncode == 1, (audit.returncode, audit.stderr)
        lf, af = findings(lint.stdout), findings(audit.stdout)
        assert len(lf) >= 8, lint.stdout
        assert sorted(x[1] for x in af) == sorted(x[1] for x in lf), (lint.stdout, audit.stdout)
        # Every finding names its object in place of file:line.
        for loc, text in af:
            m = re.search(r"\((\w+) ([\w-]+)/([\w-]+)\)$", text)
            assert m and loc == "cluster:%s/%s/%s" % (m.group(2), m.group(1), m.group(3)), \
                (loc, text)
        assert audit.stdout.splitlines()[-1].startswith("cluster, 5 objects: "), audit.stdout
        # Pages of 1: the audit followed continue tokens, over one kept-alive connection.
        reqs = [r for r in s.requests() if r["verb"] != "control"]
        assert any("continue=" in r["path"] for r in reqs), "no pagination"
        assert len(reqs) >= 14 and len({r["port"] for r in reqs}) == 1, \
            "%d requests over %d connections" % (len(reqs), len({r["port"] for r in reqs}))

        # -n NS and the context's namespace (shop) as the default scope.
        r = subprocess.run([env.kube5xx, "audit", "--no-config", "--kubeconfig", kc, "-n",
                            "other"], capture_output=True, text=True, cwd=env.dir)
        assert {x[0] for x in findings(r.stdout)} == {"cluster:other/Deployment/api"}, r.stdout
        r = subprocess.run([env.kube5xx, "audit", "--no-config", "--kubeconfig", kc,
                            "--fail-on", "never"], capture_output=True, text=True, cwd=env.dir)
        assert r.returncode == 0, r.stderr
        locs = {x[0] for x in findings(r.stdout)}
        assert locs and all(l.startswith("cluster:shop/") for l in locs), r.stdout

        # SARIF: logical locations, no file.
        r = subprocess.run([env.kube5xx, "audit", "--no-config", "--kubeconfig", kc, "-A",
                            "--format", "sarif"], capture_output=True, text=True, cwd=env.dir)
        sarif = json.loads(r.stdout)
        results = sarif["runs"][0]["results"]
        assert len(results) == len(lf), len(results)
        for res in results:
            loc = res["locations"][0]
            assert "physicalLocation" not in loc, loc
            assert loc["logicalLocations"][0]["kind"] == "resource", loc
        # JSON names the object as the file.
        r = subprocess.run([env.kube5xx, "audit", "--no-config", "--kubeconfig", kc, "-A",
                            "-f", "json", "-o", os.path.join(env.dir, "audit.json")],
                           capture_output=True, text=True, cwd=env.dir)
        assert r.returncode == 1 and r.stdout == "", (r.stdout, r.stderr)
        with open(os.path.join(env.dir, "audit.json")) as f:
            text = f.read()
        assert '"cluster:shop/Service/web"' in text, text[:500]
    finally:
        s.stop()


def test_audit_kinds_from_the_table(env):
    """Every kind the kind table flags arrives in audit: at the version the server serves,
    cluster-scoped ones whole, Pods no controller owns judged and owned ones left out."""
    objs = os.path.join(HERE, "fixtures", "cluster.json")
    more = os.path.join(HERE, "fixtures", "cluster-table.json")
    s = Server(env, "--load", objs, "--load", more)
    try:
        kc = s.kubeconfig()
        r = subprocess.run([env.kube5xx, "audit", "--no-config", "--kubeconfig", kc, "-A",
                            "--format", "json"], capture_output=True, text=True, cwd=env.dir)
        assert r.returncode == 1, r.stderr
        rep = json.loads(r.stdout)
        # cluster.json's 5, a NetworkPolicy, an IngressClass, an HTTPRoute served at v1beta1
        # only, and the bare Pod; not the Pod a ReplicaSet owns.
        assert rep["summary"]["objects"] == 9, rep["summary"]
        objects = {(f["object"]["kind"], f["object"]["name"]) for f in rep["findings"]}
        assert ("Pod", "bare") in objects, objects
        assert not any(n.startswith("owned") for _, n in objects), objects
        assert "does not serve HTTPRoute" not in r.stderr, r.stderr
        paths = [x["path"] for x in s.requests() if x["verb"] != "control"]
        assert any(p.startswith("/apis/gateway.networking.k8s.io/v1beta1/httproutes")
                   for p in paths), paths
        assert any(p.startswith("/apis/networking.k8s.io/v1/ingressclasses") for p in paths), paths
    finally:
        s.stop()


def test_audit_progress(env):
    """A progress line on stderr when stderr is a terminal and the cluster is large."""
    big = os.path.join(env.dir, "big.json")
    with open(big, "w") as f:
        json.dump({"apiVersion": "v1", "kind": "List",
                   "items": [service("svc-%04d" % i, app="nothing") for i in range(1100)]}, f)
    s = Server(env, "--load", big)
    try:
        kc = s.kubeconfig()
        cmd = "%s audit --no-config --kubeconfig %s -A -f json -o %s" % (
            env.kube5xx, kc, os.path.join(env.dir, "big-report.json"))
        tty = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True,
                             text=True, cwd=env.dir, timeout=60)
        assert "objects listed (Service)" in tty.stdout, tty.stdout[-500:]
        assert tty.stdout.rstrip().endswith("\x1b[K") or "\r\x1b[K" in tty.stdout, \
            "the progress line is cleared"
        plain = subprocess.run(cmd.split(), capture_output=True, text=True, cwd=env.dir)
        assert "objects listed" not in plain.stderr, plain.stderr
        with open(os.path.join(env.dir, "big-report.json")) as f:
            rep = json.load(f)
        assert rep, "a report was written"
    finally:
        s.stop()


def test_audit_errors(env):
    objs = os.path.join(HERE, "fixtures", "cluster.json")
    s = Server(env, "--load", objs, "--disable", "autoscaling/v2", "--disable", "autoscaling/v1")
    try:
        kc = s.kubeconfig()
        # A kind the server does not serve is skipped with a notice naming the versions tried.
        r = subprocess.run([env.kube5xx, "audit", "--no-config", "--kubeconfig", kc, "-A"],
                           capture_output=True, text=True, cwd=env.dir)
        assert r.returncode == 1, r.stderr
        assert "does not serve HorizontalPodAutoscaler (autoscaling/v2, autoscaling/v1 " \
            "horizontalpodautoscalers): skipped" in r.stderr, r.stderr
        assert "does not serve Gateway (gateway.networking.k8s.io/v1, " \
            "gateway.networking.k8s.io/v1beta1 gateways): skipped" in r.stderr, r.stderr
        # Unauthorized: exit 2 with the server's word.
        r = subprocess.run([env.kube5xx, "audit", "--no-config", "--kubeconfig",
                            s.kubeconfig("bad", user={"token": "wrong"})],
                           capture_output=True, text=True, cwd=env.dir)
        assert r.returncode == 2 and "401" in r.stderr, (r.returncode, r.stderr)
        # An exec plugin: exit 2, the plugin named.
        kce = s.kubeconfig("exec", user={"exec": "{command: gke-gcloud-auth-plugin, "
                                                 "apiVersion: client.authentication.k8s.io/v1}"})
        r = subprocess.run([env.kube5xx, "audit", "--kubeconfig", kce], capture_output=True,
                           text=True, cwd=env.dir)
        assert r.returncode == 2 and "gke-gcloud-auth-plugin" in r.stderr, r.stderr
        # Usage errors.
        r = subprocess.run([env.kube5xx, "audit", "-n", "a", "-A"], capture_output=True,
                           text=True, cwd=env.dir)
        assert r.returncode == 2 and "exclude" in r.stderr, r.stderr
        # A 429 storm is waited out.
        s.call("/fake/faults", {"verb": "list", "status": 429, "retry_after": 1, "count": 1})
        r = subprocess.run([env.kube5xx, "audit", "--no-config", "--kubeconfig", kc, "-A"],
                           capture_output=True, text=True, cwd=env.dir)
        assert r.returncode == 1, r.stderr
    finally:
        s.stop()


TESTS = [test_auth, test_pagination, test_list_retries, test_discovery, test_informer,
         test_relist_410, test_watch_timeout, test_in_cluster_token_rotation, test_audit_matches_lint,
         test_audit_kinds_from_the_table, test_audit_progress, test_audit_errors]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--probe", required=True)
    ap.add_argument("--kube5xx", required=True)
    ap.add_argument("-k", help="run only tests whose name contains this")
    a = ap.parse_args()
    if not shutil.which("openssl"):
        print("openssl not found: skipped")
        return 77
    env = Env(os.path.abspath(a.probe), os.path.abspath(a.kube5xx))

    def one(t):
        t0 = time.monotonic()
        try:
            t(env)
            return True, "ok   %s (%.1fs)" % (t.__name__, time.monotonic() - t0)
        except Exception:
            return False, "FAIL %s\n%s" % (t.__name__, traceback.format_exc())

    # Each test has its own server and files, and most of their time is waiting (Retry-After,
    # backoff, watch timeouts): run them side by side.
    chosen = [t for t in TESTS if not a.k or a.k in t.__name__]
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(one, chosen))
    finally:
        shutil.rmtree(env.dir, ignore_errors=True)
    passed = sum(ok for ok, _ in results)
    failed = len(results) - passed
    for _, line in results:
        print(line)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
