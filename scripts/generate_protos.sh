#!/usr/bin/env bash
# Regenerates Sources/InferenceMessages/*.pb.swift from the .proto files beside them, with Debian's protoc
# (apt install protobuf-compiler) and swift-protobuf's protoc-gen-swift at the version Package.swift names, built
# once into .build-protoc (about a minute here). The generated files are committed: a build never runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v protoc >/dev/null || apt-get install -y -q protobuf-compiler
VERSION=1.39.0
SOURCE=.build-protoc/swift-protobuf
[ -d "$SOURCE" ] || git -c advice.detachedHead=false clone -q --branch "$VERSION" https://github.com/apple/swift-protobuf "$SOURCE"
(cd "$SOURCE" && swift build -c release --product protoc-gen-swift 2>&1 | tail -1)
cd Sources/InferenceMessages
protoc --plugin="../../$SOURCE/.build/release/protoc-gen-swift" --swift_out=. --swift_opt=Visibility=Public \
    inference.proto health.proto
echo "generated: $(ls ./*.pb.swift | tr '\n' ' ')"
