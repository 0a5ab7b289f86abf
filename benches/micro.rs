/*!
Micro-benchmarks of the plugin's hot paths, without a broker.

- group `topic`: [`mosq_auth::acl::topic::matches`] and [`covers`](mosq_auth::acl::topic::covers).
- group `acl_file`: [`AclFile::check`] against a generated 10,000-user file (one rule per user,
  plus two `pattern` rules), next to the same check against a 10-user file; a client's rules
  compiled once ([`AclFile::for_client`], what CONNECT does) and checks decided from them.
- group `cache`: a [`Link`] around a backend that always allows (the warm ACL hit path),
  and the broker's ACL callback end to end (`ffi::shim::acl_check`) with the files backend
  (a logged-in client, and one without a session), and with the HTTP backend (asking
  `/superuser` and `/acl` of the load harness's service) and a warm cache.
- group `hash`: [`PasswordHash::verify`] of a correct password for every supported format.

`cargo bench --bench micro` measures; `cargo test --all-targets` runs each once (criterion's
test mode).
*/

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

use mosq_auth::acl::file::AclFile;
use mosq_auth::acl::topic;
use mosq_auth::backend::Backend;
use mosq_auth::cache::CacheSettings;
use mosq_auth::hash::{hash_password_with, PasswordHash, SaltEncoding, Scheme};
use mosq_auth::link::Link;
use mosq_auth::log::{Level, Logger};
use mosq_auth::options::Options;
use mosq_auth::plugin::Plugin;

/// One ACL check exactly as the broker's callback makes it (decode, chain, return code).
fn acl_check(plugin: &Plugin, user: Option<&[u8]>, client: &[u8], topic: &[u8]) -> i32 {
    mosq_auth::ffi::shim::acl_check(plugin, 1, user, Some(client), Some(topic), 1, 0, false)
}
use mosq_auth::request::{Access, AclRequest, Answer, AuthRequest, Verdict};

/// The load harness's HTTP auth service (keep-alive, answers at once).
#[allow(dead_code)]
#[path = "load/http.rs"]
mod http_service;

/// An ACL file with `users` users, one grant each, and two patterns.
fn acl_text(users: usize) -> String {
    let mut s = String::with_capacity(users * 48);
    s.push_str("topic read public/#\n");
    for i in 0..users {
        s.push_str(&format!("user u{i}\ntopic readwrite bench/u{i}/#\n"));
    }
    s.push_str("pattern read clients/%c/#\npattern readwrite users/%u/#\n");
    s
}

fn bench_topic(c: &mut Criterion) {
    let mut g = c.benchmark_group("topic");
    let cases = [
        (
            "literal",
            "sensors/building1/floor2/temp",
            "sensors/building1/floor2/temp",
        ),
        (
            "plus",
            "sensors/+/floor2/+",
            "sensors/building1/floor2/temp",
        ),
        ("hash", "sensors/#", "sensors/building1/floor2/temp"),
        (
            "miss",
            "sensors/+/floor3/#",
            "sensors/building1/floor2/temp",
        ),
    ];
    for (name, filter, t) in cases {
        g.bench_function(format!("matches_{name}"), |b| {
            b.iter(|| topic::matches(black_box(filter), black_box(t)))
        });
    }
    g.bench_function("covers_hash_over_plus", |b| {
        b.iter(|| topic::covers(black_box("sensors/#"), black_box("sensors/+/floor2/#")))
    });
    g.bench_function("covers_miss", |b| {
        b.iter(|| topic::covers(black_box("sensors/+/floor2/#"), black_box("sensors/#")))
    });
    g.finish();
}

fn bench_acl_file(c: &mut Criterion) {
    let mut g = c.benchmark_group("acl_file");
    for users in [10usize, 10_000] {
        let acl =
            AclFile::parse(Path::new("bench.acl"), acl_text(users).as_bytes()).expect("parse");
        let user = format!("u{}", users / 2);
        let allowed = format!("bench/{user}/data");
        g.bench_function(format!("write_allow_{users}_users"), |b| {
            b.iter(|| {
                acl.check(
                    black_box(Some(user.as_str())),
                    black_box("client-1"),
                    black_box(allowed.as_str()),
                    Access::Write,
                )
            })
        });
        g.bench_function(format!("read_pattern_{users}_users"), |b| {
            b.iter(|| {
                acl.check(
                    black_box(Some(user.as_str())),
                    black_box("client-1"),
                    black_box("clients/client-1/x"),
                    Access::Read,
                )
            })
        });
        g.bench_function(format!("read_defer_{users}_users"), |b| {
            b.iter(|| {
                acl.check(
                    black_box(Some(user.as_str())),
                    black_box("client-1"),
                    black_box("other/topic"),
                    Access::Read,
                )
            })
        });
        // What a connected client's check costs: its rules compiled once (at CONNECT).
        let client = acl.for_client(Some(user.as_str()), "client-1");
        g.bench_function(format!("compiled_write_allow_{users}_users"), |b| {
            b.iter(|| client.decide(black_box(allowed.as_bytes()), Access::Write))
        });
        g.bench_function(format!("compiled_read_pattern_{users}_users"), |b| {
            b.iter(|| client.decide(black_box(b"clients/client-1/x"), Access::Read))
        });
        g.bench_function(format!("compile_client_{users}_users"), |b| {
            b.iter(|| acl.for_client(black_box(Some(user.as_str())), black_box("client-1")))
        });
    }
    g.bench_function("parse_10000_users", |b| {
        let text = acl_text(10_000);
        b.iter(|| {
            AclFile::parse(Path::new("bench.acl"), black_box(text.as_bytes())).expect("parse")
        })
    });
    g.finish();
}

