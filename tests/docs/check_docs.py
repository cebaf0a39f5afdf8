#!/usr/bin/env python3
"""Checks on the documentation that the code can keep honest.

1. Every ```json fenced block in docs/*.md and README.md parses with
   json.loads. (A block that is deliberately not JSON must not be fenced as
   json.)
2. The IAM policies of the two instance roles in docs/operator-guide.md name
   every AWS action the daemon calls in that role, and no RDS/SQS/SNS/STS
   action it never calls. The list is derived from the C sources, not
   written down here:
     - each service file (src/rds.c, src/sqs.c, src/sns.c, src/sts.c,
       src/cloudwatch.c) is
       split into functions; a function's actions are the first argument of
       its ob_aws_params_init() calls (a string literal, or a field of a
       const table such as rds.c's per-kind `names[]`, resolved to every
       value the table holds for that field) and its JSON-protocol targets
       ("AmazonSQS.ReceiveMessage"); the service prefix is the one the file
       passes to ob_aws_query()/ob_aws_json();
     - a call graph over every function of src/*.c (a reference to a
       function's name, called or passed as a pointer, is an edge) gives
       what `main` in src/main.c reaches; the source role is what it reaches
       without entering src/target.c, the vault role without src/source.c;
     - API actions become IAM actions as `<prefix>:<Action>` (CloudWatch's
       endpoint prefix "monitoring" is IAM's "cloudwatch"), except SQS's
       *Batch calls, which IAM authorises as the single action
       (DeleteMessageBatch -> sqs:DeleteMessage);
     - actions a call needs besides its own (IAM "dependent actions") are
       added where the request builds them: a Copy that sends Tags.Tag.N
       needs rds:AddTagsToResource, one that sends KmsKeyId needs
       kms:CreateGrant and kms:DescribeKey on the key.
   A self-check removes each required action from a copy of each policy (and
   adds one the daemon never calls) and expects the check to fail.
3. The EventBridge patterns in the guide accept exactly the detail-types,
   EventIDs, states and resource types src/event.c acts on.

Policy and pattern blocks are found by a marker comment right before them:
<!-- policy: source-instance-role -->, <!-- policy: vault-instance-role -->,
<!-- pattern: rds-snapshot-events -->, <!-- pattern: backup-job-events -->.

usage: check_docs.py [--root DIR] [-v]
Prints failures, the derived action lists, and "docs: N passed, M failed";
exits 1 when anything failed.
"""
import argparse
import copy
import fnmatch
import glob
import json
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GUIDE = "docs/operator-guide.md"
ROLES = {
    # marker name: (role, file whose functions the role never runs)
    "source-instance-role": ("source", "src/target.c"),
    "vault-instance-role": ("vault", "src/source.c"),
}
# Services whose actions must be exactly what the code calls (no extras, no
# wildcards). KMS is used only through RDS, so its actions are checked for
# presence only.
STRICT_SERVICES = ("rds", "sqs", "sns", "sts", "cloudwatch")


class Results:
    def __init__(self, verbose):
        self.passed = 0
        self.failed = 0
        self.verbose = verbose

    def ok(self, name):
        self.passed += 1
        if self.verbose:
            print("ok   %s" % name)

    def fail(self, name, why):
        self.failed += 1
        print("FAIL %s: %s" % (name, why))

    def check(self, name, problems):
        if problems:
            self.fail(name, "; ".join(problems))
        else:
            self.ok(name)


# ---- Markdown ----------------------------------------------------------------

FENCE_OPEN = re.compile(r"^(\s*)```\s*([A-Za-z0-9_+-]*)\s*$")
FENCE_CLOSE = re.compile(r"^\s*```\s*$")
MARKER = re.compile(r"<!--\s*(policy|pattern)\s*:\s*([A-Za-z0-9_-]+)\s*-->")


def fenced_blocks(text):
    """[(lang, first line number, body, marker or None)] of every fenced
    block; marker is the (kind, name) of a marker comment between the
    previous block and this one."""
    blocks = []
    lines = text.split("\n")
    i = 0
    pending = None
    while i < len(lines):
        m = MARKER.search(lines[i])
        if m:
            pending = (m.group(1), m.group(2))
        o = FENCE_OPEN.match(lines[i])
        if o is None:
            i += 1
            continue
        lang, start = o.group(2).lower(), i + 1
        body = []
        i += 1
        while i < len(lines) and not FENCE_CLOSE.match(lines[i]):
            body.append(lines[i])
            i += 1
        blocks.append((lang, start, "\n".join(body), pending))
        pending = None
        i += 1
    return blocks


