#!/usr/bin/env python3
"""Abuse test for kube5xx-webhook (issue #9): a hostile pod's flood on loopback while a
legitimate client keeps sending reviews.

All at once, scaled to a 2-core CI machine:
  - IDLE_TCP plain TCP connections that send nothing;
  - STALLED handshakes: half a TLS ClientHello, then nothing;
  - TRICKLE_PRE connections trickling a ClientHello one byte a second;
  - TRICKLE_POST connections that finish the handshake and then trickle request headers;
  - BODIES unfinished 3 MiB request bodies (Content-Length 3 MiB, ~2.9 MiB sent);
  - HEALTH_IDLE idle connections on the health port;
and in parallel a client opening a fresh TLS connection per review, and a health prober.

Asserts: every review answered correctly (uid, allowed) within 1 s, p99 < 100 ms; /livez and
/readyz 200 within 100 ms throughout; trickling connections cut by their deadlines; stalled
handshakes cost (near) no CPU; peak RSS under RSS_LIMIT_MIB, and RSS back within 20 MiB of
its pre-flood value afterwards. Bounded: every loop has a count and a time limit; loopback
only. Exit 0 pass, 1 fail, 77 skip.

Env: WEBHOOK (binary), WH_FIXTURES (fixtures dir). Optional: ABUSE_SCALE (float, default 1).
"""
import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HOST = "kube5xx-webhook.kube5xx.svc"
SCALE = float(os.environ.get("ABUSE_SCALE", "1"))
IDLE_TCP = int(2000 * SCALE)
STALLED = int(100 * SCALE)
TRICKLE_PRE = int(100 * SCALE)
TRICKLE_POST = int(100 * SCALE)
BODIES = int(40 * SCALE)
HEALTH_IDLE = int(200 * SCALE)  # past the health port's 128 slots: eviction there too
TRICKLE_SECONDS = 11.5  # longer than the 10 s request deadline, so it is exercised
RSS_LIMIT_MIB = 200  # well under the Deployment's 384Mi limit (manifests/base/deployment.yaml)
BODY_BYTES = 3 * 1024 * 1024

fails = []
# Latency says nothing about the server when the machine is overloaded by others (a shared
# developer box): above this load per CPU, latency bounds are reported, not asserted.
LOAD_PER_CPU_MAX = float(os.environ.get("ABUSE_MAX_LOAD_PER_CPU", "1.5"))


def check_latency(what, cond, quiet):
    """A check of time or memory, asserted only where the figure means something."""
    if quiet:
        check(what, cond)
    else:
        print(("ok: " if cond else "NOT ASSERTED (overloaded machine or sanitizer build): ")
              + what, flush=True)


def check(what, cond):
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        fails.append(what)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def pctl(xs, p):
    if not xs:
        return 0.0
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


