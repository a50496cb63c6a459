#!/usr/bin/env bash
# Generates the Python client of the AIDE mesh (messages and gRPC stubs) from proto/.
#
#   clients/python/generate.sh [OUT]     OUT defaults to clients/python/gen (git-ignored)
#
# Needs protoc and gRPC's Python plugin; on Debian:
#   apt-get install protobuf-compiler protobuf-compiler-grpc python3-grpcio python3-protobuf
# GRPC_PYTHON_PLUGIN and PROTOBUF_INCLUDE (the folder holding google/protobuf/timestamp.proto)
# override where they are looked for.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
protos="$here/../../proto"
out="${1:-$here/gen}"
plugin="${GRPC_PYTHON_PLUGIN:-$(command -v grpc_python_plugin || true)}"
include="${PROTOBUF_INCLUDE:-/usr/include}"

[ -x "$plugin" ] || { echo "generate.sh: grpc_python_plugin not found (apt-get install protobuf-compiler-grpc)" >&2; exit 1; }
[ -f "$include/google/protobuf/timestamp.proto" ] || { echo "generate.sh: no google/protobuf/timestamp.proto under $include" >&2; exit 1; }

mkdir -p "$out"
protoc -I "$protos" -I "$include" \
  --python_out="$out" --grpc_out="$out" --plugin=protoc-gen-grpc="$plugin" \
  "$protos"/aide/v1/*.proto
echo "generated the aide.v1 Python client in $out"
