#!/usr/bin/env python3
"""Makes generate-manual's page clean mdoc: ArgumentParser copies each command's discussion into
the page as it is, so a blank line (an mdoc warning) becomes .Pp, a run of indented lines (the
examples) a literal display that no formatter refills, and a text line that starts with a dot or
an apostrophe (a request to troff) is escaped. Reads and rewrites the page named on the command line."""
import sys

path = sys.argv[1]
lines = open(path, encoding="utf-8").read().rstrip("\n").split("\n")
out = []
literal = False
for line in lines:
    indented = line.startswith("  ") and line.strip() != ""
    if literal and not indented:
        out.append(".Ed")
        literal = False
    if indented and not literal:
        out.append(".Bd -literal -offset indent")
        literal = True
    if line.strip() == "":
        if out and out[-1] != ".Pp":
            out.append(".Pp")
    elif literal:
        out.append("\\&" + line[2:] if line[2:].startswith((".", "'")) else line[2:])
    else:
        out.append(line)
if literal:
    out.append(".Ed")
text = "\n".join(out) + "\n"
open(path, "w", encoding="utf-8").write(text)