/// A backend that allows everything at once.
struct AllowAll;

impl Backend for AllowAll {
    fn name(&self) -> &'static str {
        "allow-all"
    }
    fn authenticate(&self, _req: &AuthRequest<'_>) -> Answer {
        Ok(Verdict::ALLOW)
    }
    fn superuser(&self, _username: &str) -> Answer {
        Ok(Verdict::DEFER)
    }
    fn acl(&self, _req: &AclRequest<'_>) -> Answer {
        Ok(Verdict::ALLOW)
    }
}

fn bench_cache(c: &mut Criterion) {
    let mut g = c.benchmark_group("cache");
    let logger = Logger::new(Level::Warning);
    let req = AclRequest {
        username: Some("sensor-0042"),
        client_id: "sensor-0042-client",
        topic: "bench/sensor-0042/temperature",
        access: Access::Read,
        qos: 0,
        retain: false,
    };
    let cached = Link::new(Arc::new(AllowAll), &CacheSettings::default(), logger);
    cached.acl(&req).expect("warm");
    g.bench_function("acl_hit", |b| b.iter(|| cached.acl(black_box(&req))));
    g.bench_function("superuser_hit", |b| {
        cached.superuser("sensor-0042").expect("warm");
        b.iter(|| cached.superuser(black_box("sensor-0042")))
    });
    let uncached = Link::new(
        Arc::new(AllowAll),
        &CacheSettings {
            enabled: false,
            ..CacheSettings::default()
        },
        logger,
    );
    g.bench_function("acl_uncached_trivial_backend", |b| {
        b.iter(|| uncached.acl(black_box(&req)))
    });

    // The whole plugin: files backend, 10,000-user ACL file, warm cache.
    let dir = tempfile::tempdir().expect("tempdir");
    let acl_path = dir.path().join("acl");
    std::fs::write(&acl_path, acl_text(10_000)).expect("write acl");
    let pw_path = dir.path().join("passwd");
    let hash =
        mosq_auth::hash::hash_password_with(mosq_auth::hash::Scheme::Mosquitto7, b"pw", Some(101))
            .expect("hash");
    std::fs::write(&pw_path, format!("u5000:{hash}\n")).expect("write passwd");
    let (user, client, t) = (&b"u5000"[..], &b"client-5000"[..], &b"bench/u5000/data"[..]);

    // The files backend as the broker sees it: the client logged in (its session holds its
    // rules compiled from the 10,000-user file), then every check is decided from them.
    let options = Options::new([
        ("backends", "files".to_string()),
        ("password_file", pw_path.display().to_string()),
        ("acl_file", acl_path.display().to_string()),
        ("reload_interval", "0".to_string()),
        ("log_level", "warning".to_string()),
    ]);
    let plugin_session = Plugin::new(&options).expect("plugin");
    let login = mosq_auth::ffi::shim::basic_auth(
        &plugin_session,
        1,
        Some(user),
        Some(b"pw"),
        Some(client),
        false,
    );
    assert_eq!(login, 0, "files login");
    assert_eq!(acl_check(&plugin_session, Some(user), client, t), 0);
    g.bench_function("plugin_acl_check_files_10000_session", |b| {
        b.iter(|| {
            acl_check(
                &plugin_session,
                black_box(Some(user)),
                black_box(client),
                black_box(t),
            )
        })
    });

    // Without a session (a client the plugin did not see log in): the chain's normal path.
    let options = Options::new([
        ("backends", "files".to_string()),
        ("acl_file", acl_path.display().to_string()),
        ("reload_interval", "0".to_string()),
        ("log_level", "warning".to_string()),
    ]);
    let plugin = Plugin::new(&options).expect("plugin");
    acl_check(&plugin, Some(user), client, t);
    g.bench_function("plugin_acl_check_warm_files_10000", |b| {
        b.iter(|| {
            acl_check(
                &plugin,
                black_box(Some(user)),
                black_box(client),
                black_box(t),
            )
        })
    });
    let options = Options::new([
        ("backends", "files".to_string()),
        ("acl_file", acl_path.display().to_string()),
        ("reload_interval", "0".to_string()),
        ("log_level", "warning".to_string()),
        ("cache", "false".to_string()),
    ]);
    let plugin_nocache = Plugin::new(&options).expect("plugin");
    g.bench_function("plugin_acl_check_nocache_files_10000", |b| {
        b.iter(|| {
            acl_check(
                &plugin_nocache,
                black_box(Some(user)),
                black_box(client),
                black_box(t),
            )
        })
    });

    // The whole plugin: HTTP backend with a superuser URI, warm cache: every check asks the
    // cache twice (superuser, then ACL), as the broker's deliveries do.
    let service = http_service::Service::start(http_service::Logins::default());
    let options = Options::new([
        ("backends", "http".to_string()),
        ("http_host", "127.0.0.1".to_string()),
        ("http_port", service.addr.port().to_string()),
        ("http_getuser_uri", "/auth".to_string()),
        ("http_superuser_uri", "/superuser".to_string()),
        ("http_aclcheck_uri", "/acl".to_string()),
        ("log_level", "warning".to_string()),
    ]);
    let plugin_http = Plugin::new(&options).expect("plugin");
    assert_eq!(acl_check(&plugin_http, Some(user), client, t), 0);
    let asked = service.counters.requests();
    g.bench_function("plugin_acl_check_warm_http", |b| {
        b.iter(|| {
            acl_check(
                &plugin_http,
                black_box(Some(user)),
                black_box(client),
                black_box(t),
            )
        })
    });
    assert_eq!(
        service.counters.requests(),
        asked,
        "warm checks reached the service"
    );

    // The whole plugin: HTTP backend whose login answer carries the rules (the load harness's
    // `http-rules` setup), cache off: the session decides, nothing is asked.
    let service = http_service::Service::start(http_service::Logins {
        session: true,
        ..http_service::Logins::default()
    });
    let options = Options::new([
        ("backends", "http".to_string()),
        ("http_host", "127.0.0.1".to_string()),
        ("http_port", service.addr.port().to_string()),
        ("http_getuser_uri", "/auth".to_string()),
        ("http_superuser_uri", "/superuser".to_string()),
        ("http_aclcheck_uri", "/acl".to_string()),
        ("http_response_mode", "json".to_string()),
        ("cache", "false".to_string()),
        ("log_level", "warning".to_string()),
    ]);
    let plugin_rules = Plugin::new(&options).expect("plugin");
    let login = mosq_auth::ffi::shim::basic_auth(
        &plugin_rules,
        1,
        Some(user),
        Some(b"pw"),
        Some(client),
        false,
    );
    assert_eq!(login, 0, "login with rules");
    let read = &b"bench/u1/data"[..];
    assert_eq!(acl_check(&plugin_rules, Some(user), client, read), 0);
    let asked = service.counters.requests();
    g.bench_function("plugin_acl_check_rules_at_login", |b| {
        b.iter(|| {
            acl_check(
                &plugin_rules,
                black_box(Some(user)),
                black_box(client),
                black_box(read),
            )
        })
    });
    assert_eq!(
        service.counters.requests(),
        asked,
        "checks reached the service"
    );
    g.finish();
}

