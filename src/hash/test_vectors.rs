//! Hash strings made by real tools (or by the commands quoted next to them), shared by the
//! tests of every file of this module.

use super::SaltEncoding;

pub(super) const AUTO: SaltEncoding = SaltEncoding::Auto;
pub(super) const B64: SaltEncoding = SaltEncoding::Base64;
pub(super) const UTF8: SaltEncoding = SaltEncoding::Utf8;

// mosquitto 1.6 `$6$` examples (Debian / mosquitto test data).
pub(super) const M6_USER01: &str = "$6$Z5MQud/y0Ume9EPH$A8bplGBWKeYFpbDS91/NNGbX80aCaKAEDr7wOhdswPYvOsaiGh446+6IF5fag7EjV8GzirudJsQOV3ubA4sh1Q==";
pub(super) const M6_USER02: &str = "$6$HSfbzGThVLJgc8jl$gCmkqg0+Q4qyVzwZCRf3Ynsjxc/MGtjHvMT6vY4CRVOLphp1my7jLLc9VZpVo1ga1TknYj3t26Pzcg+zsQpuFw==";
// Made with Debian's mosquitto_passwd 2.0.11:
//   mosquitto_passwd -c -b f alice 'correct horse'; mosquitto_passwd -b f bob 'p@ss:wörd'
//   mosquitto_passwd -b f carol x
//   mosquitto_passwd -H sha512 -b f dave dave-pass; mosquitto_passwd -H sha512 -b f erin 'ünïcode pass'
pub(super) const M7_ALICE: &str = "$7$101$grYp4HSubeoPDruP$ubHy+8iIvU+SHfznxfU0u1hqZZrMw0C18+rUVazx9kf1gtCaRAUjqzeJi549muZ4iETMPYS/NY0w/hPUr4ccaw==";
pub(super) const M7_BOB: &str = "$7$101$WuO45ti1NapUyfiH$MWgE9PUseqtZxo6nPWn5Vt7gC/wMQVbiPHil9Cca56bNv3eNbUnDp+fx85hRG5R3WXAWk0aC54P4pcImRrmeWA==";
pub(super) const M7_CAROL: &str = "$7$101$0BCwypxsYJwOcR9d$zpwgAGD1QZUfRL4si4h3GcW8QBxCqo2FDZOlgABpghCXqKGtKMPpLN6Qbwm2YU4eSge8Xt2RfF+QlayMoMzSIw==";
pub(super) const M6_DAVE: &str = "$6$RsIpQesEHB9dztPb$WbiBUpNF7DBgRFmIvNazIsRCtYLw/gFQUj0kRpVFnbxV/dBp/KWWjvxrVXgRPV6szrVRma+kPFoEL8WBUtU9Ng==";
pub(super) const M6_ERIN: &str = "$6$GJVIjWNusLj0MEG0$SnKN7c+wTr6LEmBJmZb5pNd/DQKgc4pllAJGQkjNayGZ+vgagjyB+EHICMYixmzhdt0GMBBCkhRzo6/kwYcqBA==";
// mosquitto 2.1 style (64-byte salt, 1000 iterations), python3:
//   salt=bytes((i*7+3)&255 for i in range(64))
//   hashlib.pbkdf2_hmac("sha512", b"mosquitto-2.1", salt, 1000, 64), both base64-encoded
pub(super) const M7_21: &str = "$7$1000$AwoRGB8mLTQ7QklQV15lbHN6gYiPlp2kq7K5wMfO1dzj6vH4/wYNFBsiKTA3PkVMU1phaG92fYSLkpmgp661vA==$GzDsUCcRl47G70r+jUMp5KcjjthU67KQh0jJct1vIC0HsrceLZXj44IqBlsyw2fWaLohQH7qUo6IpOdYsUpjVQ==";

// auth-plug (salt used as text), python3:
//   base64.b64encode(hashlib.pbkdf2_hmac(alg, pw, salt_text.encode(), iterations, keylen))
pub(super) const AP_SHA256: &str =
    "PBKDF2$sha256$901$sYxFqJmT0k3yTHMP$dqSoC1DDVfYoWPlyeaowmkpiesMXBW86"; // "secret"
