//! Inline format checks for the credential and endpoint forms. Messages say what is wrong and
//! what to do; they never repeat a secret or a session token, not even a character of one.

const KEY_ID_HINT: &str = "20 characters like AKIA... (long-term keys) or ASIA... (temporary keys)";

/// The name of a character that cannot be seen in a field (zero-width and no-break spaces,
/// direction marks, control codes other than tab and line breaks), or None for a visible one.
fn invisible_name(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{00a0}' => "no-break space",
        '\u{00ad}' => "soft hyphen",
        '\u{200b}' => "zero-width space",
        '\u{200c}' => "zero-width non-joiner",
        '\u{200d}' => "zero-width joiner",
        '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
            "text direction mark"
        }
        '\u{2028}' | '\u{2029}' => "line separator",
        '\u{2060}'..='\u{2064}' => "word joiner",
        '\u{feff}' => "byte order mark",
        '\t' | '\n' | '\r' => return None,
        c if c.is_control() => "control character",
        _ => return None,
    })
}

/// Names the first invisible character of `s`, which copied text often brings along:
/// "`what` has an invisible character, U+200B (zero-width space), at character 10; ...".
pub fn invisible(what: &str, s: &str) -> Option<String> {
    let (at, c, name) = s
        .chars()
        .enumerate()
        .find_map(|(i, c)| invisible_name(c).map(|n| (i + 1, c, n)))?;
    Some(format!(
        "{what} has an invisible character, U+{:04X} ({name}), at character {at}; delete it or \
         type the value instead of pasting it.",
        c as u32
    ))
}

fn first_whitespace(s: &str) -> Option<usize> {
    s.chars().position(char::is_whitespace).map(|p| p + 1)
}

pub fn access_key_id(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err(format!("Enter the access key id: {KEY_ID_HINT}."));
    }
    if let Some(e) = invisible("The access key id", s) {
        return Err(e);
    }
    if let Some(at) = first_whitespace(s) {
        return Err(format!(
            "The access key id has a space or line break at character {at}; remove it."
        ));
    }
    if let Some((at, c)) = s
        .chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_uppercase() || c.is_ascii_digit()))
    {
        let hint = if c.is_ascii_lowercase() {
            " (check Caps Lock)"
        } else {
            ""
        };
        return Err(format!(
            "The access key id has `{c}` at character {}; access key ids are upper-case letters \
             and digits only{hint}.",
            at + 1
        ));
    }
    let len = s.len();
    match s.get(..4).unwrap_or(s) {
        "AKIA" | "ASIA" if len == 20 => Ok(()),
        "AKIA" | "ASIA" => Err(format!(
            "Access key ids are 20 characters like AKIA... or ASIA..., this one has {len}."
        )),
        // Unique ids of users and roles look alike and get pasted by mistake.
        "AIDA" => Err(
            "This is an IAM user id (AIDA...), not an access key id; use the AccessKeyId, which \
             starts with AKIA or ASIA."
                .into(),
        ),
        "AROA" => Err(
            "This is an IAM role id (AROA...), not an access key id; use the AccessKeyId from \
             the assumed role's credentials, which starts with ASIA."
                .into(),
        ),
        _ if !(16..=128).contains(&len) => Err(format!(
            "Access key ids are {KEY_ID_HINT}; this one has {len} characters."
        )),
        prefix => Err(format!(
            "Access key ids start with AKIA (long-term keys) or ASIA (temporary keys); this one \
             starts with {prefix}. Copy the AccessKeyId value."
        )),
    }
}

pub fn secret_access_key(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err(
            "Enter the secret access key: the 40-character value that came with the \
                    access key id."
                .into(),
        );
    }
    if let Some(e) = invisible("The secret access key", s) {
        return Err(e);
    }
    if let Some(at) = first_whitespace(s) {
        return Err(format!(
            "The secret access key has a space or line break at character {at}; remove it."
        ));
    }
    if s.len() == 20 && (s.starts_with("AKIA") || s.starts_with("ASIA")) {
        return Err(
            "This looks like the access key id; the secret access key is the \
                    40-character value that came with it."
                .into(),
        );
    }
    if let Some(at) = s
        .chars()
        .position(|c| !(c.is_ascii_alphanumeric() || c == '/' || c == '+'))
    {
        return Err(format!(
            "The secret access key has a character at position {} that secret keys never \
             contain (they are letters, digits, / and +); retype it.",
            at + 1
        ));
    }
    let len = s.chars().count();
    if len != 40 {
        return Err(format!(
            "Secret access keys are 40 characters; this one has {len}. Check for a missing or \
             extra character."
        ));
    }
    Ok(())
}

