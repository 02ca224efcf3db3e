#!/usr/bin/env bash
# Builds the kube5xx image (Containerfile) with podman, without any container registry:
#
#   1. the base image, a minimal Debian bookworm, is made by debootstrap (variant minbase) from
#      the Debian mirror this machine's apt is configured with, slimmed (no docs, man pages,
#      locales or package caches), cached as a tarball outside the repository, and imported
#      with `podman import` as localhost/kube5xx-base:bookworm;
#   2. `podman build` builds the Containerfile on it, from a copy of the source tree that holds
#      only the files git tracks or would track (no build directories, no .git).
#
#   scripts/build-image.sh [--tag NAME] [--save FILE.tar] [--rebuild-base]
#
# Environment: KUBE5XX_IMAGE_CACHE (default /opt/kube5xx-tools/image-cache) for the tarball,
# KUBE5XX_DEBIAN_MIRROR to choose the mirror, KUBE5XX_BUILD_ISOLATION (default chroot, see
# below). Needs root (debootstrap), podman and debootstrap.
#
# Isolation: the default `podman build` runs RUN steps in an OCI runtime (crun); on machines
# whose cgroup set-up it refuses ("cgroups in hybrid mode not supported"), as on the machine
# this was written on, nothing can be built that way. --isolation=chroot runs them in a chroot
# of the layer being built, which is all a build needs; it is the default here.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cache=${KUBE5XX_IMAGE_CACHE:-/opt/kube5xx-tools/image-cache}
isolation=${KUBE5XX_BUILD_ISOLATION:-chroot}
base=localhost/kube5xx-base:bookworm
version=$(sed -n 's/^project(kube5xx VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
tag=localhost/kube5xx:${version:-dev}
save=
rebuild_base=0

say() { printf 'build-image: %s\n' "$*" >&2; }
usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --tag) tag=$2; shift 2 ;;
        --save) save=$2; shift 2 ;;
        --rebuild-base) rebuild_base=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) say "unknown argument: $1"; usage >&2; exit 2 ;;
    esac
done

for t in podman debootstrap; do
    command -v "$t" >/dev/null || { say "$t not found (scripts/install-test-tools.sh installs it)"; exit 2; }
done
[ "$(id -u)" = 0 ] || { say "must run as root: debootstrap needs it"; exit 2; }

# The URI of the first enabled apt source for SUITE, from deb822 .sources files or
# one-line .list files; disabled files (any other suffix) are not read.
apt_uri() {
    local suite=$1 f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v suite="$suite" '
            BEGIN { RS = ""; FS = "\n" }
            {
                types = ""; uris = ""; suites = ""; enabled = 1
                for (i = 1; i <= NF; i++) {
                    if ($i ~ /^Types:/)   types = $i
                    if ($i ~ /^URIs:/)    uris = $i
                    if ($i ~ /^Suites:/)  suites = $i
                    if ($i ~ /^Enabled: *no/) enabled = 0
                }
                if (!enabled || types !~ /(^|[ \t])deb([ \t]|$)/) next
                n = split(suites, s, /[ \t]+/)
                for (i = 2; i <= n; i++) if (s[i] == suite) {
                    split(uris, u, /[ \t]+/); print u[2]; exit
                }
            }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        sed -e 's/\[[^]]*\]//' "$f" | awk -v suite="$suite" '$1 == "deb" && $3 == suite { print $2 }'
    done
}

mirror=${KUBE5XX_DEBIAN_MIRROR:-$(apt_uri bookworm | head -n 1)}
mirror=${mirror:-http://deb.debian.org/debian}
security=$(apt_uri bookworm-security | head -n 1)

mkdir -p "$cache"
tarball="$cache/kube5xx-base-bookworm.tar"

# --- 1. the base image ----------------------------------------------------------------------
if [ "$rebuild_base" = 1 ] || [ ! -s "$tarball" ]; then
    say "debootstrap --variant=minbase bookworm from $mirror"
    rootfs=$(mktemp -d "$cache/rootfs.XXXXXX")
    trap 'rm -rf --one-file-system "$rootfs"' EXIT
    timeout 900 debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
        { say "debootstrap failed; see $cache/debootstrap.log"; exit 1; }
    # Apt sources of the image: the same mirror, with updates and, where this machine has
    # one, the security suite, so the runtime libraries (libssl3 above all) get their fixes.
    rm -f "$rootfs/etc/apt/sources.list"
    {
        printf 'Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\n' "$mirror"
        printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
        if [ -n "$security" ]; then
            printf '\nTypes: deb\nURIs: %s\nSuites: bookworm-security\nComponents: main\n' "$security"
            printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
        fi
    } > "$rootfs/etc/apt/sources.list.d/debian.sources"
    # Slim, the way Debian's own slim images are: packages installed later leave out
    # documentation (copyright files kept), man pages and translations; apt keeps no .debs.
    cat > "$rootfs/etc/dpkg/dpkg.cfg.d/kube5xx-slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
CFG
    printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
        > "$rootfs/etc/apt/apt.conf.d/90kube5xx-no-recommends"
    printf 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };\n' \
        > "$rootfs/etc/apt/apt.conf.d/90kube5xx-clean"
    find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf --one-file-system "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* \
           "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin \
           "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* "$rootfs"/tmp/*
    tar --numeric-owner --xattrs -C "$rootfs" -cf "$tarball.new" .
    mv "$tarball.new" "$tarball"
    rm -rf --one-file-system "$rootfs"
    trap - EXIT
fi

sum=$(sha256sum "$tarball" | cut -c1-64)
have=$(podman image inspect --format '{{index .Config.Labels "kube5xx.base.sha256"}}' "$base" 2>/dev/null || true)
if [ "$have" != "$sum" ]; then
    say "podman import $tarball as $base"
    podman import --change "LABEL kube5xx.base.sha256=$sum" --change 'CMD ["/bin/bash"]' \
        "$tarball" "$base" > "$cache/podman-import.log" 2>&1 ||
        { cat "$cache/podman-import.log" >&2; say "podman import failed"; exit 1; }
fi

# --- 2. the image -----------------------------------------------------------------------
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
(cd "$root" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar --null -T - -cf -) | tar -C "$context" -xf -
say "podman build --isolation=$isolation -t $tag"
log="$cache/podman-build.log"
if ! podman build --isolation="$isolation" --build-arg BASE_IMAGE="$base" \
        -f "$root/Containerfile" -t "$tag" "$context" > "$log" 2>&1; then
    tail -n 40 "$log" >&2
    say "podman build failed; the whole log is $log"
    exit 1
fi
grep '^runtime packages:' "$log" | sed 's/^/build-image: /' >&2 || true
if [ -n "$save" ]; then
    podman save --format oci-archive -o "$save" "$tag"
    say "saved $tag to $save"
fi
printf '%s\n' "$tag"
