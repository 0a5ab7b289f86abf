//! What a check may cost: the hard ceilings enforced at parse time, the "usual" costs above
//! which the password file warns, and the decoy hash that makes an unknown user cost what a
//! known one does.
//!
//! Every check of a password runs on the broker's thread on Mosquitto 2.0 (and for fast hashes
//! on 2.1): while it runs, no other client is served. A wrong password costs exactly as much as
//! a right one, and anyone who knows a username can send wrong passwords, so the cost of a
//! user's hash is the price of one attack attempt paid by the broker. Figures on the project's
//! two-core machine (release build, one check): `$7$` 101 iterations 56 us, go-auth's
//! `PBKDF2$sha512$100000` 53 ms, bcrypt cost 10 61 ms (doubling per cost step), argon2id
//! m=4 MiB, t=3 4.5 ms (about 0.37 ms per MiB and pass).
//!
//! | scheme | usual (no warning) up to | refused above |
//! |---|---|---|
//! | PBKDF2 (`$7$`, `PBKDF2$`, `$pbkdf2-sha512$`), iterations × key blocks | [`USUAL_PBKDF2_WORK`] 100,000 (~53 ms) | [`MAX_PBKDF2_ITERATIONS`] 2,000,000 (~1.1 s) |
//! | bcrypt cost | [`USUAL_BCRYPT_COST`] 12 (~0.25 s) | [`MAX_BCRYPT_COST`] 16 (~4 s) |
//! | argon2 memory | [`USUAL_ARGON2_MEMORY_KIB`] 64 MiB | [`MAX_ARGON2_MEMORY_KIB`] 256 MiB |
//! | argon2 memory × passes | [`USUAL_ARGON2_WORK`] 192 MiB (~70 ms) | [`MAX_ARGON2_WORK`] 1 GiB (~0.4 s) |
//!
//! The defaults of every tool that writes these formats stay quiet: `mosquitto_passwd` 2.0
//! (`$7$`, 101 iterations) and 2.1 (`$7$` 1,000 iterations, argon2id m=46 MiB, t=1), `$6$`
//! (no work factor), auth-plug's `np` (901), go-auth (100,000 iterations, bcrypt 10, argon2id
//! m=4 MiB, t=3), htpasswd `-B` (bcrypt 5) and the argon2 recommendations of RFC 9106 (64 MiB,
//! t=3) and OWASP (19 MiB, t=2; 46 MiB, t=1).

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use super::{Inner, PasswordHash};

/// Largest accepted PBKDF2 work: iterations times 64-byte (SHA-512) / 32-byte / 20-byte output
/// blocks, checked at parse time. 2,000,000 is 20 times go-auth's default and about 1.1 s of
/// broker time with SHA-512 here: far above anything a tool writes, and low enough that a file
/// cannot stall the broker for long per login attempt.
pub const MAX_PBKDF2_ITERATIONS: u32 = 2_000_000;
/// PBKDF2 work (iterations × key blocks) above which the file warns: go-auth's default, about
/// 53 ms with SHA-512 here (OWASP's 2023 figures, 210,000 for SHA-512 and 600,000 for SHA-256,
/// warn: they are meant for servers that check a login now and then, not for a broker's
/// thread).
pub const USUAL_PBKDF2_WORK: u64 = 100_000;
/// Largest accepted bcrypt cost: 2^16 rounds, about 4 s per check here. Costs 17 to 31 exist in
/// no tool's defaults and would let one wrong password stall the broker for seconds to hours.
pub const MAX_BCRYPT_COST: u32 = 16;
/// bcrypt cost above which the file warns: 12 (about 0.25 s here) is the highest default of the
/// common libraries; 10 (go-auth, most libraries) costs 61 ms.
pub const USUAL_BCRYPT_COST: u32 = 12;
/// Largest accepted Argon2 memory cost in KiB (256 MiB). Each check allocates it, and on
/// Mosquitto 2.1 several checks run at once on the worker threads.
pub const MAX_ARGON2_MEMORY_KIB: u32 = 256 * 1024;
/// Argon2 memory cost in KiB above which the file warns (64 MiB, RFC 9106's second
/// recommended option; mosquitto 2.1 writes 46 MiB, go-auth 4 MiB).
pub const USUAL_ARGON2_MEMORY_KIB: u32 = 64 * 1024;
/// Largest accepted Argon2 time cost (passes over memory); with the smallest memory cost it
/// still stays under [`MAX_ARGON2_WORK`] for `mosq-auth hash`'s 4 MiB.
pub const MAX_ARGON2_TIME_COST: u32 = 256;
/// Largest accepted Argon2 work, memory (KiB) times passes: 1 GiB, about 0.4 s here.
pub const MAX_ARGON2_WORK: u64 = 1024 * 1024;
/// Argon2 work (KiB × passes) above which the file warns: RFC 9106's 64 MiB × 3, about 70 ms.
pub const USUAL_ARGON2_WORK: u64 = 192 * 1024;

