#!/usr/bin/env bash
# Checks that the README's two commands are enough on a fresh machine. A machine that has run
# the tests once already holds what they installed, so the check builds a new Debian bookworm
# root with debootstrap holding only what the machine image has (this machine's Node 20 and npm
# with their settings, python3, g++, make, cmake, ninja, git, jq), clones the committed HEAD of
# this repository into it (with shared/ beside it, as CI has), and runs `npm ci` then
# `npm test` there, as root, with CI=true and no stdin. Whatever else the tests need, they must
# install themselves (test/ensure-debian-packages.sh). At the end it lists the Debian packages
# the tests asked for and the time each command took.
#
#   sudo bash test/fresh-machine.sh [ROOT_DIR]    (default /tmp/tuner-fresh-root, made anew)
#
# Needs root (debootstrap, mount, chroot) and Debian's archive; about 40 minutes on 2 cores.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
ROOTFS="${1:-/tmp/tuner-fresh-root}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
IMAGE_PACKAGES=python3,g++,make,cmake,ninja-build,git,jq,ca-certificates,xz-utils,procps,util-linux
if [ "$(id -u)" != 0 ]; then
  echo "fresh-machine: needs root (debootstrap, mount, chroot); run: sudo bash $0 $*" >&2
  exit 1
fi
bash "$REPO/test/ensure-debian-packages.sh" debootstrap
started=$SECONDS
stamp() { echo "fresh-machine: $1 ($((SECONDS - started)) s)"; }

# Debian's part, made once into ROOT_DIR-base (debootstrap's output only; FRESH_REBUILD_BASE=1
# makes it anew) and copied for every run, so each run starts from the same untouched root.
BASE="$ROOTFS-base"
if [ ! -f "$BASE/.debootstrap-done" ] || [ -n "${FRESH_REBUILD_BASE:-}" ]; then
  rm -rf "$BASE"
  stamp "debootstrap bookworm into $BASE"
  debootstrap --variant=minbase --include="$IMAGE_PACKAGES" bookworm "$BASE" "$MIRROR" >"$BASE.log" 2>&1 \
    || { tail -20 "$BASE.log" >&2; exit 1; }
  touch "$BASE/.debootstrap-done"
fi
rm -rf "$ROOTFS"
cp -a "$BASE" "$ROOTFS"
stamp "root copied to $ROOTFS"

# What the machine image adds to Debian: its apt sources (updates and security too), the
# certificate authorities it trusts (and the variables naming them), Node 20 + npm and npm's
# settings.
cp /etc/apt/sources.list.d/*.sources "$ROOTFS/etc/apt/sources.list.d/" 2>/dev/null && rm -f "$ROOTFS/etc/apt/sources.list"
cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
if compgen -G '/usr/local/share/ca-certificates/*' >/dev/null; then
  cp -a /usr/local/share/ca-certificates/. "$ROOTFS/usr/local/share/ca-certificates/"
  chroot "$ROOTFS" update-ca-certificates >/dev/null
fi
image_env=()
for v in NODE_EXTRA_CA_CERTS SSL_CERT_FILE SSL_CERT_DIR CURL_CA_BUNDLE REQUESTS_CA_BUNDLE; do
  [ -n "${!v:-}" ] && image_env+=("$v=${!v}")
done
cp /usr/bin/node "$ROOTFS/usr/bin/node"
mkdir -p "$ROOTFS/usr/lib/node_modules" "$ROOTFS/usr/include" "$ROOTFS/usr/etc" "$ROOTFS/root"
cp -a /usr/lib/node_modules/npm "$ROOTFS/usr/lib/node_modules/"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOTFS/usr/bin/npx"
[ -d /usr/include/node ] && cp -a /usr/include/node "$ROOTFS/usr/include/"
for f in /etc/npmrc /usr/etc/npmrc /root/.npmrc; do [ -f "$f" ] && cp "$f" "$ROOTFS$f"; done

# The clone, as CI makes it: committed HEAD only, shared/ beside it.
git clone -q "$REPO" "$ROOTFS/tmp/fresh/main"
[ -d "$REPO/../shared" ] && cp -a "$REPO/../shared" "$ROOTFS/tmp/fresh/shared"
echo "fresh-machine: testing $(git -C "$ROOTFS/tmp/fresh/main" log --oneline -1)"
chroot "$ROOTFS" apt-mark showmanual | sort >"$ROOTFS/tmp/packages-before"

# proc, sys and dev in a private mount namespace: they go away with it, whatever happens.
status=0
unshare --mount --propagation private bash -c '
  set -e
  R=$1; shift
  mount -t proc proc "$R/proc"
  mount --rbind /sys "$R/sys"
  mount --rbind /dev "$R/dev"
  exec chroot "$R" env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin \
    LANG=C.UTF-8 CI=true "$@" bash -c "
      set -e; cd /tmp/fresh/main; t=\$SECONDS
      echo fresh-machine: npm ci; npm ci --no-audit --no-fund </dev/null
      echo fresh-machine: npm ci took \$((SECONDS - t)) s; t=\$SECONDS
      echo fresh-machine: npm test; npm test </dev/null
      echo fresh-machine: npm test took \$((SECONDS - t)) s"
' fresh-machine "$ROOTFS" "${image_env[@]}" || status=$?

chroot "$ROOTFS" apt-mark showmanual | sort >"$ROOTFS/tmp/packages-after"
echo "fresh-machine: Debian packages the tests installed: $(comm -13 "$ROOTFS/tmp/packages-before" "$ROOTFS/tmp/packages-after" | tr '\n' ' ')"
stamp "done, exit $status"
exit "$status"
