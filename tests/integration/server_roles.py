"""Named admin tokens, roles and the audit log against the real server:
the role matrix route by route for every role, the audit log's exact
entries for a sequence of actions by two tokens, the token CLI, hashes only
on disk, and the failed-login back-off."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import ofharness  # noqa: E402
from ofharness import Suite, check, main_with_server  # noqa: E402

suite = Suite("server_roles")
ROLES = ["viewer", "operator", "admin"]
RANK = {r: i for i, r in enumerate(ROLES)}
FW = "ROLES_FW"


class Ctx:
    pass


def as_token(c, token, method, path, body=None, raw=None):
    saved = c.srv.token
    c.srv.token = token
    try:
        return c.srv.admin(method, path, body=body, raw=raw)
    finally:
        c.srv.token = saved


def add_token(c, name, role):
    st, obj, raw = c.srv.admin("POST", "/admin/v1/tokens", {"name": name, "role": role})
    check(st == 201 and obj and len(obj.get("token", "")) == 64,
          "POST /admin/v1/tokens %s/%s: expected 201 with a 64-digit token, got %s %r" % (name, role, st, raw))
    return obj["token"]


def setup(srv):
    c = Ctx()
    c.srv = srv
    c.key = srv.add_project("roles")
    c.tokens = {r: add_token(c, "t-" + r, r) for r in ROLES}
    return c


# Every admin route, with the least role the documented matrix gives it.
# Targets that do not exist keep destructive routes harmless: the role is
# checked before the route looks anything up.
def matrix(c):
    k = c.key
    return [
        ("GET", "/admin/v1/status", None, None, "viewer"),
        ("GET", "/admin/v1/projects", None, None, "viewer"),
        ("GET", "/admin/v1/projects/%s" % k, None, None, "viewer"),
        ("GET", "/admin/v1/projects/%s/firmware" % k, None, None, "viewer"),
        ("GET", "/admin/v1/packages", None, None, "viewer"),
        ("GET", "/admin/v1/packages/999999", None, None, "viewer"),
        ("GET", "/admin/v1/packages/999999/deltas", None, None, "viewer"),
        ("GET", "/admin/v1/devices", None, None, "viewer"),
        ("GET", "/admin/v1/devices/861234567890123", None, None, "viewer"),
        ("GET", "/admin/v1/files", None, None, "viewer"),
        ("GET", "/admin/v1/push", None, None, "viewer"),
        ("GET", "/admin/v1/push/999999", None, None, "viewer"),
        ("GET", "/admin/v1/push/rate", None, None, "viewer"),
        ("GET", "/admin/v1/rollouts", None, None, "viewer"),
        ("GET", "/admin/v1/rollouts/999999", None, None, "viewer"),
        ("GET", "/admin/v1/rollouts/999999/devices", None, None, "viewer"),
        ("GET", "/admin/v1/audit", None, None, "viewer"),
        ("HEAD", "/admin/v1/status", None, None, "viewer"),
        ("POST", "/admin/v1/projects/%s/firmware" % k, {"name": FW}, None, "operator"),
        ("DELETE", "/admin/v1/projects/%s/firmware/NO_SUCH_FW" % k, None, None, "operator"),
        ("POST", "/admin/v1/projects/%s/packages?firmware=%s&version=1.1.1" % (k, FW), None, b"x" * 64,
         "operator"),
        ("POST", "/admin/v1/projects/%s/devices" % k, {"devices": ["861234567890123"]}, None, "operator"),
        ("DELETE", "/admin/v1/packages/999999", None, None, "operator"),
        ("POST", "/admin/v1/devices/861234567890123/forbid", None, None, "operator"),
        ("POST", "/admin/v1/devices/861234567890123/allow", None, None, "operator"),
        ("POST", "/admin/v1/devices/861234567890123/unban", None, None, "operator"),
        ("POST", "/admin/v1/devices/861234567890123/move", {"project": k}, None, "operator"),
        ("POST", "/admin/v1/devices/861234567890123/unbind", None, None, "operator"),
        ("PUT", "/admin/v1/files/roles.txt", None, b"hello", "operator"),
        ("DELETE", "/admin/v1/files/no-such-file", None, None, "operator"),
        ("POST", "/admin/v1/push", {"devices": []}, None, "operator"),
        ("PUT", "/admin/v1/push/rate", {"rate": 50}, None, "operator"),
        ("POST", "/admin/v1/rollouts", {}, None, "operator"),
        ("POST", "/admin/v1/rollouts/999999/pause", None, None, "operator"),
        ("POST", "/admin/v1/rollouts/999999/cancel", None, None, "operator"),
        ("POST", "/admin/v1/projects", {"name": ""}, None, "admin"),
        ("PATCH", "/admin/v1/projects/%s" % k, {"listed_only": "maybe"}, None, "admin"),
        ("DELETE", "/admin/v1/projects/NO_SUCH_KEY", None, None, "admin"),
        ("GET", "/admin/v1/tokens", None, None, "admin"),
        ("POST", "/admin/v1/tokens", {"name": "", "role": "viewer"}, None, "admin"),
        ("DELETE", "/admin/v1/tokens/no-such-token", None, None, "admin"),
    ]


@suite.case
def role_matrix(c):
    bad = []
    for method, path, body, raw, least in matrix(c):
        for role in ROLES:
            st, obj, payload = as_token(c, c.tokens[role], method, path, body=body, raw=raw)
            if RANK[role] < RANK[least]:
                if st != 403 or (method != "HEAD" and (obj or {}).get("role_needed") != least):
                    bad.append("%s %s as %s: expected 403 naming role %s, got %s %r"
                               % (method, path, role, least, st, payload[:200]))
            elif st in (401, 403):
                bad.append("%s %s as %s: expected to pass the gate, got %s %r"
                           % (method, path, role, st, payload[:200]))
    check(not bad, "%d of %d route x role cells wrong:\n  %s"
          % (len(bad), 3 * len(matrix(c)), "\n  ".join(bad)))


@suite.case
def acceptance_names(c):
    st, _, raw = as_token(c, c.tokens["viewer"], "GET", "/admin/v1/projects")
    check(st == 200, "viewer GET /admin/v1/projects: expected 200, got %s %r" % (st, raw))
    st, obj, raw = as_token(c, c.tokens["viewer"], "POST", "/admin/v1/projects", body={"name": "x"})
    check(st == 403 and (obj or {}).get("role_needed") == "admin" and "admin role" in obj.get("error", ""),
          "viewer POST /admin/v1/projects: expected 403 naming the admin role, got %s %r" % (st, raw))


@suite.case
def audit_sequence(c):
    alice = add_token(c, "alice", "admin")
    bob = add_token(c, "bob", "operator")
    st, top, _ = c.srv.admin("GET", "/admin/v1/audit?limit=1")
    last = top["entries"][0]["id"] if top["entries"] else 0
    steps = [
        (alice, "alice", "POST", "/admin/v1/projects", {"name": "audited"}, None, 201),
        (bob, "bob", "PUT", "/admin/v1/files/audit.txt", None, b"abc", 201),
        (bob, "bob", "GET", "/admin/v1/files", None, None, None),  # reads are not audited
        (bob, "bob", "POST", "/admin/v1/projects", {"name": "nope"}, None, 403),
        (bob, "bob", "DELETE", "/admin/v1/files/audit.txt", None, None, 204),
        (alice, "alice", "DELETE", "/admin/v1/tokens/bob", None, None, 204),
        (bob, "-", "DELETE", "/admin/v1/files/x", None, None, 401),  # bob's token is revoked
    ]
    expect = []
    for tok, name, method, path, body, raw, status in steps:
        st, obj, payload = as_token(c, tok, method, path, body=body, raw=raw)
        if status is None:
            continue
        check(st == status, "%s %s by %s: expected %s, got %s %r" % (method, path, name, status, st, payload))
        expect.append((name, method, path, status))
    st, obj, raw = as_token(c, alice, "GET", "/admin/v1/audit?limit=50")
    check(st == 200, "GET /admin/v1/audit: %s %r" % (st, raw))
    got = [(e["token"], e["method"], e["route"], e["status"]) for e in obj["entries"] if e["id"] > last]
    got.reverse()
    check(got == expect, "audit entries after the sequence:\n  got      %r\n  expected %r" % (got, expect))
    for e in obj["entries"]:
        check(e["addr"] == "127.0.0.1" and e["time"] > 0, "audit entry without address or time: %r" % e)
    proj = [e for e in obj["entries"] if e["id"] > last and e["route"] == "/admin/v1/projects" and e["status"] == 201]
    check(proj and proj[0]["target"] == "audited", "the project creation's target: %r" % proj)
    r = c.srv.cli("audit", "--limit", "3")
    check(r.returncode == 0 and "alice" in r.stdout and "/admin/v1/tokens/bob" in r.stdout,
          "openfota audit: rc %s\n%s%s" % (r.returncode, r.stdout, r.stderr))


@suite.case
def token_cli_and_hashes(c):
    r = c.srv.cli("token", "add", "ci-reader", "--role", "viewer")
    check(r.returncode == 0, "token add: rc %s %s" % (r.returncode, r.stderr))
    tok = r.stdout.strip().splitlines()[-1]
    check(len(tok) == 64 and all(ch in "0123456789abcdef" for ch in tok),
          "token add: the last line is not the token alone: %r" % r.stdout)
    st, _, _ = as_token(c, tok, "GET", "/admin/v1/devices")
    check(st == 200, "the new viewer token reads devices: %s" % st)
    r = c.srv.cli("token", "list")
    check(r.returncode == 0 and "ci-reader" in r.stdout and "viewer" in r.stdout and tok not in r.stdout,
          "token list: %r" % r.stdout)
    r = c.srv.cli("token", "add", "ci-reader", "--role", "viewer")
    check(r.returncode == 1 and "exists" in r.stderr, "token add of a taken name: rc %s %r" % (r.returncode, r.stderr))
    r = c.srv.cli("token", "add", "x", "--role", "root")
    check(r.returncode == 2 and "viewer, operator or admin" in r.stderr, "token add --role root: %r" % r.stderr)
    # only hashes on disk
    blob = b""
    for fn in os.listdir(c.srv.data):
        if fn.startswith("openfota.db"):
            with open(os.path.join(c.srv.data, fn), "rb") as f:
                blob += f.read()
    if c.srv.db:  # PostgreSQL backend: what its tables hold
        for t in ("admin_tokens", "audit", "meta"):
            blob += ofharness.pg_psql(c.srv.db, "SELECT * FROM %s" % t).encode()
    check(blob and tok.encode() not in blob and c.tokens["admin"].encode() not in blob,
          "a token's text is in the database files")
    r = c.srv.cli("token", "revoke", "ci-reader")
    check(r.returncode == 0, "token revoke: %s %s" % (r.returncode, r.stderr))
    st, _, _ = as_token(c, tok, "GET", "/admin/v1/devices")
    check(st == 401, "a revoked token still works: %s" % st)


@suite.case
def last_admin_kept(c):
    st, obj, raw = c.srv.admin("GET", "/admin/v1/tokens")
    admins = [t["name"] for t in obj["tokens"] if t["role"] == "admin" and t["name"] != "initial"]
    for name in admins:
        st, _, raw = c.srv.admin("DELETE", "/admin/v1/tokens/%s" % name)
        check(st == 204, "revoke admin %s: %s %r" % (name, st, raw))
    st, obj, raw = c.srv.admin("DELETE", "/admin/v1/tokens/initial")
    check(st == 409 and "last admin" in obj.get("error", ""), "revoking the last admin token: %s %r" % (st, raw))


@suite.case
def login_backoff(c):
    statuses = [as_token(c, "f" * 64, "GET", "/admin/v1/status")[0] for _ in range(6)]
    check(statuses[:5] == [401] * 5, "five wrong tokens: expected 401 each, got %r" % statuses)
    check(statuses[5] == 429, "the sixth wrong token in a row: expected 429, got %r" % statuses)
    st, _, _ = as_token(c, "f" * 64, "GET", "/admin/v1/status")
    check(st == 429, "a wrong token right after: expected 429 again, got %s" % st)
    st, _, _ = c.srv.admin("GET", "/admin/v1/status")
    check(st == 200, "a good token during the back-off: expected 200, got %s" % st)
    st, _, _ = as_token(c, "f" * 64, "GET", "/admin/v1/status")
    check(st == 401, "a wrong token after a good login (the count starts again): expected 401, got %s" % st)


if __name__ == "__main__":
    sys.exit(main_with_server(suite, setup=setup))