/// The parameters that make two hashes cost the same to check (same scheme, work factor, salt
/// count and key length), without anything secret: no salt, no key. Hashable, for counting
/// which cost is the most common in a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CostClass {
    scheme: &'static str,
    work: [u64; 4],
}

impl PasswordHash {
    /// What makes this hash cost what it costs to check ([`CostClass`]).
    pub fn cost_class(&self) -> CostClass {
        let work = match &self.inner {
            Inner::Sha512Salted { salt, .. } => [salt.len() as u64, 0, 0, 0],
            Inner::Pbkdf2 {
                prf,
                iterations,
                salts,
                key,
                ..
            } => [
                u64::from(*iterations),
                salts.len() as u64,
                key.len() as u64,
                prf.output_len() as u64,
            ],
            Inner::Bcrypt { cost, .. } => [u64::from(*cost), 0, 0, 0],
            Inner::Argon2 { params, hash, .. } => [
                u64::from(params.m_cost()),
                u64::from(params.t_cost()),
                u64::from(params.p_cost()),
                hash.len() as u64,
            ],
        };
        CostClass {
            scheme: self.scheme(),
            work,
        }
    }

    /// `Some(why)` if and only if checking this hash costs more than the usual costs of this
    /// module ([`USUAL_BCRYPT_COST`], [`USUAL_PBKDF2_WORK`], [`USUAL_ARGON2_MEMORY_KIB`],
    /// [`USUAL_ARGON2_WORK`]); `why` names the parameter, its value and the usual limit, and
    /// nothing else of the hash.
    pub fn above_usual_cost(&self) -> Option<String> {
        match &self.inner {
            Inner::Sha512Salted { .. } => None,
            Inner::Pbkdf2 {
                prf,
                iterations,
                key,
                ..
            } => {
                let blocks = key.len().div_ceil(prf.output_len()) as u64;
                let work = u64::from(*iterations) * blocks;
                (work > USUAL_PBKDF2_WORK).then(|| {
                    if blocks == 1 {
                        format!("PBKDF2 iterations {iterations} > {USUAL_PBKDF2_WORK}")
                    } else {
                        format!(
                            "PBKDF2 iterations {iterations} x {blocks} key blocks > {USUAL_PBKDF2_WORK}"
                        )
                    }
                })
            }
            Inner::Bcrypt { cost, .. } => (*cost > USUAL_BCRYPT_COST)
                .then(|| format!("bcrypt cost {cost} > {USUAL_BCRYPT_COST}")),
            Inner::Argon2 { params, .. } => {
                let (m, t) = (params.m_cost(), params.t_cost());
                if m > USUAL_ARGON2_MEMORY_KIB {
                    Some(format!(
                        "argon2 memory m={m} KiB > {USUAL_ARGON2_MEMORY_KIB} KiB"
                    ))
                } else if u64::from(m) * u64::from(t) > USUAL_ARGON2_WORK {
                    Some(format!(
                        "argon2 memory x passes m={m} KiB x t={t} > {USUAL_ARGON2_WORK} KiB"
                    ))
                } else {
                    None
                }
            }
        }
    }

    /// A hash with this one's scheme and parameters ([`CostClass`]) but a fresh random salt and
    /// key: checking a password against it costs what checking against `self` costs, and it is
    /// no user's hash (nothing of `self`'s salt or key is kept). Whether a password matches it
    /// means nothing (a random 16- to 256-byte key); callers ignore the answer.
    pub fn decoy(&self) -> PasswordHash {
        fn fill(buf: &mut [u8]) {
            // Without randomness the buffer stays zero: still no user's hash, and still the
            // same cost; only the result, which nobody reads, becomes predictable.
            let _ = getrandom::getrandom(buf);
        }
        let mut inner = self.inner.clone();
        match &mut inner {
            Inner::Sha512Salted { salt, digest } => {
                fill(salt);
                fill(digest);
            }
            Inner::Pbkdf2 { salts, key, .. } => {
                for salt in salts.iter_mut() {
                    fill(salt);
                }
                fill(key);
            }
            Inner::Bcrypt { salt, hash, .. } => {
                fill(salt);
                fill(hash);
            }
            Inner::Argon2 { salt, hash, .. } => {
                fill(salt);
                fill(hash);
            }
        }
        PasswordHash { inner }
    }
}

