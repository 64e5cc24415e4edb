#!/usr/bin/env python3
"""The console's string catalogs (server/console/assets/i18n/*.json): both
languages hold exactly the same keys, none empty; every key the JS or HTML
uses exists (literal 'ns.key' strings, data-i18n* attributes, and the keys
built at run time that app.js lists in its "i18n-keys:" comments); no
catalog key goes unused; and the markup holds no visible text of its own.

usage: console_i18n.py ASSETS_DIR
"""
import json
import os
import re
import sys


def main():
    root = sys.argv[1]
    fails = []
    cats = {}
    for lang in ("en", "zh-CN"):
        with open(os.path.join(root, "i18n", lang + ".json"), encoding="utf-8") as f:
            cats[lang] = json.load(f)
    en, zh = cats["en"], cats["zh-CN"]
    for k in sorted(set(en) - set(zh)):
        fails.append("key %r is in en.json but missing from zh-CN.json" % k)
    for k in sorted(set(zh) - set(en)):
        fails.append("key %r is in zh-CN.json but missing from en.json" % k)
    for lang, c in cats.items():
        for k, v in c.items():
            if not isinstance(v, str) or not v.strip():
                fails.append("%s.json: key %r has an empty value" % (lang, k))
        for k in set(en) & set(zh):
            a, b = set(re.findall(r"\{(\w+)\}", en[k])), set(re.findall(r"\{(\w+)\}", zh[k]))
            if a != b and lang == "en":
                fails.append("key %r: placeholders differ (en %s, zh-CN %s)" % (k, sorted(a), sorted(b)))
    namespaces = sorted({k.split(".")[0] for k in en})
    used = set()
    lit = re.compile(r"'((?:%s)\.[a-z_0-9]+)'" % "|".join(namespaces))
    attr = re.compile(r"""data-i18n(?:-placeholder|-title)?(?:="|': ')([^"']+)""")
    listed = re.compile(r"i18n-keys:([^\n*]*)")
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if not (name.endswith(".js") or name.endswith(".html")):
            continue
        text = open(path, encoding="utf-8").read()
        found = set(attr.findall(text))
        for m in lit.findall(text):
            if not m.endswith("_"):  # a prefix completed at run time: listed in i18n-keys
                found.add(m)
        for line in listed.findall(text):
            found |= set(line.split())
        for k in sorted(found):
            if k not in en:
                fails.append("%s uses key %r, absent from the catalogs" % (name, k))
        used |= found
        if name.endswith(".html"):
            # visible text between tags must come from the catalogs
            body = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", text, flags=re.S)
            for m in re.finditer(r">([^<]+)<", body):
                s = m.group(1).strip()
                if s and s not in ("English", "简体中文"):  # language names are shown in their own language
                    fails.append("%s: text %r is hard-coded in the markup" % (name, s))
    for k in sorted(set(en) - used):
        fails.append("catalog key %r is used nowhere" % k)
    for f in fails:
        print("FAIL " + f)
    print("console_i18n: %d keys per language, %d used, %d problem(s)" % (len(en), len(used), len(fails)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