/// ASIA keys are temporary and need the token that came with them; AKIA keys take none.
pub fn session_token(access_key_id: &str, token: &str) -> Result<(), String> {
    if access_key_id.starts_with("ASIA") && token.is_empty() {
        return Err(
            "Keys starting with ASIA are temporary and need their session token; paste \
                    the SessionToken that came with them."
                .into(),
        );
    }
    if access_key_id.starts_with("AKIA") && !token.is_empty() {
        return Err(
            "Keys starting with AKIA are long-term and take no session token; clear \
                    this field, or use the ASIA... key id that came with this token."
                .into(),
        );
    }
    if let Some(e) = invisible("The session token", token) {
        return Err(e);
    }
    if let Some(at) = first_whitespace(token) {
        return Err(format!(
            "The session token has a space or line break at character {at}; it is one unbroken \
             line, so remove it."
        ));
    }
    if let Some(at) = token
        .chars()
        .position(|c| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '+' | '=')))
    {
        return Err(format!(
            "The session token has a character at position {} that tokens never contain (they \
             are letters, digits, /, + and =); paste it again.",
            at + 1
        ));
    }
    Ok(())
}

/// Checks a custom DRS endpoint and gives it back as `scheme://host[:port]`, lower case, without
/// a trailing slash. A missing scheme means https.
pub fn endpoint_url(s: &str) -> Result<String, String> {
    let s = s.trim();
    if let Some(e) = invisible("The endpoint", s) {
        return Err(e);
    }
    if s.is_empty() {
        return Err(
            "Enter the endpoint URL, e.g. https://drs.us-east-1.amazonaws.com or a VPC \
                    endpoint name, or choose the default endpoint."
                .into(),
        );
    }
    let (scheme, rest) = match s.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => ("https".to_string(), s),
    };
    if scheme != "https" && scheme != "http" {
        return Err(format!(
            "The endpoint must start with https://, not {scheme}://."
        ));
    }
    let (authority, tail) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    if !(tail.is_empty() || tail == "/") {
        return Err(format!(
            "The endpoint is a scheme and host only, like https://drs.us-east-1.amazonaws.com; \
             remove `{tail}`."
        ));
    }
    if authority.contains('@') {
        return Err(
            "The endpoint cannot carry a user name or password; remove everything up to the `@`."
                .into(),
        );
    }
    let (host, port) = host_and_port(authority)?;
    let loopback = matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]");
    if scheme == "http" && !loopback {
        return Err(
            "Use https://: plain http:// would carry the signed requests unencrypted. http:// is \
             accepted only for localhost, 127.0.0.1 and [::1] (a local emulator)."
                .into(),
        );
    }
    Ok(format!("{scheme}://{host}{port}"))
}

/// Host (lower case, IPv6 in brackets) and `:port` or "".
fn host_and_port(authority: &str) -> Result<(String, String), String> {
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        let (address, after) = inner
            .split_once(']')
            .ok_or("The endpoint's IPv6 address has no closing `]`; write it like [::1].")?;
        if address.is_empty()
            || !address.contains(':')
            || !address
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(format!(
                "`[{address}]` is not an IPv6 address; write it like [::1]."
            ));
        }
        (format!("[{}]", address.to_ascii_lowercase()), after)
    } else {
        let split = authority.find(':').unwrap_or(authority.len());
        let (host, after) = authority.split_at(split);
        (host.to_ascii_lowercase(), after)
    };
    if host.is_empty() {
        return Err(
            "The endpoint has no host name; write it like https://drs.us-east-1.amazonaws.com."
                .into(),
        );
    }
    if !host.starts_with('[') {
        check_host_name(&host)?;
    }
    let port = match port.strip_prefix(':') {
        None if port.is_empty() => String::new(),
        Some(digits)
            if digits.parse::<u16>().is_ok_and(|p| p > 0)
                && digits.bytes().all(|b| b.is_ascii_digit()) =>
        {
            format!(":{digits}")
        }
        _ => {
            return Err(format!(
                "`{port}` after the host is not a port; a port is a number from 1 to 65535, \
                 e.g. :443, and most endpoints need none."
            ));
        }
    };
    Ok((host, port))
}