/// Picks the hash whose [`CostClass`] is the most common among `hashes` (ties: the class seen
/// first), for building a decoy ([`PasswordHash::decoy`]) that costs what a typical user of the
/// file costs. `None` when there are no hashes.
pub fn most_common_cost<'a>(
    hashes: impl IntoIterator<Item = &'a PasswordHash>,
) -> Option<&'a PasswordHash> {
    // class -> (count, first index, representative)
    let mut classes: HashMap<CostClass, (usize, usize, &'a PasswordHash)> = HashMap::new();
    for (i, h) in hashes.into_iter().enumerate() {
        match classes.entry(h.cost_class()) {
            Entry::Occupied(mut e) => e.get_mut().0 += 1,
            Entry::Vacant(e) => {
                e.insert((1, i, h));
            }
        }
    }
    classes
        .into_values()
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
        .map(|(_, _, h)| h)
}

#[cfg(test)]
mod tests {
    use super::super::test_vectors::*;
    use super::super::*;
    use super::*;

    #[test]
    fn the_defaults_of_every_tool_cost_the_usual() {
        for s in [
            M6_USER01,
            M7_ALICE,
            M7_21,
            AP_SHA256,
            AP_SHA1,
            GA_SHA512,
            PHC,
            BC_2B,
            A2ID_GOAUTH,
        ] {
            let h = PasswordHash::parse(s, AUTO).unwrap();
            assert_eq!(h.above_usual_cost(), None, "{}", h.scheme());
        }
        for (scheme, work) in [
            (Scheme::Mosquitto7, None),
            (Scheme::Mosquitto7, Some(1_000)),
            (Scheme::Mosquitto6, None),
            (Scheme::Pbkdf2AuthPlug, None),
            (Scheme::Pbkdf2GoAuth, Some(1_000)),
            (Scheme::Argon2id, None),
        ] {
            let s = hash_password_with(scheme, b"pw", work).unwrap();
            let h = PasswordHash::parse(&s, AUTO).unwrap();
            assert_eq!(h.above_usual_cost(), None, "{scheme:?} {work:?}");
        }
        // go-auth's default iteration count, and mosquitto 2.1's argon2id (m=46 MiB, t=1),
        // by their parameters (not computed: both cost tens of ms in a debug build).
        let ga = GA_SHA512.replacen("$1000$", "$100000$", 1);
        assert!(ga.contains("$100000$"), "{ga}");
        let h = PasswordHash::parse(&ga, AUTO).unwrap();
        assert_eq!(h.above_usual_cost(), None);
        let m21 = A2ID_GOAUTH.replacen("m=4096,t=3,p=2", "m=47104,t=1,p=1", 1);
        assert!(m21.contains("m=47104"), "{m21}");
        let h = PasswordHash::parse(&m21, AUTO).unwrap();
        assert_eq!(h.above_usual_cost(), None);
        // RFC 9106's second option: 64 MiB, t=3, exactly at the usual limits.
        let rfc = A2ID_GOAUTH.replacen("m=4096,t=3,p=2", "m=65536,t=3,p=4", 1);
        let h = PasswordHash::parse(&rfc, AUTO).unwrap();
        assert_eq!(h.above_usual_cost(), None);
    }

    #[test]
    fn costs_above_the_usual_name_the_parameter_and_the_limit() {
        let bc = BC_2B.replacen("$04$", "$13$", 1);
        let h = PasswordHash::parse(&bc, AUTO).unwrap();
        assert_eq!(h.above_usual_cost().unwrap(), "bcrypt cost 13 > 12");
        let m7 = M7_ALICE.replacen("$101$", "$100001$", 1);
        let h = PasswordHash::parse(&m7, AUTO).unwrap();
        assert_eq!(
            h.above_usual_cost().unwrap(),
            "PBKDF2 iterations 100001 > 100000"
        );
        let a2 = A2ID_GOAUTH.replacen("m=4096,t=3,p=2", "m=131072,t=1,p=1", 1);
        let h = PasswordHash::parse(&a2, AUTO).unwrap();
        assert_eq!(
            h.above_usual_cost().unwrap(),
            "argon2 memory m=131072 KiB > 65536 KiB"
        );
        let a2 = A2ID_GOAUTH.replacen("m=4096,t=3,p=2", "m=65536,t=4,p=1", 1);
        let h = PasswordHash::parse(&a2, AUTO).unwrap();
        assert_eq!(
            h.above_usual_cost().unwrap(),
            "argon2 memory x passes m=65536 KiB x t=4 > 196608 KiB"
        );
    }

