#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/) from the repository's
fixtures: connector definitions and their replay recordings, the test fixtures, the examples.
Run from the repository root: python3 fuzz/make-seeds.py. Files are named by content hash, so
running it again adds nothing new; libFuzzer adds what it finds (scripts/fuzz.sh)."""
import glob, hashlib, json, os, re, yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus")
written = {}

def seed(target, data, limit=8192):
    if isinstance(data, str):
        data = data.encode()
    if not data or len(data) > limit:
        return
    directory = os.path.join(OUT, target)
    os.makedirs(directory, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)
    written[target] = written.get(target, 0) + 1

def read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()

# 1. definitions: the test fixtures (valid and invalid), the reference connector, the smallest port.
for path in sorted(glob.glob(os.path.join(ROOT, "Tests/CarEngineTests/Fixtures/*/*.yaml"))):
    seed("definition", read(path), limit=16384)
for path in ["connectors/reference.yaml", "connectors/randori.yaml"]:
    seed("definition", read(path), limit=32768)

# 2., 3. expressions and JSONPath queries: every expression of every connector (fields, each,
# when, model state, requests), the JSONPath ones also as queries.
EXPRESSION_KEYS = {"each", "when", "id", "value", "updated", "deleted", "expect", "records", "next", "until", "stop"}
expressions = set()
def walk(node, key=None, in_fields=False):
    if isinstance(node, dict):
        for k, v in node.items():
            walk(v, k, in_fields or k in ("fields", "extra_fields"))
    elif isinstance(node, list):
        for v in node:
            walk(v, key, in_fields)
    elif isinstance(node, str) and (in_fields or key in EXPRESSION_KEYS):
        expressions.add(node)
    elif isinstance(node, str):
        for m in re.finditer(r"\$\{([^}]*)\}", node):  # interpolations
            expressions.add(m.group(1))
for path in sorted(glob.glob(os.path.join(ROOT, "connectors/*.yaml"))):
    walk(yaml.safe_load(read(path)))
for e in sorted(expressions):
    seed("expression", e)
    if e.startswith(("$", "@")) and not re.search(r"[ (]", e):
        seed("jsonpath", e)
for q in ["$", "@", "$.store.book[*].author", "$..author", "$.store.*", "$.store..price", "$..book[2]",
          "$..book[-1]", "$..book[0,1]", "$..book[:2]", "$..book[::-1]", "$..book[1:5:2]", "$..book[?@.isbn]",
          "$..book[?@.price<10]", "$..*", "$['store']['book'][0]['title']", "$[\"a.b\"]", "$..book[?(@.price > 8 && @.category == 'fiction')]",
          "$.list[?@ >= 2 || !(@ != 5)]", "$..[?length(@.tags) > 1]", "$..book[?match(@.author, 'N.*')]",
          "$..book[?search(@.title, 'w')]", "$..[?count(@.*) == 2]", "$..[?value(@..n) == 1]", "$.é['\\'']", "$['\\u00e9']"]:
    seed("jsonpath", q)

# 4., 6. JSON: the recorded datasource answers of every connector; the reference connector's
# records one by one (the mapping target's input).
def answers(path):
    case = yaml.safe_load(read(path)) or {}
    for step in case.get("steps", []) or []:
        for exchange in step.get("exchanges", []) or []:
            response = exchange.get("response", {}) or {}
            if "json" in response:
                yield response["json"]
            elif isinstance(response.get("body"), str):
                yield response["body"]
for path in sorted(glob.glob(os.path.join(ROOT, "connectors/*.tests/*.yaml"))):
    for body in answers(path):
        text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        seed("json", text, limit=4096)
        if "/reference.tests/" in path and isinstance(body, list):
            for record in body:
                seed("mapping", json.dumps(record, ensure_ascii=False))
examples = json.loads(read("examples/reference/records.json"))
seed("json", read("examples/reference/records.json"))
for endpoint, records in examples.items():
    seed("json", json.dumps(records, indent=1))
    for record in records:
        seed("mapping", json.dumps(record, ensure_ascii=False))
for text in ['[]', '[1, -0.0, 1e308, 2.5e-324, 9223372036854775807, -9223372036854775808, 18446744073709551616]',
             '["\\u00e9\\ud83d\\ude00", "\\"\\\\\\/\\b\\f\\n\\r\\t", ""]', '[{"a": [{"b": {}}]}, [[[]]], null, true, false]',
             ' \n[ "]" , "[", "\\\\", {"]": "["} ] \n', '{"records": [1, 2]}', '"text"', '3']:
    seed("json", text)

# 5. XML: the shapes the reader turns into JSON.
for text in ['<list><host id="1"><name>a</name></host><host id="2"><name>b</name></host></list>',
             '<?xml version="1.0" encoding="UTF-8"?>\n<r xmlns:a="urn:a"><a:x a:y="1">t<![CDATA[<c>]]></a:x><!-- c --><e/></r>',
             '<r>&lt;&amp;&#233;&#x1F600;</r>', '<r a="1" b=\'2\'>  text  <c>1</c>tail</r>',
             '<!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>', '<r><a/><a/><a>3</a><?pi data?></r>']:
    seed("xml", text)

for target, count in sorted(written.items()):
    print(f"{target}: {count} seeds")
