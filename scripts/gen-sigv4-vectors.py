#!/usr/bin/env python3
"""Signature Version 4 vectors from botocore's own signer, for car's SigV4 tests.

    python3 -m venv /tmp/botoenv && /tmp/botoenv/bin/pip install botocore
    /tmp/botoenv/bin/python scripts/gen-sigv4-vectors.py > Tests/CarEngineTests/Fixtures/signing/sigv4.json

Each vector is a request as car sends it (method, the URL as on the wire, headers, body) and
what botocore's SigV4Auth adds to it at a fixed time: X-Amz-Date, X-Amz-Security-Token when
there is a session token, and Authorization; and the canonical request botocore signed.
"""
import datetime
import json
import sys
from unittest import mock

import botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

KEY = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+example+token/Zm9v=="
WHEN = datetime.datetime(2026, 11, 1, 10, 0, 0, tzinfo=datetime.timezone.utc)

CASES = [
    {"name": "get with query", "service": "ec2", "region": "us-east-1", "method": "GET",
     "url": "https://ec2.us-east-1.amazonaws.com/?Action=DescribeInstances&Version=2016-11-15&MaxResults=5&Filter.1.Name=instance-state-name&Filter.1.Value.1=running",
     "headers": {"Accept": "application/xml"}, "body": ""},
    {"name": "post form (query protocol)", "service": "rds", "region": "eu-west-1", "method": "POST",
     "url": "https://rds.eu-west-1.amazonaws.com/",
     "headers": {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "Accept": "application/xml"},
     "body": "Action=DescribeDBInstances&Version=2014-10-31&MaxRecords=100&Marker=abc%2Fdef"},
    {"name": "post json 1.1", "service": "cloudtrail", "region": "us-west-2", "method": "POST",
     "url": "https://cloudtrail.us-west-2.amazonaws.com/",
     "headers": {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents", "Accept": "application/json"},
     "body": "{\"MaxResults\":50,\"StartTime\":1793520000}"},
    {"name": "non-ascii path", "service": "securityhub", "region": "us-east-1", "method": "GET",
     "url": "https://securityhub.us-east-1.amazonaws.com/findings/ar%C3%A7hive%20n%C3%BAmero%201?MaxResults=10&NextToken=a%2Bb%3D%3D",
     "headers": {"Accept": "application/json"}, "body": ""},
    {"name": "session token", "service": "ecs", "region": "ap-southeast-2", "method": "POST", "token": True,
     "url": "https://ecs.ap-southeast-2.amazonaws.com/",
     "headers": {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListClusters", "Accept": "application/json"},
     "body": "{}"},
    {"name": "repeated and unsorted query, a port", "service": "elasticbeanstalk", "region": "us-east-1", "method": "GET",
     "url": "https://elasticbeanstalk.us-east-1.amazonaws.com:8443/?Version=2010-12-01&Action=DescribeEnvironments&EnvironmentNames.member.2=b&EnvironmentNames.member.1=a%20b",
     "headers": {"Accept": "application/xml", "X-Custom": "  spaced   value  "}, "body": ""},
]


def sign(case):
    request = AWSRequest(method=case["method"], url=case["url"], data=case["body"].encode(), headers=dict(case["headers"]))
    credentials = Credentials(KEY, SECRET, TOKEN if case.get("token") else None)
    auth = SigV4Auth(credentials, case["service"], case["region"])
    canonical = {}
    original = SigV4Auth.canonical_request

    def capture(self, r):
        canonical["text"] = original(self, r)
        return canonical["text"]

    with mock.patch("botocore.auth.get_current_datetime", return_value=WHEN.replace(tzinfo=None)), \
            mock.patch.object(SigV4Auth, "canonical_request", capture):
        auth.add_auth(request)
    added = {k: v for k, v in request.headers.items() if k not in case["headers"]}
    return {**case, "token": TOKEN if case.get("token") else None, "added": added, "canonical_request": canonical["text"]}


print(json.dumps({
    "generator": f"botocore {botocore.__version__} SigV4Auth (scripts/gen-sigv4-vectors.py)",
    "access_key_id": KEY, "secret_access_key": SECRET, "time": WHEN.strftime("%Y-%m-%dT%H:%M:%SZ"),
    "vectors": [sign(c) for c in CASES],
}, indent=2, ensure_ascii=False))
