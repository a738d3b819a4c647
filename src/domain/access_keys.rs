//! Access keys as operators have them at hand: `export AWS_ACCESS_KEY_ID=...` lines (the AWS
//! CLI's names or the failback client's `AWS_ACCESS_KEY` / `AWS_SECRET_KEY`), a credentials
//! file section, the JSON of `aws sts assume-role` or `aws configure export-credentials`, or
//! the environment itself.

use std::fmt;
use zeroize::Zeroizing;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    KeyId,
    Secret,
    Token,
}

/// The variable names read, the AWS CLI's first; both spellings are accepted everywhere.
pub const ENV_NAMES: [(&str, Part); 5] = [
    ("AWS_ACCESS_KEY_ID", Part::KeyId),
    ("AWS_ACCESS_KEY", Part::KeyId),
    ("AWS_SECRET_ACCESS_KEY", Part::Secret),
    ("AWS_SECRET_KEY", Part::Secret),
    ("AWS_SESSION_TOKEN", Part::Token),
];

/// The parts found; the secret and token are zeroed when dropped.
#[derive(Default, Clone, PartialEq, Eq)]
pub struct AccessKeys {
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Zeroizing<String>>,
    pub session_token: Option<Zeroizing<String>>,
}

impl fmt::Debug for AccessKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKeys")
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl AccessKeys {
    fn set(&mut self, part: Part, value: &str) {
        let value = value.trim();
        if value.is_empty() {
            return;
        }
        match part {
            Part::KeyId => self.access_key_id = Some(value.to_owned()),
            Part::Secret => self.secret_access_key = Some(Zeroizing::new(value.to_owned())),
            Part::Token => self.session_token = Some(Zeroizing::new(value.to_owned())),
        }
    }

    fn is_empty(&self) -> bool {
        self.access_key_id.is_none()
            && self.secret_access_key.is_none()
            && self.session_token.is_none()
    }
}

fn part_named(name: &str) -> Option<Part> {
    let name = name.trim();
    ENV_NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, p)| *p)
}

fn unquote(v: &str) -> &str {
    let v = v.trim();
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner;
        }
    }
    v
}

/// The access keys in pasted text, or None when it holds none (it is then plain text).
pub fn parse(text: &str) -> Option<AccessKeys> {
    let text = text.trim();
    let keys = if text.starts_with('{') {
        from_json(text)?
    } else {
        from_lines(text)
    };
    (!keys.is_empty()).then_some(keys)
}

fn from_json(text: &str) -> Option<AccessKeys> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let obj = value.get("Credentials").unwrap_or(&value);
    let mut keys = AccessKeys::default();
    for (field, part) in [
        ("AccessKeyId", Part::KeyId),
        ("SecretAccessKey", Part::Secret),
        ("SessionToken", Part::Token),
    ] {
        if let Some(s) = obj.get(field).and_then(|f| f.as_str()) {
            keys.set(part, s);
        }
    }
    Some(keys)
}