fn check_host_name(host: &str) -> Result<(), String> {
    let name = host.strip_suffix('.').unwrap_or(host);
    let problem = if name.len() > 253 {
        Some("is longer than 253 characters".to_string())
    } else {
        name.split('.').find_map(|label| {
            if label.is_empty() {
                Some("has an empty part between dots".to_string())
            } else if label.len() > 63 {
                Some("has a part longer than 63 characters".to_string())
            } else if let Some(c) = label
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
            {
                Some(format!(
                    "contains `{c}`; host names are letters, digits, - and dots"
                ))
            } else if label.starts_with('-') || label.ends_with('-') {
                Some("has a part that starts or ends with -".to_string())
            } else {
                None
            }
        })
    };
    match problem {
        Some(problem) => Err(format!("The endpoint host `{host}` {problem}.")),
        None => Ok(()),
    }
}

/// A recovery instance id as DRS writes it: `i-` and at least 8 hexadecimal digits.
pub fn recovery_instance_id(s: &str) -> Result<(), String> {
    let digits = s.strip_prefix("i-").unwrap_or_default();
    if digits.len() >= 8 && digits.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not a recovery instance id: it is i- and at least 8 hexadecimal digits, \
             e.g. i-0123456789abcdef0 (the DRS console's Recovery instances page lists them)"
        ))
    }
}

pub fn default_endpoint(region: &str) -> String {
    format!("https://drs.{}.amazonaws.com", region.trim())
}

/// Where an endpoint URL connects: whether by TLS, and its `host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointAddress {
    pub https: bool,
    pub host_port: String,
    /// The port written in the URL, else 443 (80 for http://).
    pub port: u16,
}

pub fn endpoint_address(url: &str) -> EndpointAddress {
    let (https, rest) = match url.split_once("://") {
        Some(("https", rest)) => (true, rest),
        Some((_, rest)) => (false, rest),
        None => (true, url),
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let written = authority
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse::<u16>().ok())
        .filter(|_| !authority.ends_with(']'));
    let (host_port, port) = match written {
        Some(port) => (authority.to_owned(), port),
        None => {
            let port = if https { 443 } else { 80 };
            (format!("{authority}:{port}"), port)
        }
    };
    EndpointAddress {
        https,
        host_port,
        port,
    }
}

/// The most a throttle may be, in Mbps: beyond any link a failback runs over, so a typo.
pub const MAX_BANDWIDTH_MBPS: u32 = 100_000;

