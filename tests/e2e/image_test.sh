#!/usr/bin/env bash
# Builds the container image (scripts/build-image.sh) and tests it without running a
# container (no container can run in this sandbox): the image's root filesystem is mounted
# with `podman image mount` and the binaries run in a chroot of it, as the image's user
# (65532), with only a scratch /tmp bound in:
#   kube5xx --version, kube5xx-webhook --version, kube5xx lint of an example (finding and
#   exit status), kube5xx-webhook certs (a CA and serving certificate that openssl verifies);
# and the image is what the Containerfile promises: non-root user, the entrypoint, every
# library the binaries load present, no compiler.
#
#   tests/e2e/image_test.sh
# Measured here: 53 s from nothing (debootstrap, base import, the build stage's toolchain,
# the compile, the runtime stage), about 10 s with the base tarball and podman's layer cache
# warm. It downloads about 100 MB of Debian packages the first time. KUBE5XX_IMAGE_TEST=0
# skips it (exit 77); so do a missing podman, debootstrap or root.
. "$(dirname "$0")/ship_lib.sh"
[ "${KUBE5XX_IMAGE_TEST:-1}" = 0 ] && skip "KUBE5XX_IMAGE_TEST=0"
[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, podman image mount, chroot)"
for t in podman debootstrap unshare chroot; do
    need_command "$t" scripts/install-test-tools.sh
done

image=localhost/kube5xx:e2e
timeout 1500 "$ship_root/scripts/build-image.sh" --tag "$image" > /dev/null ||
    die "scripts/build-image.sh failed"

inspect() { podman image inspect --format "$1" "$image"; }
check "the image runs as 65532:65532" test "$(inspect '{{.Config.User}}')" = 65532:65532
check "the entrypoint is kube5xx-webhook" \
    test "$(inspect '{{json .Config.Entrypoint}}')" = '["/usr/local/bin/kube5xx-webhook"]'
size=$(inspect '{{.Size}}')
say "image size: $((size / 1024 / 1024)) MiB"

mnt=$(podman image mount "$image") || die "podman image mount failed"
trap 'podman image unmount "$image" >/dev/null 2>&1; rm -rf --one-file-system "$ship_tmp"' EXIT

check "no compiler in the runtime image" test ! -e "$mnt/usr/bin/gcc" -a ! -e "$mnt/usr/bin/cc"
check "no -dev package in the runtime image" \
    bash -c "! grep -q '^Package: .*-dev\$' '$mnt/var/lib/dpkg/status'"
for lib in libyaml-0-2 libcjson1 libmicrohttpd12 libssl3; do
    check "runtime package $lib installed" grep -qx "Package: $lib" "$mnt/var/lib/dpkg/status"
done

cat > "$ship_tmp/example.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: example/web:1
          ports:
            - {name: http, containerPort: 8080}
YAML

# The image's root is read-only; the chroot gets a private mount namespace with a scratch
# /tmp (writable by the image's user) and /dev bound in, and nothing else from the host.
scratch="$ship_tmp/scratch"
mkdir -p "$scratch"
chmod 1777 "$scratch"
cp "$ship_tmp/example.yaml" "$scratch/"
in_image() { # in_image COMMAND...: runs it in the image as 65532; stdout in $ship_tmp/out,
             # stderr in $ship_tmp/err
    timeout 60 unshare --mount --propagation private sh -c '
        mnt=$1; scratch=$2; shift 2
        mount --bind "$scratch" "$mnt/tmp" &&
        mount --rbind /dev "$mnt/dev" &&
        exec chroot --userspec=65532:65532 "$mnt" env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp "$@"
    ' sh "$mnt" "$scratch" "$@" > "$ship_tmp/out" 2> "$ship_tmp/err"
}
shown() { cat "$ship_tmp/out" "$ship_tmp/err" | sed 's/^/    /' >&2; }

in_image ldd /usr/local/bin/kube5xx /usr/local/bin/kube5xx-webhook
check "every library the binaries load is in the image" \
    bash -c "! grep -q 'not found' '$ship_tmp/out' '$ship_tmp/err'" || shown

in_image kube5xx --version
check "kube5xx --version runs in the image" grep -q '^kube5xx [0-9]' "$ship_tmp/out" || shown
in_image kube5xx-webhook --version
check "kube5xx-webhook --version runs in the image" grep -q '^kube5xx-webhook [0-9]' "$ship_tmp/out" || shown

in_image kube5xx lint --no-config /tmp/example.yaml; rc=$?
check "kube5xx lint in the image exits 1 on the example" test "$rc" = 1
check "and reports readiness-probe-missing at its line" \
    grep -q '^/tmp/example.yaml:[0-9]*:[0-9]*: error: .*\[readiness-probe-missing\]' "$ship_tmp/out"
[ "$rc" = 1 ] || shown
in_image sh -c 'kube5xx lint --no-config --format json - < /tmp/example.yaml'
check "kube5xx lint - (stdin) in the image" grep -q '"rule": *"readiness-probe-missing"' "$ship_tmp/out" || shown

in_image kube5xx-webhook certs --service kube5xx-webhook --namespace kube5xx --out /tmp/certs; rc=$?
check "kube5xx-webhook certs in the image exits 0" test "$rc" = 0
[ "$rc" = 0 ] || shown
if [ -s "$scratch/certs/ca.crt" ]; then
    check "the printed caBundle is base64 of ca.crt" \
        test "$(tr -d '[:space:]' < "$ship_tmp/out")" = "$(base64 -w0 < "$scratch/certs/ca.crt")"
    check "the serving certificate verifies for kube5xx-webhook.kube5xx.svc" \
        bash -c "openssl verify -CAfile '$scratch/certs/ca.crt' -verify_hostname kube5xx-webhook.kube5xx.svc \
                 '$scratch/certs/tls.crt' >/dev/null"
    check "tls.key belongs to the image's user and only it can read it" \
        bash -c "[ \"\$(stat -c %u '$scratch/certs/tls.key')\" = 65532 ] &&
                 [ \$(( 0\$(stat -c %a '$scratch/certs/tls.key') & 077 )) = 0 ]"
fi

finish