class Server:
    def __init__(self, binary, work):
        self.binary = binary
        certs = os.path.join(work, "certs")
        subprocess.run([binary, "certs", "--service", "kube5xx-webhook", "--namespace",
                        "kube5xx", "--out", certs], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        self.ca = os.path.join(certs, "ca.crt")
        self.log = open(os.path.join(work, "server.log"), "w+")
        self.proc = subprocess.Popen(
            [binary, "serve", "--tls-cert", os.path.join(certs, "tls.crt"), "--tls-key",
             os.path.join(certs, "tls.key"), "--port", "0", "--health-port", "0", "--loopback",
             "--threads", "2", "--shutdown-delay", "0s", "--log-level", "warn"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.port = self.hport = None
        # --log-level warn hides the "listening" line: find the ports from /proc instead.
        deadline = time.time() + 10
        while time.time() < deadline and self.proc.poll() is None:
            ports = self.listening_ports()
            if len(ports) >= 2:
                break
            time.sleep(0.05)
        ports = self.listening_ports()
        if len(ports) < 2:
            raise RuntimeError("the server did not start")
        # Tell the two apart: the health port answers plain HTTP.
        for p in ports:
            try:
                c = http.client.HTTPConnection("127.0.0.1", p, timeout=2)
                c.request("GET", "/livez")
                c.getresponse().read()
                self.hport = p
            except Exception:
                self.port = p
        if not self.port or not self.hport:
            raise RuntimeError(f"cannot tell the ports apart: {ports}")
        self.ctx = ssl.create_default_context(cafile=self.ca)

    def listening_ports(self):
        inodes = set()
        fd_dir = f"/proc/{self.proc.pid}/fd"
        try:
            for fd in os.listdir(fd_dir):
                try:
                    t = os.readlink(os.path.join(fd_dir, fd))
                except OSError:
                    continue
                if t.startswith("socket:["):
                    inodes.add(t[8:-1])
        except OSError:
            return []
        ports = []
        for tbl in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                with open(tbl) as f:
                    next(f)
                    for line in f:
                        cols = line.split()
                        if cols[3] == "0A" and cols[9] in inodes:
                            ports.append(int(cols[1].rsplit(":", 1)[1], 16))
            except OSError:
                pass
        return sorted(set(ports))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def client_hello(ctx):
    """The bytes of a real ClientHello, from an in-memory TLS client."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=HOST)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def review_body(fixture, uid):
    doc = json.loads(fixture)
    doc["request"]["uid"] = uid
    return json.dumps(doc).encode()


def legit_client(srv, fixture, stop, results):
    """A fresh TLS connection per review, ~20 reviews/s, until stop."""
    n = 0
    while not stop.is_set() and n < 2000:
        n += 1
        uid = f"abuse-legit-{n:05d}"
        body = review_body(fixture, uid)
        t0 = time.monotonic()
        ok, why = False, ""
        try:
            c = http.client.HTTPSConnection("127.0.0.1", srv.port, context=srv.ctx, timeout=5)
            raw = socket.create_connection(("127.0.0.1", srv.port), 5)
            # Like Go's client (the apiserver's): no Nagle delay between headers and body.
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            t1 = time.monotonic()
            c.sock = srv.ctx.wrap_socket(raw, server_hostname=HOST)
            t2 = time.monotonic()
            c.request("POST", "/validate?timeout=10s", body,
                      {"Content-Type": "application/json", "Host": HOST})
            r = c.getresponse()
            data = r.read()
            c.close()
            if r.status != 200:
                why = f"HTTP {r.status}"
            else:
                doc = json.loads(data)
                resp = doc.get("response", {})
                if resp.get("uid") != uid:
                    why = f"uid {resp.get('uid')!r}"
                elif resp.get("allowed") is not True:
                    why = "not allowed"
                else:
                    ok = True
        except Exception as e:  # noqa: BLE001 - any failure is a failed review
            why = type(e).__name__ + ": " + str(e)
        t3 = time.monotonic()
        try:
            parts = (round((t1 - t0) * 1000, 1), round((t2 - t1) * 1000, 1),
                     round((t3 - t2) * 1000, 1))
        except NameError:
            parts = ()
        results.append((t3 - t0, ok, why, t0, parts))
        time.sleep(0.05)


def health_prober(srv, stop, results):
    n = 0
    while not stop.is_set() and n < 1000:
        n += 1
        for path in ("/livez", "/readyz"):
            t0 = time.monotonic()
            status = 0
            try:
                c = http.client.HTTPConnection("127.0.0.1", srv.hport, timeout=2)
                c.request("GET", path)
                r = c.getresponse()
                r.read()
                status = r.status
                c.close()
            except Exception:  # noqa: BLE001
                status = -1
            results.append((path, time.monotonic() - t0, status))
        time.sleep(0.2)


def measure_main(port, hport, ca, fixtures, seconds):
    """Child process: the legitimate client and the health prober, results as JSON on stdout."""
    class S:
        pass
    srv = S()
    srv.port, srv.hport = port, hport
    srv.ctx = ssl.create_default_context(cafile=ca)
    with open(os.path.join(fixtures, "clean-create.json")) as f:
        fixture = f.read()
    stop = threading.Event()
    legit, health = [], []
    tl = threading.Thread(target=legit_client, args=(srv, fixture, stop, legit))
    th = threading.Thread(target=health_prober, args=(srv, stop, health))
    tl.start()
    th.start()
    # Stop early when the parent says so (a line on stdin), at the latest after `seconds`.
    t = threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True)
    t.start()
    stop.wait(seconds)
    stop.set()
    tl.join(15)
    th.join(15)
    json.dump({"legit": legit, "health": health, "t0": time.monotonic()}, sys.stdout)
    return 0


def start_measuring(srv, fixtures, seconds):
    return subprocess.Popen([sys.executable, os.path.abspath(__file__), "--measure",
                             str(srv.port), str(srv.hport), srv.ca, fixtures, str(seconds)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def connect_many(port, count, limit_s):
    socks = []
    end = time.monotonic() + limit_s
    for _ in range(count):
        if time.monotonic() > end:
            break
        try:
            s = socket.create_connection(("127.0.0.1", port), 2)
            s.setblocking(False)
            socks.append(s)
        except OSError:
            break
    return socks


def body_sender(srv, idx, stats):
    """Posts Content-Length 3 MiB and stops ~100 KiB short; keeps the socket open."""
    try:
        s = srv.ctx.wrap_socket(socket.create_connection(("127.0.0.1", srv.port), 5),
                                server_hostname=HOST)
        s.settimeout(5)
        head = (f"POST /validate HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {BODY_BYTES}\r\n\r\n").encode()
        s.sendall(head)
        chunk = b" " * 65536
        sent = 0
        while sent < BODY_BYTES - 100 * 1024:
            s.sendall(chunk)
            sent += len(chunk)
        stats["sent"].append(s)
    except Exception:  # noqa: BLE001 - refused (429) or cut: what the server may do
        stats["refused"] += 1


def main():
    binary = os.environ.get("WEBHOOK")
    fixtures = os.environ.get("WH_FIXTURES")
    if not binary or not fixtures:
        print("WEBHOOK and WH_FIXTURES must be set")
        return 2
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = IDLE_TCP + STALLED + TRICKLE_PRE + TRICKLE_POST + BODIES + HEALTH_IDLE + 200
    if soft < need:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, need), hard))
        except (ValueError, OSError):
            pass
        if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < need:
            print(f"SKIP: need {need} file descriptors")
            return 77
    with open(os.path.join(fixtures, "clean-create.json")) as f:
        fixture = f.read()
    work = tempfile.mkdtemp(prefix="wh-abuse.")
    srv = Server(binary, work)
    held = []
    try:
        pid = srv.proc.pid
        # Warm up (allocator, first handshakes), then the baseline RSS.
        warm = []
        stop_warm = threading.Event()
        t = threading.Thread(target=legit_client, args=(srv, fixture, stop_warm, warm))
        t.start()
        time.sleep(1.5)
        stop_warm.set()
        t.join()
        check(f"warm-up reviews answered ({len(warm)})", warm and all(r[1] for r in warm))
        time.sleep(0.5)
        rss_before = rss_kib(pid)
        load, ncpu = os.getloadavg()[0], os.cpu_count() or 1
        # A sanitizer build is slower and keeps freed memory in quarantine: its latency and
        # memory say nothing about the release build's; correctness is still asserted.
        sanitized = os.environ.get("WH_SANITIZED", "0") == "1"
        quiet = load <= LOAD_PER_CPU_MAX * ncpu and not sanitized
        print(f"load average {load:.1f} on {ncpu} CPUs{', sanitizer build' if sanitized else ''}"
              f": latency bounds {'asserted' if quiet else 'only reported'}")

        # 1. Stalled handshakes alone: they must cost (near) no CPU.
        hello = client_hello(srv.ctx)
        stalled = connect_many(srv.port, STALLED, 5)
        for s in stalled:
            try:
                s.send(hello[: len(hello) // 2])
            except OSError:
                pass
        held += stalled
        c0 = cpu_s(pid)
        time.sleep(2.0)
        cpu_stalled = cpu_s(pid) - c0
        # A spinning loop takes all the CPU the scheduler gives it: up to 4 s in 2 s on 2 idle
        # cores, still ~0.2 s at a load average of 25; waiting on readiness takes ~0.
        check(f"{len(stalled)} stalled handshakes cost {cpu_stalled:.2f} s of CPU in 2 s (< 0.1)",
              cpu_stalled < 0.1)

        # 2. The rest of the flood, with the legitimate client and the prober running.
        meter = start_measuring(srv, fixtures, 40)
        flood_t0 = time.monotonic()
        idle = connect_many(srv.port, IDLE_TCP, 6)
        held += idle
        hidle = connect_many(srv.hport, HEALTH_IDLE, 3)
        held += hidle
        pre = connect_many(srv.port, TRICKLE_PRE, 3)
        held += pre
        post = []
        for _ in range(TRICKLE_POST):
            if time.monotonic() - flood_t0 > 8:
                break
            try:
                s = srv.ctx.wrap_socket(socket.create_connection(("127.0.0.1", srv.port), 3),
                                        server_hostname=HOST)
                s.settimeout(0.5)
                post.append(s)
            except Exception:  # noqa: BLE001
                pass
        held += post
        bstats = {"sent": [], "refused": 0}
        bthreads = [threading.Thread(target=body_sender, args=(srv, i, bstats))
                    for i in range(BODIES)]
        for b in bthreads:
            b.start()
        check(f"flood opened: {len(idle)} idle TCP, {len(stalled)} stalled handshakes, "
              f"{len(pre)}+{len(post)} trickling, {BODIES} bodies, {len(hidle)} idle health",
              len(idle) >= IDLE_TCP * 0.9)
        request = (f"POST /validate HTTP/1.1\r\nHost: {HOST}\r\n"
                   "Content-Type: application/json\r\nContent-Length: 10\r\n\r\n").encode()
        peak = rss_kib(pid)
        cpu_flood0 = cpu_s(pid)
        trickle_start = time.monotonic()
        i = 0
        post_cut_at = {}
        while time.monotonic() - trickle_start < TRICKLE_SECONDS:
            for s in pre:
                try:
                    s.send(hello[i % len(hello): i % len(hello) + 1])
                except OSError:
                    pass
            for k, s in enumerate(post):
                if k in post_cut_at:
                    continue
                try:
                    s.send(request[i % len(request): i % len(request) + 1])
                except (OSError, ssl.SSLError):
                    post_cut_at[k] = time.monotonic() - trickle_start
            i += 1
            for _ in range(10):
                peak = max(peak, rss_kib(pid))
                time.sleep(0.1)
        for b in bthreads:
            b.join(10)
        out, _ = meter.communicate("stop\n", timeout=30)
        res = json.loads(out)
        legit, health = res["legit"], res["health"]
        peak = max(peak, rss_kib(pid))
        print(f"server CPU during the flood: {cpu_s(pid) - cpu_flood0:.2f} s in "
              f"{time.monotonic() - trickle_start:.1f} s")
        lat = [r[0] for r in legit]
        bad = [(r[0], r[2]) for r in legit if not r[1]]
        slow = [(round(r[3] - flood_t0, 2), round(r[0] * 1000), r[4]) for r in legit
                if r[0] >= 0.1]
        print(f"reviews over 100 ms (seconds into the flood, ms): {slow[:20]}")
        print(f"legit reviews: {len(legit)}, failed {len(bad)}, p50 {pctl(lat, 50)*1000:.1f} ms,"
              f" p99 {pctl(lat, 99)*1000:.1f} ms, max {max(lat or [0])*1000:.1f} ms")
        for d, why in bad[:5]:
            print(f"  failed after {d*1000:.0f} ms: {why}")
        check(f"legitimate reviews during the flood ({len(legit)}) all answered correctly",
              len(legit) >= 50 and not bad)
        check_latency("every review within 1 s", lat and max(lat) < 1.0, quiet)
        check_latency("review p99 < 100 ms", lat and pctl(lat, 99) < 0.100, quiet)
        hl = [d for _, d, _ in health]
        hbad = [(p, st) for p, d, st in health if st != 200]
        hslow = [(p, round(d * 1000)) for p, d, st in health if d >= 0.100]
        print(f"health probes: {len(health)}, max {max(hl or [0])*1000:.1f} ms,"
              f" failed {hbad[:5]}, slow {hslow[:5]}")
        check("/livez and /readyz: 200 throughout", health and not hbad)
        check_latency("/livez and /readyz within 100 ms throughout", health and not hslow, quiet)
        # Trickling connections: cut by the request deadline (10 s from the first byte).
        # A cut socket reads end-of-file (or an error) at once; a live one times out.
        probe_cut = 0
        for k, s in enumerate(post):
            if k not in post_cut_at:
                try:
                    s.settimeout(0.05)
                    if not s.recv(100):
                        probe_cut += 1
                except (socket.timeout, ssl.SSLWantReadError):
                    pass
                except (OSError, ssl.SSLError):
                    probe_cut += 1
        cut = len(post_cut_at) + probe_cut
        check(f"trickling TLS connections cut by their deadline: {cut} of {len(post)}",
              post and cut == len(post))
        print(f"bodies: {len(bstats['sent'])} uploaded (unfinished), {bstats['refused']} refused")
        print(f"RSS: before {rss_before/1024:.1f} MiB, peak {peak/1024:.1f} MiB")
        check_latency(f"peak RSS {peak/1024:.1f} MiB < {RSS_LIMIT_MIB} MiB",
                      peak / 1024 < RSS_LIMIT_MIB, not sanitized)
        for s in held + bstats["sent"]:
            try:
                s.close()
            except Exception:  # noqa: BLE001
                pass
        held = []
        # After: the server sheds the closed connections and gives memory back.
        after = rss_kib(pid)
        for _ in range(40):
            time.sleep(0.1)
            after = rss_kib(pid)
            if after - rss_before < 20 * 1024:
                break
        print(f"RSS after: {after/1024:.1f} MiB")
        check_latency(f"RSS back within 20 MiB of before ({(after - rss_before)/1024:.1f} MiB "
                      "more)", after - rss_before < 20 * 1024, not sanitized)
        check("the server is still running", srv.proc.poll() is None)
    finally:
        for s in held:
            try:
                s.close()
            except Exception:  # noqa: BLE001
                pass
        srv.stop()
        if fails:
            srv.log.seek(0)
            tail = srv.log.read()[-3000:]
            print("--- server log (tail)\n" + tail)
        subprocess.run(["rm", "-rf", work])
    if fails:
        print(f"{len(fails)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "--measure":
        sys.exit(measure_main(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5],
                              float(sys.argv[6])))
    sys.exit(main())
