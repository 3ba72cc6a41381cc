#!/usr/bin/env python3
"""Verifies a Tandem history (SPEC §8, docs/audit.md) with nothing but Python 3.

Usage: python3 scripts/verify-history.py history.ndjson   (the NDJSON of GET /v1/history)

Checks that seqs run 1, 2, 3…, that each prev_hash is the hash before it, and recomputes every hash
(over the entry without `hash` and without `values`, the personal values beside it); checks that each
value beside an entry opens a commitment the entry holds (SHA-256 of the salt's bytes and the value's
RFC 8785 bytes); when the `cryptography` module is there, checks every signature by the rules of
Protocol/Audit/ChainVerifier.swift. Prints "ok: N entries, head HASH" (exit 0) or "seq N: problem" (exit 65).
"""
import base64, hashlib, json, sys

def number(x):  # ECMAScript's Number::toString, which RFC 8785 prescribes. Python's repr has the same
    if x <= 0:  # shortest digits but its own layout (1e-07, 1e+16, 100.0): take them, lay them out again.
        return "0" if x == 0 else "-" + number(-x)
    mantissa, _, exponent = repr(x).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    n = len(whole) + int(exponent or 0) - len(whole + fraction) + len(digits)  # x = 0.DIGITS × 10^n
    digits = digits.rstrip("0")
    k = len(digits)
    if k <= n <= 21: return digits + "0" * (n - k)
    if 0 < n <= 21: return digits[:n] + "." + digits[n:]
    if -6 < n <= 0: return "0." + "0" * -n + digits
    return digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if n > 0 else "-") + str(abs(n - 1))

def canonical(v):  # RFC 8785. json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False) is close,
    if isinstance(v, dict):  # but sorts keys by code points where RFC 8785 sorts by UTF-16 code units
        keys = sorted(v, key=lambda k: k.encode("utf-16-be"))  # (U+1F600 before U+FB33), and prints floats
        return "{" + ",".join(canonical(k) + ":" + canonical(v[k]) for k in keys) + "}"  # Python's way.
    if isinstance(v, list): return "[" + ",".join(map(canonical, v)) + "]"
    if v is None or isinstance(v, (bool, str)): return json.dumps(v, ensure_ascii=False)  # escapes as RFC 8785
    if isinstance(v, int) and abs(v) <= 2**53: return str(v)
    if float(v) - float(v) != 0: raise ValueError("not a finite number")  # NaN, Infinity, 1e400
    return number(float(v))  # every JSON number is a double: 9007199254740993 is 9007199254740992

def unique(pairs):  # duplicate members are refused, as by Tandem's parser
    if len({k for k, _ in pairs}) < len(pairs): raise ValueError("duplicate member")
    return dict(pairs)

try:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    def valid(signature, data, key):
        try:
            sig, raw = base64.b64decode(signature, validate=True), base64.b64decode(key, validate=True)
            Ed25519PublicKey.from_public_bytes(raw).verify(sig, data)
            return base64.b64encode(sig).decode() == signature and base64.b64encode(raw).decode() == key
        except Exception:
            return False
except ImportError:
    valid = None

def signature_problem(e, seq, keys):  # ChainVerifier's rules; keys: device -> (organisation, public key)
    c, o, a = e["change"], e["outcome"], e["author"]
    table, device, record, fields = c["table"], c["device"], c["record_id"], c.get("fields") or {}
    rejected = o.get("status") == "rejected"  # a rejected change changed nothing and registers no key
    for_signature, registration = rejected and o.get("reason") == "signature", table == "_device" and not rejected
    if a.get("device") != device: return "the author's device is not the change's device"
    if seq == 1 and not (registration and record == "server"): return "entry 1 does not register the server's key"
    if not isinstance(c.get("signature"), str):
        return None if for_signature and seq > 1 else "the change has no signature"
    if registration:
        if device != "server" or not isinstance(fields.get("public_key"), str):
            return "a device registration not made by the server"
        if record in keys: return f"device {record} is registered a second time (only entry 1 registers server)"
        org = fields.get("organisation")
        keys[record] = (org if isinstance(org, str) else None, fields["public_key"])
    if device != "server" and (device not in keys or keys[device][0] != a.get("organisation")):
        return None if for_signature else f"device {device} is not registered for {a.get('organisation')}"
    signed = canonical({k: v for k, v in c.items() if k != "signature"}).encode()
    if for_signature or valid(c["signature"], signed, keys[device][1]): return None
    return f"the signature does not verify with device {device}'s key"

def commitments(v):  # every {"commitment": HEX} inside a value
    if isinstance(v, dict):
        if len(v) == 1 and isinstance(v.get("commitment"), str): return [v["commitment"]]
        return [c for x in v.values() for c in commitments(x)]
    if isinstance(v, list): return [c for x in v for c in commitments(x)]
    return []

def opening_problem(e):  # the values beside an entry (SPEC §8): each must open a commitment it holds
    held = set(commitments(e["change"]) + commitments(e["outcome"]))
    for commitment, opening in sorted(e.get("values", {}).items()):
        salt = bytes.fromhex(opening["salt"])
        if len(salt) != 16 or hashlib.sha256(salt + canonical(opening["value"]).encode("utf-8")).hexdigest() != commitment:
            return f"the value beside commitment {commitment[:12]}… does not match it (altered)"
        if commitment not in held:
            return f"a value beside the entry opens commitment {commitment[:12]}…, which the entry does not hold"
    return None

def verify(path):
    keys, head, seq = {}, "0" * 64, 0
    with open(path, "rb") as file:
        lines = [line for line in file.read().split(b"\n") if line.strip()]
    for seq, line in enumerate(lines, start=1):
        try:
            e = json.loads(line.decode("utf-8"), object_pairs_hook=unique)
            if e["seq"] != seq or type(e["seq"]) is not int: return f"seq {seq}: entry {e['seq']} is not entry {seq}"
            if e["prev_hash"] != head: return f"seq {seq}: prev_hash is not the hash of entry {seq - 1}"
            unhashed = canonical({k: v for k, v in e.items() if k not in ("hash", "values")}).encode("utf-8")
            if hashlib.sha256(bytes.fromhex(head) + unhashed).hexdigest() != e["hash"]:
                return f"seq {seq}: the hash does not match the entry's contents (altered)"
            problem = opening_problem(e)
            if problem: return f"seq {seq}: {problem}"
            problem = valid and signature_problem(e, seq, keys)
            if problem: return f"seq {seq}: {problem}"
            head = e["hash"]
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as error:
            return f"seq {seq}: the entry is malformed ({error!r})"
    print(f"ok: {seq} entries, head {head}" + ("" if valid else " (hashes only: no cryptography module)"))

if __name__ == "__main__":
    if len(sys.argv) != 2: sys.exit(__doc__)
    failure = verify(sys.argv[1])
    if failure:
        print(failure, file=sys.stderr)
        sys.exit(65)
