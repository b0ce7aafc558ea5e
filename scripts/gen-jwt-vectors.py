#!/usr/bin/env python3
"""RS256 JWT assertion vectors from PyJWT, for car's oauth2_jwt_bearer tests.

    python3 -m venv /tmp/botoenv && /tmp/botoenv/bin/pip install PyJWT cryptography
    openssl genrsa -traditional -out key.pem 2048     # a throw-away test key
    /tmp/botoenv/bin/python scripts/gen-jwt-vectors.py key.pem > Tests/CarEngineTests/Fixtures/signing/jwt.json

RS256 (RSASSA-PKCS1-v1_5) is deterministic: for the same key, header and claims, PyJWT and car
must produce the same token, byte for byte. PyJWT also decodes each token (signature, audience).
"""
import json
import sys

import jwt
from cryptography.hazmat.primitives import serialization

pem = open(sys.argv[1]).read()
key = serialization.load_pem_private_key(pem.encode(), password=None)
pkcs8 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

NOW = 1793527200  # 2026-11-01T10:00:00Z
CASES = [
    {"name": "service account with a scope", "iss": "car-test@project-1.iam.gserviceaccount.com",
     "scope": "https://www.googleapis.com/auth/cloud-platform", "aud": "https://oauth2.googleapis.com/token"},
    {"name": "with a subject and two scopes", "iss": "car-test@project-1.iam.gserviceaccount.com", "sub": "admin@example.com",
     "scope": "https://www.googleapis.com/auth/cloud-platform https://www.googleapis.com/auth/logging.read", "aud": "https://oauth2.googleapis.com/token"},
    {"name": "no scope, another audience", "iss": "svc@proj.iam.gserviceaccount.com", "aud": "https://example.test/token"},
]

vectors = []
for c in CASES:
    claims = {"iss": c["iss"]}
    if "sub" in c:
        claims["sub"] = c["sub"]
    if "scope" in c:
        claims["scope"] = c["scope"]
    claims["aud"] = c["aud"]
    claims["iat"] = NOW
    claims["exp"] = NOW + 3600
    token = jwt.encode(claims, pem, algorithm="RS256", headers={"typ": "JWT"})
    decoded = jwt.decode(token, public, algorithms=["RS256"], audience=c["aud"], options={"verify_exp": False})
    assert decoded == claims
    vectors.append({**c, "now": NOW, "token": token})

print(json.dumps({"generator": f"PyJWT {jwt.__version__} (scripts/gen-jwt-vectors.py); a throw-away test key",
                  "private_key_pkcs1": pem, "private_key_pkcs8": pkcs8, "public_key": public, "vectors": vectors}, indent=2))
