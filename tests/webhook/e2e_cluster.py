#!/usr/bin/env python3
"""kube5xx-webhook with the cluster cache, end to end: the real binary started with
--kubeconfig against the fake API server (tests/kube/fake_apiserver.py), reviews posted over
TLS. It denies the broken Service, warns on an absence, denies the Deployment update that
breaks a Service (naming it), changes its answer after a watch event, and keeps answering
right after a relist forced by 410 Gone and after a dropped watch connection.

Usage: e2e_cluster.py WEBHOOK    (exit 0 passed, 1 failed, 77 skipped)
"""
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "kube"))
from e2e_kube import Certs, Server  # noqa: E402  (the fake API server's helpers)

HOST = "kube5xx-webhook.kube5xx.svc"


def deployment(name, app, port, replicas=2):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "shop"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app}},
                     "template": {"metadata": {"labels": {"app": app}},
                                  "spec": {"containers": [{
                                      "name": "web", "image": "shop/web:1",
                                      "ports": [{"name": port, "containerPort": 8080}],
                                      "readinessProbe": {"httpGet": {"path": "/", "port": 8080}},
                                      "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
                                      "resources": {"requests": {"memory": "256Mi", "cpu": "100m"},
                                                    "limits": {"memory": "256Mi"}}}]}}}}


def service(name, app, target):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "shop"},
            "spec": {"selector": {"app": app},
                     "ports": [{"name": "http", "port": 80, "targetPort": target}]}}


def pdb(name, app):
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": "shop"},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": app}}}}


def review(obj, op="CREATE", old=None):
    group, _, version = obj["apiVersion"].rpartition("/")
    req = {"uid": "e2e-%d" % time.monotonic_ns(), "operation": op, "namespace": "shop",
           "kind": {"group": group, "version": version, "kind": obj["kind"]},
           "userInfo": {"username": "dev"}, "object": obj}
    if old is not None:
        req["oldObject"] = old
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req}


