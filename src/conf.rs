//! Reading mosquitto.conf the way the broker does, for the parts `mosq-auth check` and
//! `mosq-auth token --verify` need: plugin blocks with their `auth_opt_*` / `plugin_opt_*`
//! options, listeners, `per_listener_settings`, `allow_anonymous` and `include_dir`.
//!
//! As in mosquitto: an option belongs to the last `plugin` / `auth_plugin` line *of the same
//! file* (an option before any plugin line of its file is an error); its value is the rest of
//! the line, trimmed, and may not be empty; `include_dir DIR` reads the `*.conf` files in `DIR`
//! in sorted order at that point; relative paths are relative to the working directory.

use std::fs;
use std::path::{Path, PathBuf};

/// How deep `include_dir` may nest (mosquitto allows nesting; this stops loops).
const MAX_DEPTH: usize = 8;

/// One `plugin` / `auth_plugin` line and the options that follow it.
#[derive(Debug, Clone)]
pub struct PluginBlock {
    /// Where the plugin line is (`file:line`).
    pub at: String,
    /// The plugin path as written.
    pub path: String,
    /// The listener (port as written) the plugin line follows, `None` before any listener.
    pub listener: Option<String>,
    /// The options, names without the prefix, in file order.
    pub options: Vec<(String, String)>,
}

/// An `allow_anonymous` setting.
#[derive(Debug, Clone)]
pub struct AllowAnonymous {
    /// The listener it follows, `None` before any listener.
    pub listener: Option<String>,
    /// Its value.
    pub value: bool,
    /// Where it is (`file:line`).
    pub at: String,
}

/// What `check` needs from the broker's configuration.
#[derive(Debug, Default)]
pub struct BrokerConf {
    /// `per_listener_settings`.
    pub per_listener_settings: bool,
    /// Listener ports as written, in file order (`listener PORT ...` and `port PORT`).
    pub listeners: Vec<String>,
    /// The default listener's port (`port PORT`): the settings before any `listener` line.
    pub default_port: Option<String>,
    /// Plugin blocks in file order.
    pub blocks: Vec<PluginBlock>,
    /// `allow_anonymous` lines in file order.
    pub allow_anonymous: Vec<AllowAnonymous>,
}

impl BrokerConf {
    /// Reads `path` and everything it includes. Errors read `file:line: reason`.
    pub fn read(path: &Path) -> Result<BrokerConf, String> {
        let mut conf = BrokerConf::default();
        let mut listener = None;
        conf.read_file(path, 0, &mut listener)?;
        Ok(conf)
    }

    fn read_file(
        &mut self,
        path: &Path,
        depth: usize,
        listener: &mut Option<String>,
    ) -> Result<(), String> {
        let text = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let text = String::from_utf8_lossy(&text);
        // The block options of this file go to (mosquitto keeps it per file).
        let mut block: Option<usize> = None;
        for (i, raw) in text.lines().enumerate() {
            let at = format!("{}:{}", path.display(), i + 1);
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, rest) = match line.split_once([' ', '\t']) {
                Some((k, r)) => (k, r.trim()),
                None => (line, ""),
            };
            let need = |what: &str| -> Result<&str, String> {
                if rest.is_empty() {
                    Err(format!("{at}: empty {what} value"))
                } else {
                    Ok(rest)
                }
            };
            let opt = key
                .strip_prefix("auth_opt_")
                .or_else(|| key.strip_prefix("plugin_opt_"));
            if let Some(name) = opt {
                let Some(b) = block else {
                    return Err(format!(
                        "{at}: {key} without a plugin (or auth_plugin) line before it in the same file"
                    ));
                };
                if name.is_empty() {
                    return Err(format!("{at}: invalid option {key}"));
                }
                let value = need(key)?;
                self.blocks[b]
                    .options
                    .push((name.to_string(), value.to_string()));
                continue;
            }
            match key {
                "plugin" | "auth_plugin" => {
                    let p = need(key)?;
                    self.blocks.push(PluginBlock {
                        at,
                        path: p.to_string(),
                        listener: listener.clone(),
                        options: Vec::new(),
                    });
                    block = Some(self.blocks.len() - 1);
                }
                "listener" | "port" => {
                    let port = need(key)?
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    self.listeners.push(port.clone());
                    if key == "listener" {
                        *listener = Some(port);
                    } else {
                        // `port` sets the default listener's port; the settings around it
                        // stay the default listener's.
                        self.default_port = Some(port);
                    }
                }
                "per_listener_settings" => {
                    self.per_listener_settings = parse_bool(need(key)?)
                        .ok_or_else(|| format!("{at}: {key}: expected true or false"))?;
                }
                "allow_anonymous" => {
                    let value = parse_bool(need(key)?)
                        .ok_or_else(|| format!("{at}: {key}: expected true or false"))?;
                    self.allow_anonymous.push(AllowAnonymous {
                        listener: listener.clone(),
                        value,
                        at,
                    });
                }
                "include_dir" => {
                    if depth >= MAX_DEPTH {
                        return Err(format!("{at}: include_dir nested too deeply"));
                    }
                    let dir = PathBuf::from(need(key)?);
                    let files = conf_files(&dir)
                        .map_err(|e| format!("{at}: include_dir {}: {e}", dir.display()))?;
                    for file in files {
                        self.read_file(&file, depth + 1, listener)?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The plugin block `check` evaluates: the first after `listener PORT` (or, for the port
    /// of a `port PORT` line, the first before any `listener` line) when a port is given and
    /// `per_listener_settings` is true, else the first one.
    pub fn block(&self, listener: Option<&str>) -> Result<&PluginBlock, String> {
        match listener {
            None => self
                .blocks
                .first()
                .ok_or_else(|| "no plugin or auth_plugin line".to_string()),
            Some(port) => {
                if !self.listeners.iter().any(|l| l == port) {
                    return Err(format!("no listener {port}"));
                }
                if !self.per_listener_settings {
                    // Plugins are global: every listener uses the same one(s).
                    return self.block(None);
                }
                let default = self.default_port.as_deref() == Some(port);
                self.blocks
                    .iter()
                    .find(|b| match &b.listener {
                        Some(l) => l == port,
                        None => default,
                    })
                    .ok_or_else(|| format!("no plugin or auth_plugin line after listener {port}"))
            }
        }
    }

    /// The `allow_anonymous` in force for `listener` (the block's listener with
    /// `per_listener_settings true`), and where it is set; mosquitto 2.x's default is false.
    pub fn allow_anonymous(&self, listener: Option<&str>) -> (bool, Option<&str>) {
        let found = self
            .allow_anonymous
            .iter()
            .rev()
            .find(|a| !self.per_listener_settings || a.listener.as_deref() == listener);
        match found {
            Some(a) => (a.value, Some(a.at.as_str())),
            None => (false, None),
        }
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// The `*.conf` files of `dir`, sorted by name.
fn conf_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let is_conf = name.to_str().is_some_and(|n| n.ends_with(".conf"));
        // Follows symlinks, as the broker's fopen does.
        if is_conf && fs::metadata(entry.path())?.is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}
