#!/usr/bin/env python3
"""A small fake Kubernetes API server for kube5xx's tests (Python standard library only).

It follows the API conventions the client relies on (Kubernetes "API concepts"):
  - HTTPS with a CA of the test's own; bearer-token or client-certificate auth, 401 without;
  - discovery: /api, /apis, /api/v1 and /apis/GROUP/VERSION (APIResourceList);
  - lists: kind "<Kind>List", items without apiVersion/kind, metadata.resourceVersion,
    pagination with limit/continue (a continue token pins the list's snapshot; once that
    snapshot is compacted the server answers 410 Expired), resourceVersion with
    resourceVersionMatch=Exact reading an older snapshot (410 once compacted);
  - watches (?watch=true): chunked JSON lines {"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR,
    "object": ...}, from the given resourceVersion; a resourceVersion older than the compaction
    point gets an ERROR event carrying a 410 Status; bookmarks when allowWatchBookmarks=true;
    the stream ends after timeoutSeconds;
  - injected faults: a status (429 with Retry-After, 500, ...) or a dropped connection for the
    next N matching requests, or a watch cut after K events.

Control endpoints (no auth, for the tests only), all JSON:
  POST /fake/objects   an object or {"items": [...]}: create or replace (ADDED/MODIFIED events)
  POST /fake/delete    {"apiVersion", "kind", "namespace", "name"}: delete (DELETED event)
  POST /fake/compact   {} or {"rv": N}: forget history up to N (default: now)
  POST /fake/faults    {"verb": list|watch|discovery|any, "resource": R?, "count": N,
                        "status": S, "retry_after": s} or {"drop": true} or
                        {"drop_after_events": K} (watch only)
  POST /fake/close-watches  end every open watch cleanly (a server-side timeout)
  POST /fake/tokens    {"tokens": [...]}: the bearer tokens accepted from now on
  Faults may carry "continue_only": true (only list requests with a continue token) and
  "compact": true (compact the history just before serving it: the token expires).
  GET  /fake/stats     {"requests": [{"verb", "resource", "status", "user", "path", "port"}...],
                        "watches": n}   (port: the client's, one per connection)

Usage: fake_apiserver.py --cert C --key K --client-ca CA [--token T]... [--load FILE]...
                         [--port-file F] [--bookmark-interval S] [--disable GROUP/VERSION]...
"""
import argparse
import base64
import json
import os
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# group, version, resource, kind, namespaced
RESOURCES = [
    ("", "v1", "services", "Service", True),
    ("", "v1", "pods", "Pod", True),
    ("", "v1", "namespaces", "Namespace", False),
    ("apps", "v1", "deployments", "Deployment", True),
    ("apps", "v1", "statefulsets", "StatefulSet", True),
    ("apps", "v1", "daemonsets", "DaemonSet", True),
    ("networking.k8s.io", "v1", "ingresses", "Ingress", True),
    ("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True),
    ("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True),
    ("autoscaling", "v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True),
    ("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True),
    ("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False),
    # A cluster with the Gateway API at v1beta1 only: clients must fall back to it.
    ("gateway.networking.k8s.io", "v1beta1", "httproutes", "HTTPRoute", True),
]


def gv_of(group, version):
    return f"{group}/{version}" if group else version


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class Store:
    """Objects with their history, so that a continue token can read its snapshot."""

    def __init__(self):
        self.lock = threading.Condition()
        self.rv = 1000
        self.versions = {}  # (resource, ns, name) -> [(rv, obj or None)]
        self.events = []    # (rv, type, resource, ns, obj)
        self.compacted = 0  # history below this rv is gone
        self.closing = 0    # bumped to end every open watch

    def resource_for(self, obj):
        api, kind = obj.get("apiVersion", ""), obj.get("kind", "")
        for g, v, r, k, nsd in RESOURCES:
            if k == kind and gv_of(g, v) == api:
                return r, nsd
        raise ValueError(f"unknown apiVersion/kind {api}/{kind}")

    def put(self, obj):
        with self.lock:
            res, namespaced = self.resource_for(obj)
            meta = obj.setdefault("metadata", {})
            ns = meta.setdefault("namespace", "default") if namespaced else ""
            key = (res, ns, meta["name"])
            hist = self.versions.setdefault(key, [])
            existed = bool(hist) and hist[-1][1] is not None
            self.rv += 1
            meta["resourceVersion"] = str(self.rv)
            meta.setdefault("uid", f"uid-{res}-{ns}-{meta['name']}")
            meta.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
            meta.setdefault("generation", 1)
            meta["managedFields"] = [{"manager": "kubectl", "operation": "Apply"}]
            obj.setdefault("status", {"observedGeneration": 1})
            hist.append((self.rv, json.loads(json.dumps(obj))))
            self.events.append((self.rv, "MODIFIED" if existed else "ADDED", res, ns, obj))
            self.lock.notify_all()

    def delete(self, api, kind, ns, name):
        with self.lock:
            res, namespaced = self.resource_for({"apiVersion": api, "kind": kind})
            key = (res, ns if namespaced else "", name)
            hist = self.versions.get(key)
            if not hist or hist[-1][1] is None:
                return False
            self.rv += 1
            obj = json.loads(json.dumps(hist[-1][1]))
            obj["metadata"]["resourceVersion"] = str(self.rv)
            hist.append((self.rv, None))
            self.events.append((self.rv, "DELETED", res, key[1], obj))
            self.lock.notify_all()
            return True

    def snapshot(self, res, ns, at):
        """Objects of `res` (in `ns` when given) as they were at resourceVersion `at`."""
        out = []
        for (r, n, name), hist in self.versions.items():
            if r != res or (ns and n != ns):
                continue
            live = [o for rv, o in hist if rv <= at]
            if live and live[-1] is not None:
                out.append(((n, name), live[-1]))
        out.sort(key=lambda x: x[0])
        return out


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []

    def add(self, rule):
        with self.lock:
            rule.setdefault("count", 1)
            self.rules.append(rule)

    def take(self, verb, resource, has_continue=False):
        with self.lock:
            for r in self.rules:
                if r["count"] > 0 and r.get("verb", "any") in ("any", verb) and \
                        r.get("resource") in (None, resource) and \
                        (not r.get("continue_only") or has_continue):
                    r["count"] -= 1
                    return dict(r)
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-apiserver/1"

    def log_message(self, fmt, *args):  # quiet unless asked
        if self.server.verbose:
            sys.stderr.write("fake-apiserver: " + fmt % args + "\n")

    # ---------------------------------------------------------------- plumbing
    def send_json(self, code, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.record(code)

    def drop(self):
        """Closes the connection without a word, as a crashed proxy or a reset would."""
        self.record(0)
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()

    def record(self, code):
        if getattr(self, "_recorded", False):
            return
        self._recorded = True
        with self.server.stats_lock:
            self.server.requests.append({"verb": getattr(self, "verb", "control"),
                                         "resource": getattr(self, "resource", None),
                                         "status": code, "user": getattr(self, "user", None),
                                         "path": self.path, "port": self.client_address[1]})

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"{}")

    def authenticate(self):
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer ") and auth[7:] in self.server.tokens:
            return "token:" + auth[7:][:8]
        cert = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
        if cert:
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        return "cert:" + v
        return None

    # ---------------------------------------------------------------- routes
    def do_POST(self):
        self._recorded = False
        path = urllib.parse.urlparse(self.path).path
        store = self.server.store
        try:
            body = self.read_body()
            if path == "/fake/objects":
                for obj in body.get("items", [body]) if "items" in body else [body]:
                    store.put(obj)
                return self.send_json(200, {"rv": store.rv})
            if path == "/fake/delete":
                ok = store.delete(body["apiVersion"], body["kind"], body.get("namespace", "default"),
                                  body["name"])
                return self.send_json(200 if ok else 404, {"rv": store.rv})
            if path == "/fake/compact":
                with store.lock:
                    store.compacted = int(body.get("rv", store.rv))
                return self.send_json(200, {"compacted": store.compacted})
            if path == "/fake/tokens":
                self.server.tokens = set(body["tokens"])
                return self.send_json(200, {})
            if path == "/fake/faults":
                self.server.faults.add(body)
                return self.send_json(200, {})
            if path == "/fake/close-watches":
                with store.lock:
                    store.closing += 1
                    store.lock.notify_all()
                return self.send_json(200, {})
        except (ValueError, KeyError) as e:
            return self.send_json(400, status(400, "BadRequest", str(e)))
        self.send_json(404, status(404, "NotFound", "no such control path"))

    def do_GET(self):
        self._recorded = False
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        parts = [p for p in url.path.split("/") if p]
        if parts[:2] == ["fake", "stats"]:
            with self.server.stats_lock:
                body = {"requests": list(self.server.requests), "watches": self.server.watches}
            return self.send_json(200, body)
        self.verb, self.resource = "discovery", None
        self.user = self.authenticate()
        if not self.user:
            return self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
        route = self.route(parts)
        if route is None:
            fault = self.server.faults.take("discovery", None)
            if fault:
                return self.apply_fault(fault)
            return self.discovery(parts)
        group, version, res, kind, namespaced, ns = route
        watch = q.get("watch", [""])[0] in ("true", "1")
        self.verb, self.resource = ("watch" if watch else "list"), res
        fault = self.server.faults.take(self.verb, res, "continue" in q)
        if fault and fault.get("compact"):
            # etcd compacted between two pages: the continue token's snapshot is gone.
            # (Another object changed meanwhile, so the head moved past the snapshot.)
            with self.server.store.lock:
                self.server.store.rv += 1
                self.server.store.compacted = self.server.store.rv
            fault = None
        if fault and "drop_after_events" not in fault:
            return self.apply_fault(fault)
        if watch:
            return self.watch(group, version, res, kind, ns, q,
                              fault["drop_after_events"] if fault else None)
        return self.list(group, version, res, kind, ns, q)

    def apply_fault(self, fault):
        if fault.get("drop"):
            return self.drop()
        code = int(fault.get("status", 500))
        headers = {}
        if "retry_after" in fault:
            headers["Retry-After"] = str(fault["retry_after"])
        reason = {410: "Expired", 429: "TooManyRequests", 500: "InternalError",
                  503: "ServiceUnavailable"}
        self.send_json(code, status(code, reason.get(code, "InternalError"),
                                    f"injected fault {code}"), headers)

    def route(self, parts):
        """(group, version, resource, kind, namespaced, ns) for a resource path, else None."""
        if parts[:1] == ["api"] and len(parts) >= 3:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        ns = ""
        if len(rest) == 3 and rest[0] == "namespaces":
            ns, rest = rest[1], rest[2:]
        if len(rest) != 1 or gv_of(group, version) in self.server.disabled:
            return None
        for g, v, r, k, nsd in RESOURCES:
            if (g, v, r) == (group, version, rest[0]):
                return g, v, r, k, nsd, ns
        return None

    def discovery(self, parts):
        served = [x for x in RESOURCES if gv_of(x[0], x[1]) not in self.server.disabled]
        if parts == ["api"]:
            return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"]})
        if parts == ["apis"]:
            groups = {}
            for g, v, *_ in served:
                if g:
                    groups.setdefault(g, set()).add(v)
            return self.send_json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v}
                                         for v in sorted(vs)],
                 "preferredVersion": {"groupVersion": f"{g}/{sorted(vs)[0]}",
                                      "version": sorted(vs)[0]}}
                for g, vs in sorted(groups.items())]})
        if parts[:1] == ["api"] and len(parts) == 2:
            group, version = "", parts[1]
        elif parts[:1] == ["apis"] and len(parts) == 3:
            group, version = parts[1], parts[2]
        else:
            return self.send_json(404, status(404, "NotFound", "the server could not find the "
                                              "requested resource"))
        res = [{"name": r, "singularName": "", "namespaced": nsd, "kind": k,
                "verbs": ["get", "list", "watch"]}
               for g, v, r, k, nsd in served if (g, v) == (group, version)]
        if not res:
            return self.send_json(404, status(404, "NotFound", "the server could not find the "
                                              "requested resource"))
        self.send_json(200, {"kind": "APIResourceList", "apiVersion": "v1",
                             "groupVersion": gv_of(group, version), "resources": res})

    def list(self, group, version, res, kind, ns, q):
        store = self.server.store
        limit = int(q.get("limit", ["0"])[0] or 0)
        cont = q.get("continue", [""])[0]
        with store.lock:
            if cont:
                try:
                    tok = json.loads(base64.b64decode(cont))
                    at, start = int(tok["rv"]), tuple(tok["start"])
                except (ValueError, KeyError, TypeError):
                    return self.send_json(400, status(400, "BadRequest", "invalid continue token"))
                if at < store.compacted:
                    return self.send_json(410, status(
                        410, "Expired", "The provided continue parameter is too old to display a "
                        "consistent list result. You can start a new list without the continue "
                        "parameter."))
            elif q.get("resourceVersionMatch", [""])[0] == "Exact":
                # A list at an exact resourceVersion reads that snapshot, while it exists.
                at, start = int(q.get("resourceVersion", ["0"])[0] or 0), None
                if at < store.compacted:
                    return self.send_json(410, status(
                        410, "Expired", f"too old resource version: {at} ({store.compacted})"))
            else:
                # "", "0" and NotOlderThan: the latest state is a valid answer to each.
                at, start = store.rv, None
            items = store.snapshot(res, ns, at)
        if start is not None:
            items = [x for x in items if x[0] > start]
        meta = {"resourceVersion": str(at)}
        if limit and len(items) > limit:
            meta["continue"] = base64.b64encode(json.dumps(
                {"rv": at, "start": list(items[limit - 1][0])}).encode()).decode()
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        out = []
        for _, obj in items:
            o = json.loads(json.dumps(obj))
            o.pop("apiVersion", None)  # list items carry no type: the list does
            o.pop("kind", None)
            out.append(o)
        self.send_json(200, {"kind": kind + "List", "apiVersion": gv_of(group, version),
                             "metadata": meta, "items": out})

    def chunk(self, obj):
        data = json.dumps(obj).encode() + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, group, version, res, kind, ns, q, drop_after):
        store = self.server.store
        rv_arg = q.get("resourceVersion", [""])[0]
        bookmarks = q.get("allowWatchBookmarks", [""])[0] in ("true", "1")
        timeout = float(q.get("timeoutSeconds", ["1800"])[0])
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.record(200)
        with self.server.stats_lock:
            self.server.watches += 1
        sent = 0
        deadline = time.monotonic() + timeout
        next_bookmark = time.monotonic() + self.server.bookmark_interval
        try:
            with store.lock:
                closing = store.closing
                if rv_arg in ("", "0"):
                    # "Start at most recent": synthetic ADDED for every object, then changes.
                    since = store.rv
                    initial = [("ADDED", o) for _, o in store.snapshot(res, ns, since)]
                else:
                    since = int(rv_arg)
                    initial = []
                    if since < store.compacted:
                        self.chunk({"type": "ERROR", "object": status(
                            410, "Expired",
                            f"too old resource version: {since} ({store.compacted})")})
                        return self.end_chunks()
            for typ, obj in initial:
                self.chunk({"type": typ, "object": obj})
            while True:
                with store.lock:
                    evs = [e for e in store.events if e[0] > since and e[2] == res and
                           (not ns or e[3] == ns)]
                    if not evs and store.closing == closing:
                        now = time.monotonic()
                        store.lock.wait(max(0.0, min(deadline, next_bookmark) - now))
                        evs = [e for e in store.events if e[0] > since and e[2] == res and
                               (not ns or e[3] == ns)]
                    if store.closing != closing:
                        return self.end_chunks()
                    head = store.rv
                for rv, typ, _, _, obj in evs:
                    if drop_after is not None and sent >= drop_after:
                        return self.drop()
                    self.chunk({"type": typ, "object": obj})
                    sent += 1
                    since = rv
                now = time.monotonic()
                if now >= deadline:
                    return self.end_chunks()
                if bookmarks and now >= next_bookmark:
                    since = max(since, head)
                    self.chunk({"type": "BOOKMARK", "object": {
                        "kind": kind, "apiVersion": gv_of(group, version),
                        "metadata": {"resourceVersion": str(since)}}})
                    next_bookmark = now + self.server.bookmark_interval
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True

    def end_chunks(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--client-ca", required=True)
    ap.add_argument("--token", action="append", default=[])
    ap.add_argument("--load", action="append", default=[])
    ap.add_argument("--port-file")
    ap.add_argument("--bookmark-interval", type=float, default=1.0)
    ap.add_argument("--disable", action="append", default=[])
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    ctx.load_verify_locations(a.client_ca)
    ctx.verify_mode = ssl.CERT_OPTIONAL  # a client certificate is one way to authenticate
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.store, srv.faults = Store(), Faults()
    srv.tokens, srv.disabled = set(a.token), set(a.disable)
    srv.bookmark_interval, srv.verbose = a.bookmark_interval, a.verbose
    srv.requests, srv.watches, srv.stats_lock = [], 0, threading.Lock()
    for path in a.load:
        with open(path) as f:
            doc = json.load(f)
        for obj in doc.get("items", [doc]) if "items" in doc else [doc]:
            srv.store.put(obj)
    port = srv.server_address[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(port))
        os.replace(tmp, a.port_file)
    print(f"fake-apiserver listening on https://127.0.0.1:{port}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