pub(super) const AP_SHA1: &str =
    "PBKDF2$sha1$1000$QnTd9mM1j5c7u2zW$9TTGp8/9R/DZUAc0fvPu0qQR1W5g6bjY"; // "auth-plug sha1"
pub(super) const AP_SHA512: &str =
    "PBKDF2$sha512$500$Zm9vYmFyYmF6cXV4$p3CmKp8kDhtFhZRkaEuC8Qt4fePdicuaPPXh8E626L0="; // "päss"
pub(super) const AP_NOT_B64: &str =
    "PBKDF2$sha256$901$not-b64!salt$f7Hx+cj3v1yti6cl+PdOmSa/jtUGOK47"; // "text salt"

// go-auth (salt base64-decoded), python3:
//   salt=bytes(range(16)) (go-auth pass), [0xfb,0xef,0xbe,0x3e,1..=12] (hunter2), bytes(range(100,116)) (pw)
//   f"PBKDF2${alg}${it}${b64(salt)}${b64(hashlib.pbkdf2_hmac(alg, pw, salt, it, keylen))}"
pub(super) const GA_SHA512: &str =
    "PBKDF2$sha512$1000$AAECAwQFBgcICQoLDA0ODw==$3xOUkOkhXgzINgnkIGA+hYwi0gx8ibK3pvDdM16akl8="; // "go-auth pass"
pub(super) const GA_SHA256: &str =
    "PBKDF2$sha256$2000$++++PgECAwQFBgcICQoLDA==$eW2TFQdOkfMAYsYZ8a+lpYfHujaq3M6OClTDn39Qnec="; // "hunter2"
pub(super) const GA_KEY64: &str = "PBKDF2$sha512$1001$ZGVmZ2hpamtsbW5vcHFycw==$c52q9u9I807KcycgbqU1voFxd8Ixkq90LWrW419NldD8ixPp2xV6boKnahgDvEMKyY6MB7OwatzpW/WBLPD6aw=="; // "pw"

// go-auth PHC-like, python3: same derivation, salt bytes(range(200,216)) / [0xfb,0xef,0xbe]+0..13,
// base64 without '=' padding; the *_DOT variants replace '+' by '.' (passlib's adapted base64).
pub(super) const PHC: &str = "$pbkdf2-sha512$i=1000,l=64$yMnKy8zNzs/Q0dLT1NXW1w$FCYd0Wr69JBlH6mXK+W6KLx79DmTLPBLZiZlp4mPl51JGBqGLzm/np5A8PP2Sx2pZXOgYzwRBsSV0CEolS2KTw"; // "phc pass"
pub(super) const PHC_DOT: &str = "$pbkdf2-sha512$i=1000,l=64$yMnKy8zNzs/Q0dLT1NXW1w$FCYd0Wr69JBlH6mXK.W6KLx79DmTLPBLZiZlp4mPl51JGBqGLzm/np5A8PP2Sx2pZXOgYzwRBsSV0CEolS2KTw"; // "phc pass"
pub(super) const PHC_DOT2: &str =
    "$pbkdf2-sha512$i=1000,l=32$....AAECAwQFBgcICQoLDA$ruIEnPZAZ9j.62ppwilwy3rmOlVukJh5tmvztfMsi3o"; // "dot pass"
pub(super) const PHC_UTF8: &str =
    "$pbkdf2-sha512$i=1000,l=32$plainsalt$iT+UembYyiopPS8g6xbJZNLAbuH9Oa7x3ZE9cA3R2t4"; // "utf8 phc", salt b"plainsalt"

