#!/usr/bin/env python3
"""The public API of certauth, one line per item, from rustdoc's JSON output; fails when
an item is reachable by two public paths (one path per item).

    .ci/public-api.py target/doc/certauth.json            # print it
    .ci/public-api.py target/doc/certauth.json --check public-api.txt
    .ci/public-api.py target/doc/certauth.json --bless public-api.txt

Every public item is listed at every path a user can name it by (a re-export is a second
path, and shows as one), with its signature: a change to the public API is a diff of
`public-api.txt`. Trait implementations are listed by trait, not by method. Auto traits
and blanket implementations are left out (they follow from the rest).
"""

import difflib
import json
import sys


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    doc = json.load(open(sys.argv[1]))
    api = Api(doc)
    lines = sorted(set(api.lines()))
    twice = sorted(sorted(paths) for paths in api.paths.values() if len(paths) > 1)
    if twice:
        print("items reachable by more than one public path (keep one):")
        for paths in twice:
            print("  " + "  ".join(paths))
        sys.exit(1)
    text = "".join(line + "\n" for line in lines)
    if len(sys.argv) == 4 and sys.argv[2] == "--bless":
        open(sys.argv[3], "w").write(text)
    elif len(sys.argv) == 4 and sys.argv[2] == "--check":
        want = open(sys.argv[3]).read()
        if want != text:
            sys.stdout.writelines(
                difflib.unified_diff(
                    want.splitlines(True), text.splitlines(True), sys.argv[3], "built crate"
                )
            )
            print(
                "\nthe public API differs from public-api.txt: if the change is intended, run\n"
                "  RUSTC_BOOTSTRAP=1 cargo rustdoc --lib --all-features -- -Z unstable-options"
                " --output-format json\n"
                "  .ci/public-api.py target/doc/certauth.json --bless public-api.txt"
            )
            sys.exit(1)
    else:
        sys.stdout.write(text)


