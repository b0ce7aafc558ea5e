#!/usr/bin/env python3
"""Writes the JWE fixtures of JWESecretsTests with jwcrypto (the library IBM's
car-connector-framework decrypts CP4S secret files with).

Usage: pip install jwcrypto && python3 scripts/gen-jwe-fixtures.py

Writes Tests/CarEngineTests/Fixtures/jwe/:
  manifest.json   the keys (JWK JSON) and one token per (alg, enc) pair with its plaintext
  secrets/        a secrets directory laid out as CP4S mounts it: one JWE file per variable
                  and the key at secrets/.jwk/key.jwk
Keys, content keys and IVs are random, so every run gives other tokens; the output is
committed and the tests do not need Python. The layout and order of the output are stable.
"""
import json
import os
import sys
import zlib

from jwcrypto import jwe, jwk
from jwcrypto.common import base64url_encode

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "CarEngineTests", "Fixtures", "jwe")

# The bytes of a direct key per content encryption (RFC 7518 §5).
ENC_KEY_BYTES = {
    "A128GCM": 16, "A192GCM": 24, "A256GCM": 32,
    "A128CBC-HS256": 32, "A192CBC-HS384": 48, "A256CBC-HS512": 64,
}
ENCS = list(ENC_KEY_BYTES)


def oct_key(size):
    return jwk.JWK.generate(kty="oct", size=size * 8)


keys = {
    "rsa": jwk.JWK.generate(kty="RSA", size=2048),
    "rsa-other": jwk.JWK.generate(kty="RSA", size=2048),
    "oct-128": oct_key(16),
    "oct-192": oct_key(24),
    "oct-256": oct_key(32),
    "ec-p256": jwk.JWK.generate(kty="EC", crv="P-256"),
    "ec-p384": jwk.JWK.generate(kty="EC", crv="P-384"),
    "ec-p521": jwk.JWK.generate(kty="EC", crv="P-521"),
}
for enc, size in ENC_KEY_BYTES.items():
    keys["dir-" + enc] = oct_key(size)

# (alg, enc, key name, extra protected header members)
cases = []
# Every key management algorithm with A256GCM.
for alg, key in [("RSA-OAEP", "rsa"), ("RSA-OAEP-256", "rsa"), ("A128KW", "oct-128"), ("A192KW", "oct-192"),
                 ("A256KW", "oct-256"), ("dir", "dir-A256GCM"), ("ECDH-ES", "ec-p256"),
                 ("ECDH-ES+A128KW", "ec-p256"), ("ECDH-ES+A256KW", "ec-p256")]:
    cases.append((alg, "A256GCM", key, {}))
# Every content encryption with RSA-OAEP-256 and with dir.
for enc in ENCS:
    if enc != "A256GCM":
        cases.append(("RSA-OAEP-256", enc, "rsa", {}))
for enc in ENCS:
    if enc != "A256GCM":
        cases.append(("dir", enc, "dir-" + enc, {}))
# More pairs: the CBC-HMAC modes under key wrapping and ECDH-ES, other curves, apu/apv, zip.
cases += [
    ("RSA-OAEP", "A128CBC-HS256", "rsa", {}),
    ("A128KW", "A128CBC-HS256", "oct-128", {}),
    ("A192KW", "A192CBC-HS384", "oct-192", {}),
    ("A256KW", "A256CBC-HS512", "oct-256", {}),
    ("ECDH-ES", "A128GCM", "ec-p256", {}),
    ("ECDH-ES", "A256CBC-HS512", "ec-p256", {}),
    ("ECDH-ES+A256KW", "A256CBC-HS512", "ec-p256", {}),
    ("ECDH-ES+A128KW", "A128GCM", "ec-p256",
     {"apu": base64url_encode(b"car-engine"), "apv": base64url_encode("cp4s-clé".encode())}),
    ("ECDH-ES", "A256GCM", "ec-p384", {}),
    ("ECDH-ES+A256KW", "A128CBC-HS256", "ec-p521", {}),
    ("ECDH-ES+A192KW", "A192GCM", "ec-p256", {}),
    ("A128GCMKW", "A128CBC-HS256", "oct-128", {}),
    ("A192GCMKW", "A192GCM", "oct-192", {}),
    ("A256GCMKW", "A256GCM", "oct-256", {}),
    ("RSA-OAEP-256", "A256GCM", "rsa", {"zip": "DEF"}),
]


def encrypt(plaintext, alg, enc, key, extra):
    header = {"alg": alg, "enc": enc}
    header.update(extra)
    token = jwe.JWE(plaintext.encode("utf-8"), protected=json.dumps(header, sort_keys=True))
    token.add_recipient(keys[key])
    return token.serialize(compact=True)


def check(token, key, plaintext):
    parsed = jwe.JWE()
    parsed.deserialize(token, key=keys[key])
    assert parsed.payload.decode("utf-8") == plaintext


tokens = []
for alg, enc, key, extra in cases:
    suffix = "".join("+" + k for k in sorted(extra))
    name = f"{alg}/{enc} with {key}" + (f" ({', '.join(sorted(extra))})" if extra else "")
    plaintext = f"pässwörd-{alg}-{enc}{suffix}"
    if "zip" in extra:
        # Long and varied enough for zlib to choose dynamic Huffman codes (block type 2).
        plaintext += " " + " ".join(f"wört-{i} größe-{i * i % 97}" for i in range(120))
        compressor = zlib.compressobj(wbits=-15)
        assert (compressor.compress(plaintext.encode()) + compressor.flush())[0] >> 1 & 3 == 2
    token = encrypt(plaintext, alg, enc, key, extra)
    check(token, key, plaintext)
    tokens.append({"name": name, "alg": alg, "enc": enc, "key": key, "token": token, "plaintext": plaintext})

manifest = {
    "generator": "scripts/gen-jwe-fixtures.py (jwcrypto)",
    "keys": {name: json.loads(k.export(private_key=True)) for name, k in keys.items()},
    "tokens": tokens,
}

os.makedirs(os.path.join(OUT, "secrets", ".jwk"), exist_ok=True)
with open(os.path.join(OUT, "manifest.json"), "w", encoding="utf-8") as f:
    json.dump(manifest, f, indent=1, sort_keys=True, ensure_ascii=False)
    f.write("\n")

# The secrets directory as CP4S mounts it: RSA-OAEP-256 with A256GCM, the key in .jwk/key.jwk.
# The values are the ones the test datasource and CAR simulator expect.
secrets = {"CONFIGURATION_AUTH_PASSWORD": "admin", "CAR_SERVICE_PASSWORD": "cär-pässwörd"}
for var, value in secrets.items():
    token = encrypt(value, "RSA-OAEP-256", "A256GCM", "rsa", {})
    check(token, "rsa", value)
    with open(os.path.join(OUT, "secrets", var), "w", encoding="utf-8") as f:
        f.write(token + "\n")
with open(os.path.join(OUT, "secrets", ".jwk", "key.jwk"), "w", encoding="utf-8") as f:
    f.write(keys["rsa"].export(private_key=True))
with open(os.path.join(OUT, "secrets-values.json"), "w", encoding="utf-8") as f:
    json.dump(secrets, f, indent=1, sort_keys=True, ensure_ascii=False)
    f.write("\n")

print(f"wrote {len(tokens)} tokens and {len(secrets)} secret files to {os.path.relpath(OUT, ROOT)}", file=sys.stderr)