fn bench_hash(c: &mut Criterion) {
    let mut g = c.benchmark_group("hash");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(2));
    let pw = b"correct horse battery staple";
    let cases: [(&str, Scheme, Option<u32>, SaltEncoding); 7] = [
        ("sha512_$6$", Scheme::Mosquitto6, None, SaltEncoding::Auto),
        (
            "pbkdf2_$7$_101",
            Scheme::Mosquitto7,
            Some(101),
            SaltEncoding::Auto,
        ),
        (
            "pbkdf2_$7$_1000",
            Scheme::Mosquitto7,
            Some(1000),
            SaltEncoding::Auto,
        ),
        (
            "pbkdf2_auth_plug_901",
            Scheme::Pbkdf2AuthPlug,
            None,
            SaltEncoding::Utf8,
        ),
        (
            "pbkdf2_go_auth_100000",
            Scheme::Pbkdf2GoAuth,
            None,
            SaltEncoding::Base64,
        ),
        ("bcrypt_cost10", Scheme::Bcrypt, None, SaltEncoding::Auto),
        (
            "argon2id_m4096_t3_p2",
            Scheme::Argon2id,
            None,
            SaltEncoding::Auto,
        ),
    ];
    for (name, scheme, work, salt) in cases {
        let s = hash_password_with(scheme, pw, work).expect("hash");
        let h = PasswordHash::parse(&s, salt).expect("parse");
        assert!(h.verify(pw), "{name} does not verify");
        g.bench_function(name, |b| b.iter(|| h.verify(black_box(pw))));
    }
    g.finish();
}

criterion_group!(
    benches,
    bench_topic,
    bench_acl_file,
    bench_cache,
    bench_hash
);
criterion_main!(benches);
