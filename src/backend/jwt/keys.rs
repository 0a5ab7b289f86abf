//! The keys a token may be signed with: an HMAC secret, a PEM public key, a JWKS document
//! ([`KeySet`]), and which algorithms each key family allows. `alg: none` is not an algorithm
//! here at all, and an HMAC algorithm is only ever tried with an HMAC secret, so a public key can
//! never be used as an HMAC secret.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey};

/// What kind of key, hence which algorithms it verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// A shared secret: HS256/384/512.
    Hmac,
    /// RSA: RS256/384/512 and PS256/384/512.
    Rsa,
    /// EC P-256: ES256.
    P256,
    /// EC P-384: ES384.
    P384,
    /// EC from a PEM file whose curve is not read here: ES256 or ES384 (the wrong one fails to
    /// verify).
    Ec,
    /// Ed25519: EdDSA.
    Ed25519,
}

impl Family {
    /// The algorithms this family verifies.
    pub fn algorithms(self) -> &'static [Algorithm] {
        use Algorithm::*;
        match self {
            Family::Hmac => &[HS256, HS384, HS512],
            Family::Rsa => &[RS256, RS384, RS512, PS256, PS384, PS512],
            Family::P256 => &[ES256],
            Family::P384 => &[ES384],
            Family::Ec => &[ES256, ES384],
            Family::Ed25519 => &[EdDSA],
        }
    }
}

/// One verification key.
#[derive(Clone)]
pub struct Key {
    /// The JWKS `kid`, if any.
    pub kid: Option<String>,
    /// The key's family.
    pub family: Family,
    /// The key itself.
    pub key: DecodingKey,
}

impl std::fmt::Debug for Key {
    /// Never the key material (an HMAC key is a secret).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("family", &self.family)
            .finish_non_exhaustive()
    }
}

/// The keys of one backend.
#[derive(Clone, Debug, Default)]
pub struct KeySet {
    /// Every key, in the order given.
    pub keys: Vec<Key>,
}

impl KeySet {
    /// The HMAC secret as a key.
    pub fn secret(secret: &[u8]) -> Key {
        Key {
            kid: None,
            family: Family::Hmac,
            key: DecodingKey::from_secret(secret),
        }
    }

    /// A PEM public key (RSA, EC or Ed25519; SPKI `PUBLIC KEY`, or `RSA PUBLIC KEY`).
    pub fn pem(pem: &[u8]) -> Result<Key, String> {
        let (key, family) = if let Ok(k) = DecodingKey::from_rsa_pem(pem) {
            (k, Family::Rsa)
        } else if let Ok(k) = DecodingKey::from_ec_pem(pem) {
            (k, Family::Ec)
        } else if let Ok(k) = DecodingKey::from_ed_pem(pem) {
            (k, Family::Ed25519)
        } else {
            return Err(
                "not a PEM public key (RSA, EC P-256/P-384 or Ed25519, `-----BEGIN PUBLIC KEY-----`)"
                    .into(),
            );
        };
        Ok(Key {
            kid: None,
            family,
            key,
        })
    }

    /// The signing keys of a JWKS document. Keys that cannot verify a signature here
    /// (symmetric `oct` keys, P-521, `use: enc`) are left out, each with a warning.
    pub fn jwks(text: &[u8]) -> Result<(KeySet, Vec<String>), String> {
        let set: JwkSet =
            serde_json::from_slice(text).map_err(|e| format!("not a JWKS document: {e}"))?;
        let mut keys = Vec::new();
        let mut warnings = Vec::new();
        for (i, jwk) in set.keys.iter().enumerate() {
            let kid = jwk.common.key_id.clone();
            let name = kid.clone().unwrap_or_else(|| format!("#{i}"));
            if matches!(
                jwk.common.public_key_use,
                Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
            ) {
                warnings.push(format!("key {name}: for encryption (use: enc), left out"));
                continue;
            }
            let family = match &jwk.algorithm {
                AlgorithmParameters::RSA(_) => Family::Rsa,
                AlgorithmParameters::EllipticCurve(p) => match p.curve {
                    EllipticCurve::P256 => Family::P256,
                    EllipticCurve::P384 => Family::P384,
                    _ => {
                        warnings.push(format!("key {name}: unsupported curve, left out"));
                        continue;
                    }
                },
                AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
                    Family::Ed25519
                }
                AlgorithmParameters::OctetKeyPair(_) => {
                    warnings.push(format!("key {name}: unsupported curve, left out"));
                    continue;
                }
                AlgorithmParameters::OctetKey(_) => {
                    warnings.push(format!(
                        "key {name}: a symmetric (oct) key in a key set, left out (use jwt_secret_file)"
                    ));
                    continue;
                }
            };
            match DecodingKey::from_jwk(jwk) {
                Ok(key) => keys.push(Key { kid, family, key }),
                Err(e) => warnings.push(format!("key {name}: unusable ({e}), left out")),
            }
        }
        Ok((KeySet { keys }, warnings))
    }

    /// The keys that may verify a token with this `kid` and algorithm: those with that `kid`
    /// (or, when none has it, those without a `kid`), of a family that fits `alg`.
    pub fn candidates(&self, kid: Option<&str>, alg: Algorithm) -> Vec<&Key> {
        let fits = |k: &&Key| k.family.algorithms().contains(&alg);
        if let Some(kid) = kid {
            let named: Vec<&Key> = self
                .keys
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid))
                .filter(fits)
                .collect();
            if !named.is_empty() {
                return named;
            }
            return self
                .keys
                .iter()
                .filter(|k| k.kid.is_none())
                .filter(fits)
                .collect();
        }
        self.keys.iter().filter(fits).collect()
    }

    /// Returns true if and only if some key has this `kid`.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// Every algorithm some key allows.
    pub fn algorithms(&self) -> Vec<Algorithm> {
        let mut out: Vec<Algorithm> = Vec::new();
        for k in &self.keys {
            for a in k.family.algorithms() {
                if !out.contains(a) {
                    out.push(*a);
                }
            }
        }
        out
    }
}

/// The algorithm for its JOSE name (`HS256`, ..., `EdDSA`); `none` is not one.
pub fn algorithm(name: &str) -> Option<Algorithm> {
    use Algorithm::*;
    Some(match name.to_ascii_uppercase().as_str() {
        "HS256" => HS256,
        "HS384" => HS384,
        "HS512" => HS512,
        "RS256" => RS256,
        "RS384" => RS384,
        "RS512" => RS512,
        "PS256" => PS256,
        "PS384" => PS384,
        "PS512" => PS512,
        "ES256" => ES256,
        "ES384" => ES384,
        "EDDSA" => EdDSA,
        _ => return None,
    })
}
