#!/usr/bin/env python3
"""Time botocore's SigV4Auth on the request bench_sigv4.c signs.

Prints "bench botocore_sign_us <mean> us" (best of three runs of about a
second each) and the signature of the fixed request on stderr, so run.sh can
check that both signers agree byte for byte.
"""
import datetime
import sys
import time

import botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

# Kept identical to bench_sigv4.c.
BODY = (
    "Action=CopyDBSnapshot&Version=2014-10-31"
    "&SourceDBSnapshotIdentifier=arn%3Aaws%3Ards%3Aeu-central-1%3A111111111111%3A"
    "snapshot%3Aawsbackup%3Ajob-4f2d8c1e-9b7a-4e3d-a1c5-2f6b8d9e0a17"
    "&TargetDBSnapshotIdentifier=ob-orders-db-job-4f2d8c1e9b7a"
    "&KmsKeyId=arn%3Aaws%3Akms%3Aeu-central-1%3A111111111111%3Akey%2F"
    "7d1e5c2a-3b4f-4a6e-9c8d-0e1f2a3b4c5d&CopyTags=true"
).encode()
HOST = "rds.eu-central-1.amazonaws.com"
CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
AKID = "ASIAQEXAMPLE7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN_LEN = 1024
WHEN = datetime.datetime(2026, 11, 22, 5, 3, 11)


def make_token():
    b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    x, out = 12345, []
    for _ in range(TOKEN_LEN):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out.append(b64[(x >> 16) % 64])
    return "".join(out)


def main():
    # A fixed clock, as the C signer gets: the signatures must match.
    botocore.auth.get_current_datetime = lambda remove_tzinfo=True: WHEN
    creds = Credentials(AKID, SECRET, make_token())
    auth = SigV4Auth(creds, "rds", "eu-central-1")
    req = AWSRequest(method="POST", url="https://%s/" % HOST, data=BODY,
                     headers={"Content-Type": CONTENT_TYPE})

    auth.add_auth(req)
    authz = req.headers["Authorization"]
    sig = authz.rsplit("Signature=", 1)[1]
    print("bench-botocore: body %d bytes, token %d bytes, signature %s"
          % (len(BODY), TOKEN_LEN, sig), file=sys.stderr)

    def run(n):
        t0 = time.perf_counter()
        for _ in range(n):
            # add_auth drops the previous Authorization/X-Amz-Date itself,
            # as on a retry.
            auth.add_auth(req)
        return (time.perf_counter() - t0) * 1e6 / n

    per = run(2000)
    iters = max(2000, int(1e6 / per))
    best = min(run(iters) for _ in range(3))
    print("bench botocore_sign_us %.3f us" % best)


if __name__ == "__main__":
    main()
