#!/usr/bin/env bash
# Book 9.5 and 3.4.2: builds a one-layer OCI image layout of busybox:latest from Debian's static
# /bin/busybox (applet symlinks, a minimal /etc), written by hand so the same input gives the same digests.
#
# Usage: scripts/build-busybox-image.sh [DIR]    (default /var/lib/corekube/images-src/busybox)
#   BUSYBOX=/path/to/static/busybox overrides the binary. Running it again is harmless: the same
#   busybox gives byte-identical blobs and index.json. Then:
#   corekube images import DIR      (the layout names it docker.io/library/busybox:latest)
set -euo pipefail

out="${1:-/var/lib/corekube/images-src/busybox}"
busybox="${BUSYBOX:-/bin/busybox}"
name="docker.io/library/busybox:latest"
tag="latest"

die() { echo "build-busybox-image: $*" >&2; exit 1; }
[ -x "$busybox" ] || die "$busybox not found; install Debian's busybox-static (apt-get install busybox-static) or set BUSYBOX"
if ldd "$busybox" >/dev/null 2>&1; then die "$busybox is dynamically linked; a container needs the static one (busybox-static)"; fi
for tool in tar gzip sha256sum stat; do command -v "$tool" >/dev/null || die "needs $tool"; done

case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64) arch=arm64 ;;
  armv7l) arch=arm ;;
  i?86) arch=386 ;;
  ppc64le) arch=ppc64le ;;
  s390x) arch=s390x ;;
  riscv64) arch=riscv64 ;;
  *) die "unknown machine $(uname -m)" ;;
esac
# sed reads all of busybox's output: a `head` here would close the pipe early, and under pipefail a
# busybox killed by SIGPIPE would fail the script now and then.
version="$("$busybox" 2>&1 | sed -n '1s/^BusyBox \(v[^ ]*\).*/\1/p')"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,etc,root,tmp,var/tmp,var/log,proc,sys,dev,home,run}
chmod 1777 "$rootfs/tmp" "$rootfs/var/tmp"
chmod 0700 "$rootfs/root"
cp "$busybox" "$rootfs/bin/busybox"
chmod 0755 "$rootfs/bin/busybox"
# Every applet as a symlink to the one binary, where busybox itself would install it.
while read -r applet; do
  [ "$applet" = "bin/busybox" ] && continue
  mkdir -p "$rootfs/$(dirname "$applet")"
  ln -sf /bin/busybox "$rootfs/$applet"
done < <("$busybox" --list-full)

cat > "$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
EOF
cat > "$rootfs/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
nogroup:x:65534:
EOF
chmod 0644 "$rootfs/etc/passwd" "$rootfs/etc/group"

# The layer: a sorted ustar with fixed owners and times, gzipped without a name or time stamp.
(cd "$rootfs" && tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=ustar -cf "$work/layer.tar" -- *)
gzip -n -9 -c "$work/layer.tar" > "$work/layer.tar.gz"

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
blobs="$work/blobs"
mkdir -p "$blobs"
put() { local d; d="$(sha "$1")"; cp "$1" "$blobs/$d"; echo "$d"; }

diff_id="$(sha "$work/layer.tar")"
layer="$(put "$work/layer.tar.gz")"
layer_size="$(size "$work/layer.tar.gz")"

printf '%s' "{\"created\":\"1970-01-01T00:00:00Z\",\"architecture\":\"$arch\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\"Cmd\":[\"sh\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diff_id\"]},\"history\":[{\"created\":\"1970-01-01T00:00:00Z\",\"created_by\":\"corekube scripts/build-busybox-image.sh (BusyBox $version, Debian busybox-static)\"}]}" > "$work/config.json"
config="$(put "$work/config.json")"
config_size="$(size "$work/config.json")"

printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$config\",\"size\":$config_size},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$layer\",\"size\":$layer_size}]}" > "$work/manifest.json"
manifest="$(put "$work/manifest.json")"
manifest_size="$(size "$work/manifest.json")"

printf '%s\n' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$manifest\",\"size\":$manifest_size,\"annotations\":{\"io.containerd.image.name\":\"$name\",\"org.opencontainers.image.ref.name\":\"$tag\"}}]}" > "$work/index.json"

# Install into the layout: blobs first (content-addressed, so copying again changes nothing), then
# index.json by rename, then drop blobs an earlier build left that the new index does not use.
mkdir -p "$out/blobs/sha256"
printf '%s' '{"imageLayoutVersion":"1.0.0"}' > "$work/oci-layout"
for f in "$blobs"/*; do
  d="$(basename "$f")"
  [ -e "$out/blobs/sha256/$d" ] || { cp "$f" "$out/blobs/sha256/.$d.tmp" && mv "$out/blobs/sha256/.$d.tmp" "$out/blobs/sha256/$d"; }
done
cp "$work/oci-layout" "$out/.oci-layout.tmp" && mv "$out/.oci-layout.tmp" "$out/oci-layout"
cp "$work/index.json" "$out/.index.json.tmp" && mv "$out/.index.json.tmp" "$out/index.json"
for f in "$out/blobs/sha256"/*; do
  d="$(basename "$f")"
  case "$d" in "$layer" | "$config" | "$manifest") ;; *) rm -f "$f" ;; esac
done

echo "busybox image ($version, $arch) at $out: manifest sha256:$manifest, layer sha256:$layer ($layer_size bytes), tagged $name and :$tag"