class Webhook:
    def __init__(self, binary, d, kubeconfig):
        self.dir = d
        certs = os.path.join(d, "wh")
        subprocess.run([binary, "certs", "--service", "kube5xx-webhook", "--namespace", "kube5xx",
                        "--out", certs], check=True, capture_output=True)
        self.ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.crt"))
        self.log = open(os.path.join(d, "webhook.log"), "w+")
        self.proc = subprocess.Popen(
            [binary, "serve", "--tls-cert", os.path.join(certs, "tls.crt"),
             "--tls-key", os.path.join(certs, "tls.key"), "--port", "0", "--health-port", "0",
             "--loopback", "--kubeconfig", kubeconfig, "--cache-sync-timeout", "20s",
             "--shutdown-delay", "0s"],
            stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(200):
            text = self.logtext()
            m = re.search(r'"msg":"listening".*?"port":(\d+).*?"healthPort":(\d+)', text)
            if m:
                self.port, self.hport = int(m.group(1)), int(m.group(2))
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError("the webhook did not start:\n" + self.logtext())

    def logtext(self):
        with open(self.log.name) as f:
            return f.read()

    def health(self, path):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.hport, path),
                                        timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def judge(self, body):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        conn = http.client.HTTPSConnection(HOST, self.port, context=self.ctx, timeout=10)
        conn.sock = self.ctx.wrap_socket(sock, server_hostname=HOST)
        conn.request("POST", "/validate?timeout=10s", json.dumps(body),
                     {"Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
        conn.close()
        if r.status != 200:
            raise AssertionError("HTTP %d: %s" % (r.status, data[:300]))
        return json.loads(data)["response"]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def eventually(what, fn, timeout=15.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError("not within %.0fs: %s (last: %r)" % (timeout, what, last))


def denied(resp, *texts):
    msg = resp.get("status", {}).get("message", "")
    return resp["allowed"] is False and all(t in msg for t in texts)


def warned(resp, *texts):
    return resp["allowed"] is True and any(all(t in w for t in texts)
                                           for w in resp.get("warnings", []))


def metric(wh, name):
    _, text = wh.health("/metrics")
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else None


class Env:
    def __init__(self, d):
        self.dir = d
        self.certs = Certs(d)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    for tool in ("openssl",):
        if not shutil.which(tool):
            print("SKIP: %s is not installed" % tool)
            return 77
    binary = os.path.abspath(sys.argv[1])
    d = tempfile.mkdtemp(prefix="wh-cluster-e2e-")
    env = Env(d)
    api = wh = None
    checks = []

    def check(name, cond):
        checks.append((name, bool(cond)))
        print(("ok   " if cond else "FAIL ") + name, flush=True)

    try:
        api = Server(env, "--bookmark-interval", "0.5")
        api.put(deployment("web", "web", "http"), service("web", "web", "http"), pdb("web", "web"))
        wh = Webhook(binary, d, api.kubeconfig())

        eventually("/readyz is 200 once the lists are in", lambda: wh.health("/readyz")[0] == 200)
        check("ready after the initial lists",
              metric(wh, 'kube5xx_cache_state{state="trusted"}') == 1)
        check("the Deployment is cached", metric(wh, 'kube5xx_cache_objects{kind="Deployment"}') == 1)

        r = wh.judge(review(service("api", "web", "grpc")))
        check("a Service whose targetPort no selected container declares is denied",
              denied(r, "service-target-port-mismatch", '8080/TCP "http"'))

        r = wh.judge(review(service("lonely", "nobody", "http")))
        check("a Service that selects nothing is allowed with a warning (an absence)",
              warned(r, "service-selects-nothing", "not blocking"))

        r = wh.judge(review(deployment("web", "web", "web"), "UPDATE", deployment("web", "web", "http")))
        check("an update that removes the port a Service targets is denied, naming the Service",
              denied(r, "service-target-port-mismatch", "this update breaks Service shop/web"))

        r = wh.judge(review(deployment("web", "web", "http", 3), "UPDATE",
                            deployment("web", "web", "http", 2)))
        check("an update that keeps its partners whole is allowed", r["allowed"] is True)

        # A watch event changes the answer.
        api.put(deployment("web", "web", "grpc"))
        eventually("the watch delivers the new port",
                   lambda: wh.judge(review(service("api", "web", "grpc")))["allowed"])
        check("the answer follows a watch event", True)

        # 410 Gone: the Deployment watch fails twice (500) while the object changes and the
        # history is compacted, so the rewatch from the old resourceVersion gets 410 and the
        # informer relists.
        before = metric(wh, 'kube5xx_cache_watch_restarts_total{kind="Deployment"}') or 0
        api.call("/fake/faults", {"verb": "watch", "resource": "deployments", "count": 2,
                                  "status": 500})
        api.call("/fake/close-watches")
        time.sleep(0.3)
        api.put(deployment("web", "web", "http"))
        api.call("/fake/compact")
        eventually("a relist after 410",
                   lambda: (metric(wh, 'kube5xx_cache_watch_restarts_total{kind="Deployment"}')
                            or 0) > before, timeout=30)
        check("relisted after 410 Gone", True)
        eventually("the relisted Deployment is judged",
                   lambda: denied(wh.judge(review(service("api", "web", "grpc"))),
                                  "service-target-port-mismatch"))
        check("after the relist the answer reflects the relisted objects", True)
        check("list/watch errors are counted",
              (metric(wh, 'kube5xx_cache_errors_total{kind="Deployment"}') or 0) >= 1)

        # A dropped watch connection: the stream is cut after one event; the second change
        # arrives through the reconnected watch.
        api.call("/fake/faults", {"verb": "watch", "resource": "deployments", "count": 1,
                                  "drop_after_events": 1})
        api.call("/fake/close-watches")
        time.sleep(0.5)
        api.put(deployment("web", "web", "metrics"))
        api.put(deployment("web", "web", "grpc"))
        eventually("the change after the dropped connection arrives",
                   lambda: wh.judge(review(service("api", "web", "grpc")))["allowed"], timeout=30)
        check("survives a dropped watch connection", True)
        check("still trusted", metric(wh, 'kube5xx_cache_state{state="trusted"}') == 1)
        check("cache memory is reported", (metric(wh, "kube5xx_cache_memory_bytes") or 0) > 0)
        check("the review log says the cache was used",
              '"cache":"trusted"' in wh.logtext() and '"partners":' in wh.logtext())
    except Exception:
        traceback.print_exc()
        checks.append(("no exception", False))
    finally:
        if wh:
            wh.stop()
        if api:
            api.stop()
        failed = [n for n, ok in checks if not ok]
        if failed and wh:
            print("--- webhook log (last 40 lines)")
            print("\n".join(wh.logtext().splitlines()[-40:]))
        shutil.rmtree(d, ignore_errors=True)
    print("%d passed, %d failed" % (len(checks) - len(failed), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
