#!/usr/bin/env bash
# Builds the DocC documentation of every library product with warnings as errors: a broken symbol
# link or a malformed article fails the check.
set -euo pipefail
cd "$(dirname "$0")/.."
for target in PicusJournal PicusJournalTesting PicusSandbox PicusJournalFleet; do
    swift package --disable-sandbox generate-documentation --target "$target" --warnings-as-errors >/dev/null \
        || { echo "check-docs: $target's documentation has warnings (rerun without >/dev/null to see them)" >&2; exit 1; }
    echo "check-docs: $target builds without warnings"
done
