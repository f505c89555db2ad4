#!/usr/bin/env bash
# etcd-protos.sh OUT_DIR — etcd v3's API .proto files (rpc.proto, kv.proto,
# auth.proto) for src/cluster's gRPC client, taken from Debian's
# golang-etcd-server-dev at the installed etcd-server's source version and
# stripped of what only Go code generation uses. tools/fulmar setup runs it.
#
# Why: Debian packages no C++ etcd client, and etcd's protos are not ours to
# commit; the package carries them, but installing it pulls ~40 Go packages,
# so it is only downloaded and unpacked (apt-get download + dpkg -x) here.
# The strip (gogoproto imports and options, the grpc-gateway HTTP
# annotations, cross imports flattened to one directory) leaves the wire
# format unchanged (docs: /work/shared/etcd.md, src/cluster/README.md).
# OUT_DIR/.fulmar-version records the version so a later run fetches nothing.
set -euo pipefail

out="${1:?usage: etcd-protos.sh OUT_DIR}"
version="$(dpkg-query -W -f='${source:Version}' etcd-server 2>/dev/null)" ||
    { echo "etcd-protos: etcd-server is not installed" >&2; exit 1; }
if [ "$(cat "$out/.fulmar-version" 2>/dev/null)" = "$version" ]; then
    exit 0
fi
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
# apt's _apt user downloads into the directory; let it write there.
chmod 0777 "$scratch"
(cd "$scratch" && apt-get download -qq "golang-etcd-server-dev=$version" >/dev/null) ||
    { echo "etcd-protos: apt-get download golang-etcd-server-dev=$version failed" >&2; exit 1; }
dpkg -x "$scratch"/golang-etcd-server-dev_*.deb "$scratch/x"
src="$scratch/x/usr/share/gocode/src/go.etcd.io/etcd"
mkdir -p "$out.tmp"
for f in etcdserver/etcdserverpb/rpc.proto mvcc/mvccpb/kv.proto auth/authpb/auth.proto; do
    [ -f "$src/$f" ] || { echo "etcd-protos: no $f in golang-etcd-server-dev $version" >&2; exit 1; }
    # Drop gogoproto and google.api imports and options (single lines) and
    # the multi-line `option (google.api.http) = { ... };` blocks.
    awk '
        /option \(google\.api\.http\) = \{/ { skip = 1; next }
        skip { if ($0 ~ /^[[:space:]]*\};[[:space:]]*$/) skip = 0; next }
        /^import "gogoproto\/gogo\.proto";/ { next }
        /^import "google\/api\/annotations\.proto";/ { next }
        /^option \(gogoproto\./ { next }
        { gsub(/import "etcd\/mvcc\/mvccpb\/kv\.proto"/, "import \"kv.proto\"");
          gsub(/import "etcd\/auth\/authpb\/auth\.proto"/, "import \"auth.proto\"");
          print }
    ' "$src/$f" >"$out.tmp/$(basename "$f")"
    if grep -q 'gogoproto\|google\.api' "$out.tmp/$(basename "$f")"; then
        echo "etcd-protos: $f still names gogoproto or google.api after the strip" >&2
        exit 1
    fi
done
echo "$version" >"$out.tmp/.fulmar-version"
rm -rf "$out"
mv "$out.tmp" "$out"
