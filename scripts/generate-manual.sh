#!/usr/bin/env bash
# Regenerates man/picus-journal.1 from the CLI's own help, with swift-argument-parser's
# generate-manual plugin. ManualTests fails when the committed page is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
swift package plugin generate-manual --date "$(date -u +%Y-%m-%d)" --authors "the picus-journal developers"
cp .build/plugins/GenerateManual/outputs/picus-journal/picus-journal.1 man/picus-journal.1
python3 scripts/tidy-manual.py man/picus-journal.1
echo "man/picus-journal.1 regenerated; read it with: man ./man/picus-journal.1"
