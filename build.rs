//! Generates Rust types for the broker's plugin API from the system's mosquitto headers.
//!
//! Set `MOSQUITTO_INCLUDE_DIR` to use headers outside the compiler's default include path.
//! A missing header or libclang stops the build with one line naming the package to install.

use std::env;
use std::path::{Path, PathBuf};
use std::process::exit;

const HEADERS: &str =
    "the mosquitto headers (mosquitto_broker.h, mosquitto_plugin.h) were not found: \
install mosquitto-dev (Debian/Ubuntu: apt-get install -y mosquitto-dev libmosquitto-dev; \
Alpine: apk add mosquitto-dev) or set MOSQUITTO_INCLUDE_DIR";

const LIBCLANG: &str = "libclang was not found (bindgen needs it to read the mosquitto headers): \
install it (Debian/Ubuntu: apt-get install -y libclang-dev; Alpine: apk add clang-dev) or set LIBCLANG_PATH";

fn fail(msg: &str) -> ! {
    eprintln!("error: {msg}");
    exit(1);
}

fn main() {
    println!("cargo:rerun-if-changed=include/mosq_auth.h");
    println!("cargo:rerun-if-env-changed=MOSQUITTO_INCLUDE_DIR");
    println!("cargo:rerun-if-env-changed=LIBCLANG_PATH");

    let include_dir = env::var_os("MOSQUITTO_INCLUDE_DIR").map(PathBuf::from);
    let candidates: Vec<PathBuf> = match &include_dir {
        Some(dir) => vec![dir.clone()],
        None => vec![
            PathBuf::from("/usr/include"),
            PathBuf::from("/usr/local/include"),
        ],
    };
    if !candidates.iter().any(|d| {
        Path::new(d).join("mosquitto_broker.h").exists() && d.join("mosquitto_plugin.h").exists()
    }) {
        fail(HEADERS);
    }

    let mut builder = bindgen::Builder::default()
        .header("include/mosq_auth.h")
        .allowlist_type("mosquitto_opt")
        .allowlist_type("mosquitto_acl_msg")
        .allowlist_type("mosquitto_evt_.*")
        .allowlist_type("mosquitto_plugin_id_t")
        .allowlist_var("MOSQ_ERR_.*")
        .allowlist_var("MOSQ_ACL_.*")
        .allowlist_var("MOSQ_LOG_.*")
        .allowlist_var("MOSQ_EVT_.*")
        .allowlist_var("MOSQ_PLUGIN_VERSION")
        .allowlist_var("MOSQ_AUTH_PLUGIN_VERSION")
        .allowlist_type("mosq_err_t")
        .allowlist_type("mosquitto_plugin_event")
        .constified_enum_module("mosq_err_t")
        .constified_enum_module("mosquitto_plugin_event")
        .opaque_type("mosquitto")
        .opaque_type("mqtt5__property")
        .layout_tests(false)
        .derive_default(true);
    if let Some(dir) = &include_dir {
        builder = builder.clang_arg(format!("-I{}", dir.display()));
    }

    // bindgen panics when it cannot load libclang; turn that into one clear line.
    std::panic::set_hook(Box::new(|_| {}));
    let generated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| builder.generate()));
    let _ = std::panic::take_hook();
    let bindings = match generated {
        Err(_) => fail(LIBCLANG),
        Ok(Err(e)) => fail(&format!(
            "bindgen could not read the mosquitto headers: {e}; {HEADERS}"
        )),
        Ok(Ok(b)) => b,
    };
    let out =
        PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("mosquitto_sys.rs");
    if let Err(e) = bindings.write_to_file(&out) {
        fail(&format!("cannot write {}: {e}", out.display()));
    }
}