    #[test]
    fn hard_ceilings_refuse_the_hash_naming_the_parameter_and_the_limit() {
        for (hash, msg) in [
            (
                BC_2B.replacen("$04$", "$17$", 1),
                "bcrypt cost 17 is above the limit of 16",
            ),
            (
                M7_ALICE.replacen("$101$", "$2000001$", 1),
                "PBKDF2 iteration count 2000001 is above the limit of 2000000",
            ),
            (
                A2ID_GOAUTH.replacen("m=4096,t=3,p=2", "m=262145,t=1,p=1", 1),
                "argon2 memory cost m=262145 KiB is above the limit of 262144 KiB (256 MiB)",
            ),
            (
                A2ID_GOAUTH.replacen("m=4096,t=3,p=2", "m=262144,t=5,p=1", 1),
                "argon2 memory x passes (m=262144 KiB x t=5) is above the limit of 1048576 KiB (1 GiB)",
            ),
            (
                A2ID_GOAUTH.replacen("m=4096,t=3,p=2", "m=4096,t=257,p=1", 1),
                "argon2 time cost t=257 is above the limit of 256",
            ),
        ] {
            let err = PasswordHash::parse(&hash, AUTO).unwrap_err();
            assert_eq!(err.0, msg);
        }
        // At the ceilings: accepted.
        for hash in [
            BC_2B.replacen("$04$", "$16$", 1),
            M7_ALICE.replacen("$101$", "$2000000$", 1),
            A2ID_GOAUTH.replacen("m=4096,t=3,p=2", "m=262144,t=4,p=1", 1),
        ] {
            PasswordHash::parse(&hash, AUTO).unwrap();
        }
    }

    #[test]
    fn a_decoy_has_the_same_cost_class_and_nothing_of_the_hash() {
        for (s, pw) in VALID {
            let h = PasswordHash::parse(s, AUTO).unwrap();
            let d = h.decoy();
            assert_eq!(d.cost_class(), h.cost_class(), "{}", h.scheme());
            assert!(
                !d.verify(pw),
                "{}: the decoy accepts the user's password",
                h.scheme()
            );
            let (a, b) = (secret_bytes(&h), secret_bytes(&d));
            assert_eq!(a.len(), b.len());
            assert_ne!(a, b, "{}: salt and key kept", h.scheme());
        }
    }

    fn secret_bytes(h: &PasswordHash) -> Vec<u8> {
        match &h.inner {
            Inner::Sha512Salted { salt, digest } => [salt.as_slice(), digest].concat(),
            Inner::Pbkdf2 { salts, key, .. } => [salts.concat(), key.to_vec()].concat(),
            Inner::Bcrypt { salt, hash, .. } => [salt.as_slice(), hash].concat(),
            Inner::Argon2 { salt, hash, .. } => [salt.as_slice(), hash].concat(),
        }
    }

    #[test]
    fn the_most_common_cost_wins_and_ties_go_to_the_first_seen() {
        let parse = |s: &str| PasswordHash::parse(s, AUTO).unwrap();
        // Same scheme and work factor, different salts and keys: one class.
        assert_eq!(parse(M7_ALICE).cost_class(), parse(M7_BOB).cost_class());
        assert_ne!(parse(M7_ALICE).cost_class(), parse(M7_21).cost_class());
        let two_m7 = [parse(BC_2B), parse(M7_ALICE), parse(M7_BOB)];
        assert_eq!(
            most_common_cost(&two_m7).unwrap().scheme(),
            "pbkdf2-sha512-$7$"
        );
        let three_bcrypt = [parse(M7_ALICE), parse(BC_2B), parse(BC_2B), parse(BC_2B)];
        assert_eq!(most_common_cost(&three_bcrypt).unwrap().scheme(), "bcrypt");
        let tie = [parse(BC_2B), parse(M6_USER01)];
        assert_eq!(most_common_cost(&tie).unwrap().scheme(), "bcrypt");
        let tie = [parse(M6_USER01), parse(BC_2B)];
        assert_eq!(most_common_cost(&tie).unwrap().scheme(), "sha512-$6$");
        assert!(most_common_cost(&[]).is_none());
    }
}