// bcrypt, python3 bcrypt 5.0.0: bcrypt.hashpw(pw, bcrypt.gensalt(cost)); $2a$/$2y$ are the
// same string with the prefix changed (python's checkpw accepts all three).
pub(super) const BC_2B: &str = "$2b$04$Pay4B0xNyk6gt0kyFmqTruGyfOQAl4emJrNlJ95c.7rRnipsO.Xum"; // "bcrypt pass"
pub(super) const BC_2A: &str = "$2a$04$Pay4B0xNyk6gt0kyFmqTruGyfOQAl4emJrNlJ95c.7rRnipsO.Xum";
pub(super) const BC_2Y: &str = "$2y$04$Pay4B0xNyk6gt0kyFmqTruGyfOQAl4emJrNlJ95c.7rRnipsO.Xum";
pub(super) const BC_BIN: &str = "$2b$05$KL9CquxJGRjXcnYUy4/MXu0COQSpZP5RZRHENUNgF8rek3AUwjhQu"; // b"\xff\xfe binary"

// Openwall crypt_blowfish test vector ("U*U"); its salt has non-zero trailing bits.
pub(super) const BC_OPENWALL: &str = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
// argon2, python3 argon2-cffi 25.1.0: argon2.low_level.hash_secret(pw, salt, time_cost=..,
// memory_cost=.., parallelism=.., hash_len=.., type=Type.ID/I/D)
pub(super) const A2ID_GOAUTH: &str = "$argon2id$v=19$m=4096,t=3,p=2$c2FsdHNhbHRzYWx0MTIzNA$amASw6WNEyiY4ZpMnhenHogVbBrjYatoMG3ELQut1dg"; // "argon pass"
pub(super) const A2ID_SMALL: &str = "$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$y5GhI6Exjd0sLYJxNlUot8LKsy6S1yfvU+LZncDuXI4"; // "small"
pub(super) const A2D: &str =
    "$argon2d$v=19$m=64,t=1,p=1$c29tZXNhbHQ$e9TgXa/MB/kiHoiWyOqaiut8VmMz5TPxWVr29ONN4u8"; // "dpass"

// Argon2 version 0x10 (v=16) and 0x13 of the same input ("old version"); without `v=` the
// reference implementation assumes 0x10. argon2-cffi: hash_secret(..., version=16 / 19)
pub(super) const A2ID_V16: &str = "$argon2id$v=16$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$A8zem82QTeOSw1fy4hUcAtHbQXQEekQS5HUoYjrMsh0";
pub(super) const A2ID_V19: &str = "$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$1fqmLmvpKi3HCuVLpURxSnrsH+KAMtePPv5uEEX+B3A";
// The example of the reference implementation's README (phc-winner-argon2):
//   echo -n "password" | ./argon2 somesalt -t 2 -m 16 -p 4 -l 24
pub(super) const A2I_REFERENCE: &str =
    "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG";

/// Every valid vector with its password (cheap ones only where a loop runs many checks).
pub(super) const VALID: &[(&str, &[u8])] = &[
    (M6_USER01, b"user01-pass"),
    (M6_ERIN, "ünïcode pass".as_bytes()),
    (M7_ALICE, b"correct horse"),
    (M7_21, b"mosquitto-2.1"),
    (AP_SHA256, b"secret"),
    (AP_SHA1, b"auth-plug sha1"),
    (GA_SHA512, b"go-auth pass"),
    (GA_SHA256, b"hunter2"),
    (PHC, b"phc pass"),
    (PHC_DOT2, b"dot pass"),
    (BC_2B, b"bcrypt pass"),
    (BC_OPENWALL, b"U*U"),
    (A2ID_SMALL, b"small"),
    (A2D, b"dpass"),
];

/// Asserts that `text` contains no salt, key or other long field of `hash`.
pub(super) fn assert_no_secret(text: &str, hash: &str) {
    const NAMES: &[&str] = &["pbkdf2-sha512", "argon2id"];
    // A work factor (`2000001`, `m=262145`) is a parameter that error messages name on purpose.
    let parameter = |f: &str| {
        let digits = f.split_once('=').map_or(f, |(_, v)| v);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    };
    for field in hash.split(['$', ',']) {
        if field.len() >= 8 && !NAMES.contains(&field) && !parameter(field) {
            assert!(!text.contains(field), "{text:?} leaks {field:?}");
        }
    }
}