class Api:
    def __init__(self, doc):
        self.index = doc["index"]
        self.root = str(doc["root"])
        self.out = []
        # Item id -> every public path it is reachable by.
        self.paths = {}

    def lines(self):
        root = self.index[self.root]
        self.module(root, root["name"], set())
        return self.out

    def item(self, id):
        return self.index.get(str(id))

    # -- items ---------------------------------------------------------------------------

    def module(self, item, path, seen):
        if item["id"] in seen:
            return
        seen = seen | {item["id"]}
        self.out.append(f"pub mod {path}")
        for child_id in item["inner"]["module"]["items"]:
            child = self.item(child_id)
            if child is None or child["visibility"] != "public":
                continue
            self.member(child, path, seen)

    def member(self, item, prefix, seen, name=None):
        kind, inner = next(iter(item["inner"].items()))
        name = name or item["name"]
        path = f"{prefix}::{name}"
        if kind != "use":
            self.paths.setdefault(item["id"], set()).add(path)
        if kind == "use":
            target = self.item(inner["id"]) if inner["id"] is not None else None
            if inner["is_glob"]:
                self.out.append(f"pub use {prefix}::{inner['source']}::*")
                if target is not None and "module" in target["inner"]:
                    for child_id in target["inner"]["module"]["items"]:
                        child = self.item(child_id)
                        if child is not None and child["visibility"] == "public":
                            self.member(child, prefix, seen)
            elif target is None:
                # A re-export of another crate's item.
                self.out.append(f"pub use {prefix}::{inner['name']} = {inner['source']}")
            else:
                self.member(target, prefix, seen, inner["name"])
        elif kind == "module":
            self.module(item, path, seen)
        elif kind == "struct":
            self.struct(item, inner, path)
        elif kind == "enum":
            self.enum(item, inner, path)
        elif kind == "trait":
            self.trait(item, inner, path)
        elif kind == "function":
            self.out.append(self.function(inner, path))
        elif kind == "constant":
            self.out.append(f"pub const {path}: {self.ty(inner['type'])}")
        elif kind == "static":
            self.out.append(f"pub static {path}: {self.ty(inner['type'])}")
        elif kind == "type_alias":
            generics = self.generic_params(inner["generics"])
            self.out.append(f"pub type {path}{generics} = {self.ty(inner['type'])}")
        elif kind == "macro":
            self.out.append(f"macro {path}!")
        else:
            self.out.append(f"{kind} {path}")

    def struct(self, item, inner, path):
        generics = self.generic_params(inner["generics"])
        self.out.append(f"pub struct {path}{generics}")
        kind = inner["kind"]
        if isinstance(kind, dict) and "plain" in kind:
            for field_id in kind["plain"]["fields"]:
                field = self.item(field_id)
                if field and field["visibility"] == "public":
                    self.out.append(
                        f"pub {path}::{field['name']}: {self.ty(field['inner']['struct_field'])}"
                    )
            if kind["plain"].get("has_stripped_fields"):
                self.out.append(f"pub struct {path}: private fields")
        elif isinstance(kind, dict) and "tuple" in kind:
            fields = [self.item(f) if f is not None else None for f in kind["tuple"]]
            shown = ", ".join(
                self.ty(f["inner"]["struct_field"])
                if f and f["visibility"] == "public"
                else "_"
                for f in fields
            )
            self.out.append(f"pub struct {path}({shown})")
        self.impls(inner["impls"], path)

    def enum(self, item, inner, path):
        generics = self.generic_params(inner["generics"])
        attrs = " ".join(str(a) for a in item.get("attrs", []))
        non_exhaustive = " #[non_exhaustive]" if "non_exhaustive" in attrs else ""
        self.out.append(f"pub enum {path}{generics}{non_exhaustive}")
        for variant_id in inner["variants"]:
            variant = self.item(variant_id)
            v = variant["inner"]["variant"]
            shape = ""
            kind = v["kind"]
            if isinstance(kind, dict) and "tuple" in kind:
                shape = "(" + ", ".join(
                    self.ty(self.item(f)["inner"]["struct_field"]) if f is not None else "_"
                    for f in kind["tuple"]
                ) + ")"
            elif isinstance(kind, dict) and "struct" in kind:
                fields = [self.item(f) for f in kind["struct"]["fields"]]
                shape = " { " + ", ".join(
                    f"{f['name']}: {self.ty(f['inner']['struct_field'])}" for f in fields
                ) + " }"
            self.out.append(f"pub {path}::{variant['name']}{shape}")
        self.impls(inner["impls"], path)

    def trait(self, item, inner, path):
        generics = self.generic_params(inner["generics"])
        bounds = self.bounds(inner["bounds"])
        unsafe = "unsafe " if inner.get("is_unsafe") else ""
        self.out.append(f"pub {unsafe}trait {path}{generics}{': ' + bounds if bounds else ''}")
        for member_id in inner["items"]:
            member = self.item(member_id)
            kind, m = next(iter(member["inner"].items()))
            mpath = f"{path}::{member['name']}"
            if kind == "function":
                provided = " (provided)" if m.get("has_body") else ""
                self.out.append(self.function(m, mpath) + provided)
            elif kind == "assoc_type":
                b = self.bounds(m.get("bounds", []))
                self.out.append(f"type {mpath}{': ' + b if b else ''}")
            elif kind == "assoc_const":
                self.out.append(f"const {mpath}: {self.ty(m['type'])}")

    def impls(self, impl_ids, path):
        for impl_id in impl_ids:
            impl = self.item(impl_id)
            if impl is None:
                continue
            i = impl["inner"]["impl"]
            if i.get("is_synthetic") or i.get("blanket_impl") is not None:
                continue
            if i["trait"] is None:
                for member_id in i["items"]:
                    member = self.item(member_id)
                    if member is None or member["visibility"] != "public":
                        continue
                    kind, m = next(iter(member["inner"].items()))
                    mpath = f"{path}::{member['name']}"
                    if kind == "function":
                        self.out.append(self.function(m, mpath))
                    elif kind == "assoc_const":
                        self.out.append(f"pub const {mpath}: {self.ty(m['type'])}")
            else:
                # Named by the implementing item's path (the self type as written may be
                # a bare name that several modules use).
                negative = "!" if i.get("is_negative") else ""
                self_args = self.args(i["for"].get("resolved_path", {}).get("args"))
                self.out.append(f"impl {negative}{self.path(i['trait'])} for {path}{self_args}")

    def function(self, f, path):
        header = f["header"]
        quals = "".join(
            q
            for q, on in (
                ("const ", header["is_const"]),
                ("async ", header["is_async"]),
                ("unsafe ", header["is_unsafe"]),
            )
            if on
        )
        generics = self.generic_params(f["generics"])
        params = ", ".join(
            "self"
            if name == "self" and ty == {"generic": "Self"}
            else self.self_param(ty)
            if name == "self"
            else f"{name}: {self.ty(ty)}"
            for name, ty in f["sig"]["inputs"]
        )
        out = f["sig"]["output"]
        ret = f" -> {self.ty(out)}" if out is not None else ""
        where = self.where_clause(f["generics"])
        return f"pub {quals}fn {path}{generics}({params}){ret}{where}"

    def self_param(self, ty):
        if "borrowed_ref" in ty and ty["borrowed_ref"]["type"] == {"generic": "Self"}:
            r = ty["borrowed_ref"]
            lt = f"{r['lifetime']} " if r["lifetime"] else ""
            return f"&{lt}{'mut ' if r['is_mutable'] else ''}self"
        return f"self: {self.ty(ty)}"

    # -- types -----------------------------------------------------------------------------

    def generic_params(self, generics):
        shown = []
        for p in generics["params"]:
            kind = p["kind"]
            if "lifetime" in kind:
                outlives = kind["lifetime"]["outlives"]
                shown.append(p["name"] + (": " + " + ".join(outlives) if outlives else ""))
            elif "type" in kind:
                if kind["type"].get("is_synthetic"):
                    continue
                b = self.bounds(kind["type"]["bounds"])
                shown.append(p["name"] + (": " + b if b else ""))
            elif "const" in kind:
                shown.append(f"const {p['name']}: {self.ty(kind['const']['type'])}")
        return "<" + ", ".join(shown) + ">" if shown else ""

    def where_clause(self, generics):
        preds = []
        for w in generics["where_predicates"]:
            if "bound_predicate" in w:
                b = w["bound_predicate"]
                preds.append(f"{self.ty(b['type'])}: {self.bounds(b['bounds'])}")
            elif "lifetime_predicate" in w:
                lp = w["lifetime_predicate"]
                preds.append(f"{lp['lifetime']}: {' + '.join(lp['outlives'])}")
            elif "eq_predicate" in w:
                e = w["eq_predicate"]
                preds.append(f"{self.ty(e['lhs'])} = {self.term(e['rhs'])}")
        return " where " + ", ".join(preds) if preds else ""

    def bounds(self, bounds):
        shown = []
        for b in bounds:
            if "trait_bound" in b:
                tb = b["trait_bound"]
                modifier = "?" if tb.get("modifier") == "maybe" else ""
                hrtb = self.hrtb(tb.get("generic_params", []))
                shown.append(f"{hrtb}{modifier}{self.path(tb['trait'])}")
            elif "outlives" in b:
                shown.append(b["outlives"])
            elif "use" in b:
                shown.append("use<" + ", ".join(str(x) for x in b["use"]) + ">")
        return " + ".join(shown)

    def hrtb(self, params):
        names = [p["name"] for p in params]
        return "for<" + ", ".join(names) + "> " if names else ""

    def path(self, p):
        return p["path"] + self.args(p.get("args"))

    def args(self, args):
        if not args:
            return ""
        if "angle_bracketed" in args:
            a = args["angle_bracketed"]
            shown = []
            for arg in a["args"]:
                if "type" in arg:
                    shown.append(self.ty(arg["type"]))
                elif "lifetime" in arg:
                    shown.append(arg["lifetime"])
                elif "const" in arg:
                    shown.append(str(arg["const"].get("expr", "_")))
                else:
                    shown.append("_")
            for c in a.get("constraints", []):
                binding = c["binding"]
                if "equality" in binding:
                    shown.append(f"{c['name']} = {self.term(binding['equality'])}")
                else:
                    shown.append(f"{c['name']}: {self.bounds(binding['constraint'])}")
            return "<" + ", ".join(shown) + ">" if shown else ""
        if "parenthesized" in args:
            p = args["parenthesized"]
            out = f" -> {self.ty(p['output'])}" if p["output"] is not None else ""
            return "(" + ", ".join(self.ty(t) for t in p["inputs"]) + ")" + out
        return ""

    def term(self, t):
        if "type" in t:
            return self.ty(t["type"])
        return str(t.get("constant", {}).get("expr", "_"))

    def ty(self, t):
        if t is None:
            return "()"
        if isinstance(t, str):
            return "_" if t == "infer" else t
        (kind, v), = t.items()
        if kind == "resolved_path":
            return self.path(v)
        if kind == "primitive":
            return v
        if kind == "generic":
            return v
        if kind == "borrowed_ref":
            lt = f"{v['lifetime']} " if v["lifetime"] else ""
            return f"&{lt}{'mut ' if v['is_mutable'] else ''}{self.ty(v['type'])}"
        if kind == "raw_pointer":
            return f"*{'mut' if v['is_mutable'] else 'const'} {self.ty(v['type'])}"
        if kind == "slice":
            return f"[{self.ty(v)}]"
        if kind == "array":
            return f"[{self.ty(v['type'])}; {v['len']}]"
        if kind == "tuple":
            return "(" + ", ".join(self.ty(x) for x in v) + ("," if len(v) == 1 else "") + ")"
        if kind == "impl_trait":
            return "impl " + self.bounds(v)
        if kind == "dyn_trait":
            traits = " + ".join(
                self.hrtb(x.get("generic_params", [])) + self.path(x["trait"]) for x in v["traits"]
            )
            lt = f" + {v['lifetime']}" if v.get("lifetime") else ""
            return f"dyn {traits}{lt}"
        if kind == "qualified_path":
            trait = f" as {self.path(v['trait'])}" if v.get("trait") else ""
            return f"<{self.ty(v['self_type'])}{trait}>::{v['name']}{self.args(v.get('args'))}"
        if kind == "function_pointer":
            sig = v["sig"]
            params = ", ".join(self.ty(ty) for _, ty in sig["inputs"])
            out = f" -> {self.ty(sig['output'])}" if sig["output"] is not None else ""
            return f"fn({params}){out}"
        if kind == "pat":
            return self.ty(v["type"])
        return kind


if __name__ == "__main__":
    main()