def doc_files(root):
    files = sorted(glob.glob(os.path.join(root, "docs", "*.md")))
    readme = os.path.join(root, "README.md")
    if os.path.exists(readme):
        files.append(readme)
    return files


# ---- C sources ---------------------------------------------------------------

def strip_comments(src):
    """The source with comments blanked (newlines kept), strings intact."""
    out = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            out.append(src[i:j + 1])
            i = j + 1
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def blank_strings(src):
    """Strings and character constants blanked (same length, so offsets
    stay valid), so identifiers and braces can be scanned without matching
    what is inside them."""
    return re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'',
                  lambda m: m.group(0)[0] + " " * (len(m.group(0)) - 2) + m.group(0)[-1], src)


def functions(src):
    """{name: (is_static, body)} of the function definitions in src
    (comments already stripped). A definition is a top-level `{` whose
    previous non-blank character is `)`."""
    code = blank_strings(src)
    defs = {}
    depth = 0
    last_top = 0        # end of the previous top-level declaration
    i = 0
    while i < len(code):
        c = code[i]
        if c == "{":
            if depth == 0:
                k = i - 1
                while k >= 0 and code[k].isspace():
                    k -= 1
                if k >= 0 and code[k] == ")":
                    # matching "(" of the parameter list
                    level, p = 0, k
                    while p >= 0:
                        if code[p] == ")":
                            level += 1
                        elif code[p] == "(":
                            level -= 1
                            if level == 0:
                                break
                        p -= 1
                    m = re.search(r"([A-Za-z_]\w*)\s*$", code[:p])
                    end = matching_brace(code, i)
                    if m:
                        header = code[last_top:m.start()]
                        defs[m.group(1)] = ("static" in header.split(), src[i + 1:end])
                    i = end + 1
                    last_top = i
                    continue
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == ";" and depth == 0:
            last_top = i + 1
        i += 1
    return defs


