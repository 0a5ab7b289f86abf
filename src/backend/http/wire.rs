/*!
What goes on the wire: the request fields and their two encodings.

- **form** (auth-plug): always the five fields `username, password, topic, acc, clientid` in
  that order, each value percent-encoded like `curl_easy_escape` (only `A-Za-z0-9-._~` kept,
  everything else `%XX` in upper case, a space is `%20`). Unlike auth-plug, the client id is
  escaped too, and it is the real one.
- **json** (go-auth): user `{username, password, clientid}`, superuser `{username}`, acl
  `{username, clientid, topic, acc}` with `acc` a number. A password that is not UTF-8 cannot be
  written in JSON: the caller denies it without a request.

Extra `http_*_params` fields come first in a form body (`key=value&`, as auth-plug did) and are
string fields in JSON. With `GET` the same fields form the query string.
*/

use base64::Engine;

use super::settings::{Field, ParamsMode};

/// One question to the service.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Call<'a> {
    /// Check a password.
    GetUser {
        username: &'a str,
        password: &'a [u8],
        client_id: &'a str,
    },
    /// Is this user a superuser?
    Superuser { username: &'a str },
    /// May this client do this?
    Acl {
        username: &'a str,
        client_id: &'a str,
        topic: &'a str,
        acc: i32,
    },
}

