#!/usr/bin/env python3
"""Writes the fuzzing seed corpus, Fuzz/corpus/: every example body of the Picus API documents in
../shared/picus (response-codes.txt, api-notes.md, swagger.json) and the hostile inputs the hardening
issue names. Files are named by the SHA-1 of their bytes, as libFuzzer names its own.

Usage: scripts/make-fuzz-corpus.py [--shared ../shared/picus] [--out Fuzz/corpus]
"""
import argparse, hashlib, json, os, re, sys

def blocks_in_text(text):
    """Balanced {...} blocks in free text, comments and all (the documents are not strict JSON)."""
    found, depth, start = [], 0, None
    for index, char in enumerate(text):
        if char == "{":
            if depth == 0:
                start = index
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                found.append(text[start:index + 1])
    return found

def swagger_examples(value, out):
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("example", "examples"):
                out.append(json.dumps(item))
            swagger_examples(item, out)
    elif isinstance(value, list):
        for item in value:
            swagger_examples(item, out)

HOSTILE = [
    "99999999999", "99999999999999999999999999999999", "-5", "0", "1e300", "-1e300", "1e400", "nan", "inf", "",
    " 120 ", "Fri, 31 Dec 3000 23:59:59 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
    "Wed, 21 Oct 2015 07:28:00 GMT", "4102444800", "4102444800000", "1654518145155",
    '{"message":"\\u001b]0;owned\\u0007\\u001b[2Jgone\\rX"}',
    "\x1b]0;owned\x07\x1b[2Jgone\rX\x00tail",
    '{"message":"your token Bearer access-token-ECHOED is bad","errors":{"auth":"Bearer access-token-ECHOED"}}',
    '{"\\u0074oken":"hidden","nested":{"password":"p","list":[{"api_key":"k"}]}}',
    "refresh_token=abc&x=1&password=p%20q", "token", "=HYPERLINK(\"http://evil\")", "+1", "-1", "@SUM(A1)",
    '{"message":"validation error","errors":["a","b"]}', '{"message":"x","errors":"{\\"inner\\":1}"}',
    '{"message":"x","error_code":"1001","success":false,"code":400}', '{"message":', '[', '{"a":' * 200,
    "<html><head><title>504 Gateway Time-out</title></head><body>nginx</body></html>",
    "\xff\xfe\xfd binary", "\u00e9\u0301 unicode \u202e rtl", "\u0085 next line \u009b csi",
]

def main():
    parser = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--shared", default=os.path.join(here, "..", "..", "shared", "picus"))
    parser.add_argument("--out", default=os.path.join(here, "..", "Fuzz", "corpus"))
    args = parser.parse_args()
    seeds = []
    for name in ("response-codes.txt", "api-notes.md"):
        with open(os.path.join(args.shared, name), encoding="utf-8") as handle:
            text = handle.read()
        seeds += blocks_in_text(text)
        seeds += re.findall(r"`([^`]*\{[^`]*)`", text)
    with open(os.path.join(args.shared, "swagger.json"), encoding="utf-8") as handle:
        swagger_examples(json.load(handle), seeds)
    seeds += HOSTILE
    os.makedirs(args.out, exist_ok=True)
    written = set()
    for seed in seeds:
        data = seed.encode("utf-8", "surrogateescape") if isinstance(seed, str) else seed
        digest = hashlib.sha1(data).hexdigest()
        if digest in written:
            continue
        written.add(digest)
        with open(os.path.join(args.out, digest), "wb") as handle:
            handle.write(data)
    print(f"{len(written)} seeds in {args.out}")

if __name__ == "__main__":
    sys.exit(main())