def matching_brace(code, i):
    depth = 0
    for j in range(i, len(code)):
        if code[j] == "{":
            depth += 1
        elif code[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    raise ValueError("unbalanced braces")


def string_tables(src):
    """{field: set of string values} from the designated initialisers
    (`.field = "Value"`) of the file's const tables."""
    fields = {}
    for m in re.finditer(r"\.\s*([A-Za-z_]\w*)\s*=\s*\"([^\"]*)\"", src):
        fields.setdefault(m.group(1), set()).add(m.group(2))
    return fields


PARAMS_INIT = re.compile(r"\bob_aws_params_init\s*\(\s*[^,]+,\s*([^,]+?)\s*,")
JSON_TARGET = re.compile(r"\"(?:Amazon|AWS)[A-Za-z0-9]*\.([A-Z][A-Za-z0-9]*)\"")
SERVICE = re.compile(r"\bob_aws_(?:query|json)\s*\(\s*[^,]+,\s*\"([a-z0-9-]+)\"")


# Endpoint prefixes (what ob_aws_query() is given) whose IAM prefix differs.
IAM_PREFIX = {"monitoring": "cloudwatch"}


def iam_action(service, api):
    if service == "sqs" and api.endswith("Batch"):
        api = api[:-len("Batch")]
    return "%s:%s" % (IAM_PREFIX.get(service, service), api)


class Code:
    """The call graph and the AWS actions of the daemon's sources."""

    def __init__(self, root):
        self.root = root
        self.defs = {}        # (file, name) -> (static, body)
        self.by_name = {}     # name -> [file] of non-static definitions
        self.actions = {}     # (file, name) -> set of IAM actions, own calls only
        self.problems = []
        self.service_files = {}
        for path in sorted(glob.glob(os.path.join(root, "src", "*.c"))):
            rel = os.path.relpath(path, root)
            with open(path, encoding="utf-8") as f:
                src = strip_comments(f.read())
            services = set(SERVICE.findall(src))
            tables = string_tables(src)
            for name, (static, body) in functions(src).items():
                self.defs[(rel, name)] = (static, body)
                if not static:
                    self.by_name.setdefault(name, []).append(rel)
                acts = self.own_actions(rel, name, body, services, tables)
                if acts:
                    self.actions[(rel, name)] = acts
                    self.service_files.setdefault(rel, set()).update(acts)

    def own_actions(self, rel, name, body, services, tables):
        apis = []
        for expr in PARAMS_INIT.findall(body):
            lit = re.fullmatch(r"\"([A-Za-z0-9]+)\"", expr)
            field = re.fullmatch(r"(?:[A-Za-z_]\w*\s*->\s*|[A-Za-z_]\w*\s*\[[^\]]*\]\s*\.\s*)"
                                 r"([A-Za-z_]\w*)", expr)
            if lit:
                apis.append(lit.group(1))
            elif field and field.group(1) in tables:
                apis.extend(sorted(tables[field.group(1)]))
            else:
                self.problems.append("%s:%s(): cannot resolve the action %r passed to "
                                     "ob_aws_params_init" % (rel, name, expr))
        apis.extend(JSON_TARGET.findall(body))
        if not apis:
            return set()
        if len(services) != 1:
            self.problems.append("%s: expected one service name in ob_aws_query/ob_aws_json "
                                 "calls, found %s" % (rel, sorted(services) or "none"))
            return set()
        service = next(iter(services))
        acts = {iam_action(service, a) for a in apis}
        # Dependent actions the request itself asks for.
        if any(a.startswith("rds:Copy") for a in acts):
            if "Tags.Tag" in body:
                acts.add("rds:AddTagsToResource")
            if "\"KmsKeyId\"" in body:
                acts.update({"kms:CreateGrant", "kms:DescribeKey"})
        return acts

    def resolve(self, rel, ident):
        if (rel, ident) in self.defs:
            return [(rel, ident)]
        return [(f, ident) for f in self.by_name.get(ident, [])]

    def reachable(self, start, exclude):
        seen = set()
        todo = [start]
        while todo:
            fn = todo.pop()
            if fn in seen or fn[0] == exclude or fn not in self.defs:
                continue
            seen.add(fn)
            body = blank_strings(self.defs[fn][1])
            for ident in set(re.findall(r"\b[A-Za-z_]\w*\b", body)):
                todo.extend(self.resolve(fn[0], ident))
        return seen

    def role_actions(self, exclude):
        acts = set()
        for fn in self.reachable(("src/main.c", "main"), exclude):
            acts |= self.actions.get(fn, set())
        return acts


# ---- policies ----------------------------------------------------------------

def as_list(v):
    if v is None:
        return []
    return [v] if isinstance(v, str) else list(v)


def statements_of(policy):
    """The policy's statements as a list (IAM also allows a single object)."""
    st = policy.get("Statement") if isinstance(policy, dict) else None
    return [st] if isinstance(st, dict) else list(st or [])


def allowed_actions(policy):
    acts = []
    for st in statements_of(policy):
        if isinstance(st, dict) and st.get("Effect") == "Allow":
            acts.extend(as_list(st.get("Action")))
    return acts


def covers(pattern, action):
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def policy_problems(policy, required):
    """What is wrong with policy for a role that calls `required`."""
    problems = []
    acts = allowed_actions(policy)
    for a in sorted(required):
        if not any(covers(p, a) for p in acts):
            problems.append("does not allow %s" % a)
    for p in acts:
        service = p.split(":", 1)[0].lower()
        if service not in STRICT_SERVICES:
            continue
        if any(ch in p for ch in "*?"):
            problems.append("%s: a wildcard grants more than the daemon calls" % p)
        elif not any(p.lower() == a.lower() for a in required):
            problems.append("%s: the daemon never calls it in this role" % p)
    return problems


def without_action(policy, action):
    """A copy of policy with every Action entry covering action removed
    (statements left empty are dropped)."""
    out = copy.deepcopy(policy)
    kept = []
    for st in statements_of(out):
        if st.get("Effect") == "Allow":
            left = [p for p in as_list(st.get("Action")) if not covers(p, action)]
            if not left:
                continue
            st["Action"] = left if isinstance(st.get("Action"), list) else left[0]
        kept.append(st)
    out["Statement"] = kept
    return out


# ---- EventBridge patterns ----------------------------------------------------

def event_c_facts(root):
    with open(os.path.join(root, "src", "event.c"), encoding="utf-8") as f:
        src = strip_comments(f.read())
    defines = dict(re.findall(r"#define\s+([A-Z_]+)\s+\"([^\"]*)\"", src))

    def array(name):
        m = re.search(r"\b%s\s*\[\s*\]\s*=\s*\{([^}]*)\}" % name, src)
        return set(re.findall(r"\"([^\"]+)\"", m.group(1))) if m else set()

    return {
        "rds_types": {v for k, v in defines.items() if k.startswith("RDS_") and "Event" in v},
        "backup_types": {v for k, v in defines.items() if k.startswith("BACKUP")},
        "event_ids": array("instance_events") | array("cluster_events"),
        "states": set(re.findall(r"strcmp\(\s*state\s*,\s*\"([^\"]+)\"", src)),
        "resource_types": set(re.findall(r"strcmp\(\s*type\s*,\s*\"([^\"]+)\"", src)),
        "sources": set(re.findall(r"\"(aws\.[a-z]+)\"", src)),
    }


def pattern_problems(name, pat, facts):
    problems = []

    def same(what, got, want):
        got = set(as_list(got))
        if not want:
            problems.append("could not derive %s from src/event.c" % what)
        elif got != want:
            problems.append("%s is %s, src/event.c acts on %s" % (what, sorted(got), sorted(want)))

    detail = pat.get("detail", {}) if isinstance(pat, dict) else {}
    if name == "rds-snapshot-events":
        same("source", pat.get("source"), {s for s in facts["sources"] if s == "aws.rds"})
        same("detail-type", pat.get("detail-type"), facts["rds_types"])
        same("detail.EventID", detail.get("EventID"), facts["event_ids"])
    elif name == "backup-job-events":
        same("source", pat.get("source"), {s for s in facts["sources"] if s == "aws.backup"})
        same("detail-type", pat.get("detail-type"), facts["backup_types"])
        same("detail.state", detail.get("state"), facts["states"])
        same("detail.resourceType", detail.get("resourceType"), facts["resource_types"])
    else:
        problems.append("unknown pattern marker")
    return problems


# ---- main --------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=ROOT)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    res = Results(args.verbose)

    # 1. JSON blocks
    marked = {}
    for path in doc_files(root):
        rel = os.path.relpath(path, root)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for lang, line, body, marker in fenced_blocks(text):
            if marker is not None and rel == GUIDE:
                if lang != "json":
                    res.fail("%s:%d" % (rel, line), "marker %s:%s is not followed by a "
                             "```json block" % marker)
                    continue
                if marker in marked:
                    res.fail("%s:%d" % (rel, line), "marker %s:%s used twice" % marker)
                    continue
                marked[marker] = (line, body)
            if lang != "json":
                continue
            try:
                json.loads(body)
                res.ok("%s:%d parses" % (rel, line))
            except ValueError as e:
                res.fail("%s:%d" % (rel, line), "not JSON: %s" % e)

    # 2. actions derived from the code
    code = Code(root)
    res.check("action derivation", code.problems)
    for f in ("src/rds.c", "src/sqs.c", "src/sns.c", "src/sts.c", "src/cloudwatch.c"):
        res.check("%s yields actions" % f,
                  [] if code.service_files.get(f) else ["no AWS action found in %s" % f])
    derived = {}
    for marker, (role, exclude) in sorted(ROLES.items()):
        derived[marker] = code.role_actions(exclude)
        print("%s role calls (%d): %s" % (role, len(derived[marker]),
                                          " ".join(sorted(derived[marker]))))
    called = set().union(*derived.values())
    unused = sorted(set().union(*code.service_files.values()) - called)
    if unused:
        print("defined in src/ but not called by the daemon: %s" % " ".join(unused))

    for marker, (role, _) in sorted(ROLES.items()):
        name = "policy %s" % marker
        if ("policy", marker) not in marked:
            res.fail(name, "no <!-- policy: %s --> block in %s" % (marker, GUIDE))
            continue
        line, body = marked[("policy", marker)]
        try:
            policy = json.loads(body)
        except ValueError:
            res.fail(name, "%s:%d does not parse" % (GUIDE, line))
            continue
        required = derived[marker]
        res.check(name, ["%s:%d %s" % (GUIDE, line, p) for p in policy_problems(policy, required)])
        # Self-check: the check must notice each missing action and an extra one.
        missed = [a for a in sorted(required)
                  if not any(("does not allow %s" % a) == p
                             for p in policy_problems(without_action(policy, a), required))]
        extra = copy.deepcopy(policy)
        extra["Statement"] = statements_of(extra)
        extra["Statement"].append({"Effect": "Allow", "Action": "rds:DeleteDBInstance",
                                   "Resource": "*"})
        problems = []
        if not required:
            problems.append("nothing derived to check against")
        if missed:
            problems.append("removing %s went unnoticed" % ", ".join(missed))
        if not policy_problems(extra, required):
            problems.append("an extra rds:DeleteDBInstance went unnoticed")
        res.check("self-check %s" % marker, problems)

    # 3. EventBridge patterns
    facts = event_c_facts(root)
    for name in ("rds-snapshot-events", "backup-job-events"):
        if ("pattern", name) not in marked:
            res.fail("pattern %s" % name, "no <!-- pattern: %s --> block in %s" % (name, GUIDE))
            continue
        line, body = marked[("pattern", name)]
        try:
            pat = json.loads(body)
        except ValueError:
            res.fail("pattern %s" % name, "%s:%d does not parse" % (GUIDE, line))
            continue
        res.check("pattern %s" % name,
                  ["%s:%d %s" % (GUIDE, line, p) for p in pattern_problems(name, pat, facts)])

    print("docs: %d passed, %d failed" % (res.passed, res.failed))
    return 1 if res.failed else 0


if __name__ == "__main__":
    sys.exit(main())