fn from_lines(text: &str) -> AccessKeys {
    let mut keys = AccessKeys::default();
    // Secrets and tokens never hold `;`: it separates assignments like a line break.
    let lines: Vec<&str> = text
        .split(['\n', '\r', ';'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    for line in &lines {
        let line = line
            .strip_prefix("export ")
            .or_else(|| line.strip_prefix("$env:"))
            .or_else(|| line.strip_prefix("$Env:"))
            .unwrap_or(line);
        if let Some((name, value)) = line.split_once('=')
            && let Some(part) = part_named(name)
        {
            keys.set(part, unquote(value));
        }
    }
    // Bare values, one a line, in the form's order: key id, secret, token.
    if keys.is_empty()
        && (2..=3).contains(&lines.len())
        && lines.iter().all(|l| !l.contains(['=', ' ']))
        && crate::domain::validate::access_key_id(lines[0]).is_ok()
    {
        for (line, part) in lines.iter().zip([Part::KeyId, Part::Secret, Part::Token]) {
            keys.set(part, line);
        }
    }
    keys
}

/// The access keys in the environment: for each part, the first of its names that is set.
pub fn from_env(get: impl Fn(&str) -> Option<String>) -> AccessKeys {
    let mut keys = AccessKeys::default();
    for part in [Part::KeyId, Part::Secret, Part::Token] {
        let value = ENV_NAMES
            .iter()
            .filter(|(_, p)| *p == part)
            .find_map(|(n, _)| get(n).map(Zeroizing::new).filter(|v| !v.trim().is_empty()));
        if let Some(v) = value {
            keys.set(part, &v);
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    fn keys(id: &str, secret: &str, token: Option<&str>) -> Option<AccessKeys> {
        Some(AccessKeys {
            access_key_id: Some(id.into()),
            secret_access_key: Some(Zeroizing::new(secret.into())),
            session_token: token.map(|t| Zeroizing::new(t.into())),
        })
    }

    #[test]
    fn export_lines_with_either_names_and_quotes() {
        let cli = format!(
            "export AWS_ACCESS_KEY_ID={KEY}\nexport AWS_SECRET_ACCESS_KEY=\"{SECRET}\"\nexport AWS_SESSION_TOKEN='tok+en/='\n"
        );
        assert_eq!(parse(&cli), keys(KEY, SECRET, Some("tok+en/=")));
        let livecd = format!("AWS_ACCESS_KEY={KEY}\r\nAWS_SECRET_KEY={SECRET}");
        assert_eq!(parse(&livecd), keys(KEY, SECRET, None));
        let ini = format!("[default]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}");
        assert_eq!(parse(&ini), keys(KEY, SECRET, None));
        let ps =
            format!("$env:AWS_ACCESS_KEY_ID=\"{KEY}\"; $env:AWS_SECRET_ACCESS_KEY=\"{SECRET}\"");
        assert_eq!(parse(&ps), keys(KEY, SECRET, None));
    }

    #[test]
    fn assume_role_and_export_credentials_json() {
        let sts = format!(
            r#"{{"Credentials": {{"AccessKeyId": "ASIAIOSFODNN7EXAMPLE", "SecretAccessKey": "{SECRET}", "SessionToken": "FwoGZX", "Expiration": "2026-01-01T00:00:00Z"}}, "AssumedRoleUser": {{"Arn": "arn:aws:sts::1:assumed-role/r/s"}}}}"#
        );
        assert_eq!(
            parse(&sts),
            keys("ASIAIOSFODNN7EXAMPLE", SECRET, Some("FwoGZX"))
        );
        let export =
            format!(r#"{{"Version": 1, "AccessKeyId": "{KEY}", "SecretAccessKey": "{SECRET}"}}"#);
        assert_eq!(parse(&export), keys(KEY, SECRET, None));
    }

    #[test]
    fn bare_lines_in_form_order() {
        assert_eq!(
            parse(&format!("{KEY}\n{SECRET}\n")),
            keys(KEY, SECRET, None)
        );
    }

    #[test]
    fn plain_text_holds_no_keys() {
        for text in [
            KEY,
            SECRET,
            "hello world",
            "{not json",
            "{\"a\": 1}",
            "FOO=bar",
            "",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }

    #[test]
    fn environment_takes_either_spelling_cli_names_first() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |n: &str| {
                vars.iter()
                    .find(|(k, _)| *k == n)
                    .map(|(_, v)| v.to_string())
            }
        };
        let livecd = from_env(env(&[("AWS_ACCESS_KEY", "A"), ("AWS_SECRET_KEY", "S")]));
        assert_eq!(Some(livecd), keys("A", "S", None));
        let both = from_env(env(&[
            ("AWS_ACCESS_KEY", "old"),
            ("AWS_ACCESS_KEY_ID", "new"),
            ("AWS_SECRET_ACCESS_KEY", ""),
            ("AWS_SECRET_KEY", "S"),
            ("AWS_SESSION_TOKEN", "T"),
        ]));
        assert_eq!(Some(both), keys("new", "S", Some("T")));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let k = parse(&format!(
            "AWS_SECRET_KEY={SECRET}\nAWS_SESSION_TOKEN=FwoGZXIvY"
        ))
        .unwrap();
        let shown = format!("{k:?}");
        assert!(
            !shown.contains(SECRET) && !shown.contains("FwoGZXIvY"),
            "{shown}"
        );
    }
}