/// The bandwidth throttle as typed: whole Mbps (`100`, `100 Mbps`), 0 for none.
pub fn bandwidth_mbps(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let number = t
        .strip_suffix("Mbps")
        .or_else(|| t.strip_suffix("mbps"))
        .or_else(|| t.strip_suffix("MBPS"))
        .unwrap_or(t)
        .trim();
    if number.is_empty() {
        return Err("Type the throttle in Mbps (for example 100), or 0 for no throttle.".into());
    }
    if let Some(why) = invisible("The throttle", number) {
        return Err(why);
    }
    if !number.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "`{number}` is not a whole number of Mbps: type digits only (for example 100), or 0 \
             for no throttle."
        ));
    }
    match number.parse::<u32>() {
        Ok(n) if n <= MAX_BANDWIDTH_MBPS => Ok(n),
        _ => Err(format!(
            "{number} Mbps is more than any link a failback runs over: type at most \
             {MAX_BANDWIDTH_MBPS}, or 0 for no throttle."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_characters_are_named() {
        let e = endpoint_url("http://127.0.0.1:4000\u{200b}").unwrap_err();
        assert!(
            e.contains("U+200B (zero-width space)") && e.contains("character 22"),
            "{e}"
        );
        let e = access_key_id("AKIA\u{feff}IOSFODNN7EXAMPLE").unwrap_err();
        assert!(e.contains("U+FEFF (byte order mark)"), "{e}");
        let e = secret_access_key(&format!("{}\u{85}", "a".repeat(40))).unwrap_err();
        assert!(e.contains("U+0085 (control character)"), "{e}");
        assert_eq!(invisible("x", "plain text, tabs\tand lines\n"), None);
    }

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    #[test]
    fn long_term_and_temporary_key_ids_pass() {
        assert_eq!(access_key_id("AKIAIOSFODNN7EXAMPLE"), Ok(()));
        assert_eq!(access_key_id("ASIAIOSFODNN7EXAMPL3"), Ok(()));
    }

    #[test]
    fn key_id_of_the_wrong_length_says_how_long_it_is() {
        assert_eq!(
            access_key_id("AKIAIOSFODNN7EXAMPL"),
            Err(
                "Access key ids are 20 characters like AKIA... or ASIA..., this one has 19.".into()
            )
        );
        assert!(
            access_key_id("ASIAIOSFODNN7EXAMPLE1")
                .unwrap_err()
                .ends_with("this one has 21.")
        );
    }

    #[test]
    fn key_id_in_lower_case_points_at_caps_lock() {
        let e = access_key_id("akiaiosfodnn7example").unwrap_err();
        assert!(e.contains("`a` at character 1"), "{e}");
        assert!(e.contains("Caps Lock"), "{e}");
    }

    #[test]
    fn key_id_with_spaces_or_symbols_is_refused() {
        assert!(
            access_key_id("AKIAIOSFODNN7EXAMPLE ")
                .unwrap_err()
                .contains("character 21")
        );
        assert!(
            access_key_id("AKIA-IOSFODNN7EXAMPL")
                .unwrap_err()
                .contains("`-` at character 5")
        );
        assert!(
            access_key_id("")
                .unwrap_err()
                .starts_with("Enter the access key id")
        );
    }

    #[test]
    fn user_and_role_ids_are_recognised_as_the_wrong_thing() {
        assert!(
            access_key_id("AIDAJQABLZS4A3QDU576Q")
                .unwrap_err()
                .contains("IAM user id")
        );
        assert!(
            access_key_id("AROADBQP57FF2AEXAMPLE")
                .unwrap_err()
                .contains("IAM role id")
        );
    }

    #[test]
    fn key_id_with_an_unknown_prefix_names_the_expected_ones() {
        let e = access_key_id("ABCDIOSFODNN7EXAMPLE").unwrap_err();
        assert!(
            e.contains("start with AKIA (long-term keys) or ASIA (temporary keys)"),
            "{e}"
        );
        assert!(e.contains("starts with ABCD"), "{e}");
        assert!(
            access_key_id("ABC")
                .unwrap_err()
                .contains("this one has 3 characters")
        );
    }

    #[test]
    fn forty_character_secret_passes() {
        assert_eq!(secret_access_key(SECRET), Ok(()));
    }

    #[test]
    fn secret_of_the_wrong_length_says_how_long_without_echoing() {
        let short = &SECRET[..39];
        let e = secret_access_key(short).unwrap_err();
        assert!(
            e.starts_with("Secret access keys are 40 characters; this one has 39."),
            "{e}"
        );
        assert!(!e.contains(&short[..8]), "{e}");
    }

    #[test]
    fn secret_with_a_foreign_character_names_only_its_position() {
        let bad = format!("{}!{}", &SECRET[..10], &SECRET[11..]);
        let e = secret_access_key(&bad).unwrap_err();
        assert!(e.contains("position 11"), "{e}");
        assert!(!e.contains('!'), "{e}");
        assert!(!e.contains(&SECRET[..10]), "{e}");
    }

    #[test]
    fn secret_with_whitespace_or_empty_is_refused() {
        let e = secret_access_key(&format!("{SECRET}\n")).unwrap_err();
        assert!(e.contains("line break at character 41"), "{e}");
        assert!(
            secret_access_key("")
                .unwrap_err()
                .starts_with("Enter the secret access key")
        );
    }

    #[test]
    fn key_id_pasted_as_secret_is_recognised() {
        assert!(
            secret_access_key("AKIAIOSFODNN7EXAMPLE")
                .unwrap_err()
                .contains("looks like the access key id")
        );
    }

    #[test]
    fn temporary_keys_need_a_session_token() {
        let e = session_token("ASIAIOSFODNN7EXAMPL3", "").unwrap_err();
        assert!(e.contains("temporary and need their session token"), "{e}");
        assert_eq!(
            session_token(
                "ASIAIOSFODNN7EXAMPL3",
                "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEU="
            ),
            Ok(())
        );
    }

    #[test]
    fn long_term_keys_take_no_session_token() {
        assert_eq!(session_token("AKIAIOSFODNN7EXAMPLE", ""), Ok(()));
        let e = session_token("AKIAIOSFODNN7EXAMPLE", "IQoJb3JpZ2luX2Vj").unwrap_err();
        assert!(e.contains("long-term and take no session token"), "{e}");
    }

    #[test]
    fn broken_session_token_is_refused_without_echoing() {
        let e = session_token("ASIAIOSFODNN7EXAMPL3", "IQoJb3Jp\nZ2luX2Vj").unwrap_err();
        assert!(e.contains("line break at character 9"), "{e}");
        assert!(!e.contains("IQoJ"), "{e}");
        let e = session_token("ASIAIOSFODNN7EXAMPL3", "IQoJb3Jp\"Z2luX2Vj").unwrap_err();
        assert!(e.contains("position 9"), "{e}");
        assert!(!e.contains('"'), "{e}");
    }

    #[test]
    fn recovery_instance_ids_are_i_and_eight_hex_digits_or_more() {
        for ok in ["i-0123abcd", "i-0123456789abcdef0", "i-ABCDEF01"] {
            assert_eq!(recovery_instance_id(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "i-",
            "i-0123abc",
            "0123456789abcdef0",
            "i-0123456789abcdefg",
            "s-1234567890abcdef0",
        ] {
            let e = recovery_instance_id(bad).unwrap_err();
            assert!(
                e.contains(&format!("`{bad}`")) && e.contains("i-0123456789abcdef0"),
                "{e}"
            );
        }
    }

    #[test]
    fn an_endpoints_port_is_the_one_written_else_its_schemes() {
        let at = |url: &str| {
            let a = endpoint_address(url);
            (a.https, a.host_port, a.port)
        };
        assert_eq!(
            at("http://127.0.0.1:39057"),
            (false, "127.0.0.1:39057".into(), 39057)
        );
        assert_eq!(
            at("https://drs.eu-west-1.amazonaws.com/"),
            (true, "drs.eu-west-1.amazonaws.com:443".into(), 443)
        );
        assert_eq!(
            at("http://drs.internal"),
            (false, "drs.internal:80".into(), 80)
        );
        assert_eq!(at("https://[::1]:8443"), (true, "[::1]:8443".into(), 8443));
        assert_eq!(at("https://[::1]"), (true, "[::1]:443".into(), 443));
    }

    #[test]
    fn default_endpoint_is_the_regional_drs_host() {
        assert_eq!(
            default_endpoint("eu-west-1"),
            "https://drs.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            endpoint_url(&default_endpoint("us-east-1")),
            Ok(default_endpoint("us-east-1"))
        );
    }

    #[test]
    fn endpoint_is_normalised() {
        for (given, normal) in [
            (
                "https://drs.us-east-1.amazonaws.com/",
                "https://drs.us-east-1.amazonaws.com",
            ),
            (
                " HTTPS://DRS.US-EAST-1.AMAZONAWS.COM ",
                "https://drs.us-east-1.amazonaws.com",
            ),
            (
                "drs.us-east-1.amazonaws.com",
                "https://drs.us-east-1.amazonaws.com",
            ),
            ("https://10.0.0.5:8443", "https://10.0.0.5:8443"),
        ] {
            assert_eq!(endpoint_url(given), Ok(normal.to_string()), "{given}");
        }
    }

    #[test]
    fn vpc_endpoint_names_are_accepted() {
        let vpce = "https://vpce-0abc-xyz.drs.us-east-1.vpce.amazonaws.com";
        assert_eq!(endpoint_url(vpce), Ok(vpce.to_string()));
    }

    #[test]
    fn plain_http_only_for_loopback() {
        for local in [
            "http://127.0.0.1:8080",
            "http://localhost:9000",
            "http://[::1]:8443",
        ] {
            assert_eq!(endpoint_url(local), Ok(local.to_string()), "{local}");
        }
        let e = endpoint_url("http://drs.us-east-1.amazonaws.com").unwrap_err();
        assert!(
            e.starts_with("Use https://: plain http:// would carry"),
            "{e}"
        );
    }

    #[test]
    fn endpoint_with_path_or_query_is_refused() {
        let e = endpoint_url("https://drs.us-east-1.amazonaws.com/DescribeJobs").unwrap_err();
        assert!(e.ends_with("remove `/DescribeJobs`."), "{e}");
        assert!(endpoint_url("https://drs.us-east-1.amazonaws.com?x=1").is_err());
        assert!(endpoint_url("https://drs.us-east-1.amazonaws.com/#frag").is_err());
    }

    #[test]
    fn endpoint_needs_a_valid_host() {
        assert!(
            endpoint_url("https://")
                .unwrap_err()
                .contains("no host name")
        );
        assert!(endpoint_url("https:///x").is_err());
        assert!(
            endpoint_url("https://drs..amazonaws.com")
                .unwrap_err()
                .contains("empty part")
        );
        assert!(
            endpoint_url("https://drs_1.amazonaws.com")
                .unwrap_err()
                .contains("contains `_`")
        );
        assert!(
            endpoint_url("https://-drs.amazonaws.com")
                .unwrap_err()
                .contains("starts or ends with -")
        );
        assert!(
            endpoint_url("https://[::1")
                .unwrap_err()
                .contains("no closing `]`")
        );
        assert!(
            endpoint_url("https://[zz]")
                .unwrap_err()
                .contains("not an IPv6 address")
        );
        assert!(
            endpoint_url("")
                .unwrap_err()
                .starts_with("Enter the endpoint URL")
        );
    }

    #[test]
    fn endpoint_port_must_be_a_port() {
        for bad in [
            "https://host:0",
            "https://host:65536",
            "https://host:",
            "https://host:+1",
            "https://host:1:2",
        ] {
            assert!(
                endpoint_url(bad).unwrap_err().contains("is not a port"),
                "{bad}"
            );
        }
    }

    #[test]
    fn endpoint_refuses_other_schemes_and_user_info() {
        assert!(
            endpoint_url("ftp://drs.us-east-1.amazonaws.com")
                .unwrap_err()
                .contains("not ftp://")
        );
        let e = endpoint_url("https://user:pass@drs.us-east-1.amazonaws.com").unwrap_err();
        assert!(e.contains("user name or password"), "{e}");
        assert!(!e.contains("pass@"), "{e}");
    }

    #[test]
    fn bandwidth_is_whole_mbps_with_zero_for_none() {
        assert_eq!(bandwidth_mbps("100"), Ok(100));
        assert_eq!(bandwidth_mbps(" 250 Mbps "), Ok(250));
        assert_eq!(bandwidth_mbps("0"), Ok(0));
        assert_eq!(bandwidth_mbps("100000"), Ok(100_000));
        assert!(
            bandwidth_mbps("")
                .unwrap_err()
                .contains("0 for no throttle")
        );
        assert!(bandwidth_mbps("12.5").unwrap_err().contains("digits only"));
        assert!(bandwidth_mbps("-5").unwrap_err().contains("digits only"));
        assert!(
            bandwidth_mbps("100001")
                .unwrap_err()
                .contains("at most 100000")
        );
        assert!(
            bandwidth_mbps("99999999999")
                .unwrap_err()
                .contains("at most")
        );
        assert!(bandwidth_mbps("1\u{200b}0").unwrap_err().contains("U+200B"));
    }
}