impl Call<'_> {
    /// The name used in log lines.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Call::GetUser { .. } => "getuser",
            Call::Superuser { .. } => "superuser",
            Call::Acl { .. } => "aclcheck",
        }
    }

    /// The MQTT username of the question.
    /// The question's other fields for a debug line (` client=… topic=… acc=…`); never the
    /// password.
    pub(crate) fn log_fields(&self) -> String {
        match self {
            Call::GetUser { client_id, .. } => format!(" client={client_id}"),
            Call::Superuser { .. } => String::new(),
            Call::Acl {
                client_id,
                topic,
                acc,
                ..
            } => format!(" client={client_id} topic={topic} acc={acc}"),
        }
    }

    pub(crate) fn username(&self) -> &str {
        match self {
            Call::GetUser { username, .. }
            | Call::Superuser { username }
            | Call::Acl { username, .. } => username,
        }
    }

    /// The password sent (empty except for getuser, as auth-plug did).
    pub(crate) fn password(&self) -> &[u8] {
        match self {
            Call::GetUser { password, .. } => password,
            _ => b"",
        }
    }

    /// auth-plug's five fields, in its order.
    fn form_fields(&self) -> [(&'static str, Val<'_>); 5] {
        match *self {
            Call::GetUser {
                username,
                password,
                client_id,
            } => [
                ("username", Val::Str(username)),
                ("password", Val::Bytes(password)),
                ("topic", Val::Str("")),
                ("acc", Val::Int(-1)),
                ("clientid", Val::Str(client_id)),
            ],
            Call::Superuser { username } => [
                ("username", Val::Str(username)),
                ("password", Val::Str("")),
                ("topic", Val::Str("")),
                ("acc", Val::Int(-1)),
                ("clientid", Val::Str("")),
            ],
            Call::Acl {
                username,
                client_id,
                topic,
                acc,
            } => [
                ("username", Val::Str(username)),
                ("password", Val::Str("")),
                ("topic", Val::Str(topic)),
                ("acc", Val::Int(acc)),
                ("clientid", Val::Str(client_id)),
            ],
        }
    }

    /// go-auth's fields.
    fn json_fields(&self) -> Vec<(&'static str, Val<'_>)> {
        match *self {
            Call::GetUser {
                username,
                password,
                client_id,
            } => vec![
                ("username", Val::Str(username)),
                ("password", Val::Bytes(password)),
                ("clientid", Val::Str(client_id)),
            ],
            Call::Superuser { username } => vec![("username", Val::Str(username))],
            Call::Acl {
                username,
                client_id,
                topic,
                acc,
            } => vec![
                ("username", Val::Str(username)),
                ("clientid", Val::Str(client_id)),
                ("topic", Val::Str(topic)),
                ("acc", Val::Int(acc)),
            ],
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Val<'a> {
    Str(&'a str),
    Bytes(&'a [u8]),
    Int(i32),
}

/// A password that JSON cannot carry.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NotUtf8;

/// Appends `bytes` percent-encoded as `curl_easy_escape` does.
pub(crate) fn escape_into(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
}

/// `bytes` percent-encoded as `curl_easy_escape` does.
pub fn escape(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    escape_into(&mut s, bytes);
    s
}

fn push_pair(out: &mut String, key: &str, val: Val<'_>) {
    escape_into(out, key.as_bytes());
    out.push('=');
    match val {
        Val::Str(s) => escape_into(out, s.as_bytes()),
        Val::Bytes(b) => escape_into(out, b),
        Val::Int(n) => out.push_str(&n.to_string()),
    }
}

/// The fields as `application/x-www-form-urlencoded` text: the params first, then the
/// fields of `mode` (auth-plug's five for form, go-auth's set for json, used by `GET`).
pub(crate) fn form_encode(call: &Call<'_>, params: &[Field], mode: ParamsMode) -> String {
    let mut out = String::with_capacity(128);
    for p in params {
        push_pair(&mut out, &p.name, Val::Bytes(p.value.expose()));
        out.push('&');
    }
    let fields: Vec<(&str, Val<'_>)> = match mode {
        ParamsMode::Form => call.form_fields().to_vec(),
        ParamsMode::Json => call.json_fields(),
    };
    for (i, (k, v)) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        push_pair(&mut out, k, v);
    }
    out
}

/// The go-auth JSON body, with the params as extra string fields (the standard fields win on
/// a name clash).
pub(crate) fn json_encode(call: &Call<'_>, params: &[Field]) -> Result<String, NotUtf8> {
    let mut map = serde_json::Map::new();
    for p in params {
        map.insert(
            p.name.clone(),
            String::from_utf8_lossy(p.value.expose())
                .into_owned()
                .into(),
        );
    }
    for (k, v) in call.json_fields() {
        let value = match v {
            Val::Str(s) => serde_json::Value::from(s),
            Val::Bytes(b) => std::str::from_utf8(b).map_err(|_| NotUtf8)?.into(),
            Val::Int(n) => n.into(),
        };
        map.insert(k.to_string(), value);
    }
    Ok(serde_json::Value::Object(map).to_string())
}

/// `Basic base64(username:password)`, as curl sends for `CURLOPT_USERNAME`/`PASSWORD`.
pub(crate) fn basic_auth(username: &str, password: &[u8]) -> String {
    let mut raw = Vec::with_capacity(username.len() + 1 + password.len());
    raw.extend_from_slice(username.as_bytes());
    raw.push(b':');
    raw.extend_from_slice(password);
    let encoded = base64::engine::general_purpose::STANDARD.encode(&raw);
    zeroize::Zeroize::zeroize(&mut raw);
    format!("Basic {encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn escape_matches_curl_easy_escape() {
        assert_eq!(escape(b"se cret&x=1%+"), "se%20cret%26x%3D1%25%2B");
        assert_eq!(escape(b"alice/#"), "alice%2F%23");
        assert_eq!(escape(b"AZaz09-._~"), "AZaz09-._~");
        assert_eq!(escape("é".as_bytes()), "%C3%A9");
        assert_eq!(escape(b"\xff\x00*'"), "%FF%00%2A%27");
    }

    #[test]
    fn form_bodies_as_auth_plug_sends_them() {
        let get = Call::GetUser {
            username: "alice",
            password: b"secret",
            client_id: "c 1",
        };
        assert_eq!(
            form_encode(&get, &[], ParamsMode::Form),
            "username=alice&password=secret&topic=&acc=-1&clientid=c%201"
        );
        let su = Call::Superuser { username: "alice" };
        assert_eq!(
            form_encode(&su, &[], ParamsMode::Form),
            "username=alice&password=&topic=&acc=-1&clientid="
        );
        let acl = Call::Acl {
            username: "alice",
            client_id: "client id&x",
            topic: "alice/t1",
            acc: 2,
        };
        assert_eq!(
            form_encode(&acl, &[], ParamsMode::Form),
            "username=alice&password=&topic=alice%2Ft1&acc=2&clientid=client%20id%26x"
        );
        let params = [Field {
            name: "site".into(),
            value: Secret::from("eu 1"),
        }];
        assert_eq!(
            form_encode(&su, &params, ParamsMode::Form),
            "site=eu%201&username=alice&password=&topic=&acc=-1&clientid="
        );
        assert_eq!(
            form_encode(&acl, &[], ParamsMode::Json),
            "username=alice&clientid=client%20id%26x&topic=alice%2Ft1&acc=2"
        );
    }

    #[test]
    fn json_bodies_as_go_auth_sends_them() {
        let get = Call::GetUser {
            username: "alice",
            password: b"p\"w",
            client_id: "c1",
        };
        let v: serde_json::Value = serde_json::from_str(&json_encode(&get, &[]).unwrap()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"username": "alice", "password": "p\"w", "clientid": "c1"})
        );
        let acl = Call::Acl {
            username: "alice",
            client_id: "c1",
            topic: "alice/#",
            acc: 4,
        };
        let v: serde_json::Value = serde_json::from_str(&json_encode(&acl, &[]).unwrap()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"username": "alice", "clientid": "c1", "topic": "alice/#", "acc": 4})
        );
        let bad = Call::GetUser {
            username: "alice",
            password: b"\xff",
            client_id: "c1",
        };
        assert_eq!(json_encode(&bad, &[]), Err(NotUtf8));
    }

    #[test]
    fn basic_auth_as_curl_sends_it() {
        assert_eq!(basic_auth("alice", b""), "Basic YWxpY2U6");
        assert_eq!(basic_auth("alice", b"secret"), "Basic YWxpY2U6c2VjcmV0");
    }
}
