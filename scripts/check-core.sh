#!/usr/bin/env bash
# Builds the core library and runs its unit tests with no SwiftNIO, AsyncHTTPClient, Hummingbird or
# PostgreSQL in the package graph (PICUS_JOURNAL_CORE_ONLY=1, see Package.swift), as Apple platforms
# and mobile-core code build it. Its own scratch folder keeps the full build's products apart.
set -euo pipefail
cd "$(dirname "$0")/.."
export PICUS_JOURNAL_CORE_ONLY=1
scratch=.build-core
# The smaller graph resolves to a smaller Package.resolved; the full build's is put back afterwards.
if [ -f Package.resolved ]; then
    cp Package.resolved "$scratch.resolved"
    trap 'mv "$scratch.resolved" Package.resolved' EXIT
fi
swift build --scratch-path "$scratch" --build-tests
if find "$scratch" \( -name 'NIOCore.swiftmodule' -o -name 'AsyncHTTPClient.swiftmodule' \) | grep -q .; then
    echo "check-core: SwiftNIO or AsyncHTTPClient was built for the core" >&2
    exit 1
fi
swift test --scratch-path "$scratch" --skip-build
