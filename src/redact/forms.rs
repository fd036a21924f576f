//! Secrets in the forms that configs, headers and command lines give them: `Authorization`
//! values (the scheme stays), cookie strings after cookie-ish words (the cookie names stay),
//! web-server directives that set a header or variable (`proxy_set_header`, `fastcgi_param`,
//! `SetEnv`, `RequestHeader set`), XML elements and `appSettings` entries, `curl -u`,
//! `mysql -p`, `redis-cli -a`, `sshpass -p`, `.netrc`, `requirepass`, SMTP `AUTH PLAIN`.

use std::borrow::Cow;

use super::compiled::{Captures, Compiled};
use super::gate::Pattern;

use super::names;

/// `Authorization` schemes whose credential is one token.
const ONE_TOKEN: &str = concat!(
    "bearer|basic|token|bot|apikey|api-key|key|ssws|splunk|geniekey|negotiate|ntlm|oauth",
    "|sharedaccesssignature",
);
/// Schemes whose parameters hold quotes and commas: they run to the end of the line.
const PARAMETERS: &str = "digest|aws4-hmac-sha256|hmac-sha256|signature|hawk";
/// One token: up to a blank, a quote, a backslash, `,` or `;`.
const TOKEN: &str = r#"[^\s"'`\\,;\x{FFFD}]+"#;
/// To the end of the line, a written `\n` included.
const TO_LINE_END: &str = r"(?:[^\r\n\\\x{FFFD}]|\\[^nrt])+";

pub(super) static AUTHORIZATION: Pattern =
    Pattern::without_prefilter(&super::gates::AUTHORIZATION, || {
        let credential = |group: &str| {
            let one = format!("(?:{ONE_TOKEN})[ \\t]+(?P<s{group}1>{TOKEN})");
            format!("{one}|(?:{PARAMETERS})[ \\t]+(?P<s{group}2>{TO_LINE_END})")
        };
        // After `:` or `=` (a header, JSON, a config line) the scheme is optional; after blanks
        // (`proxy_set_header Authorization "Basic …"`) it is required, or "authorization failed"
        // would lose its verb.
        let after_colon =
            format!(r#"\\?["']?[ \t]*[:=][ \t]*\\?["']?(?:{}|(?P<s3>{TOKEN}))"#, credential("a"));
        let after_blank = format!(r#"[ \t]+\\?["']?(?:{})"#, credential("b"));
        super::source(&format!(
            r"(?i){}(?:proxy-)?authorization(?:{after_colon}|{after_blank})",
            super::BOUNDARY
        ))
    });

/// `Cookie: a=1; b=2`, `cookie: "a=1; b=2"`, `"cookies": "a=1"`, `set cookie a=1`: the pairs.
pub(super) static COOKIES: Pattern = Pattern::without_prefilter(&super::gates::COOKIES, || {
    let value = r#"(?:"[^"\r\n]*"|[^;"'\s\\\x{FFFD}]*)"#;
    let first = format!(r#"[^\s=;,"'\\\x{{FFFD}}]+={value}"#);
    let more = format!(r#"[^\s=;,"'\\\x{{FFFD}}]+(?:={value})?"#);
    let separator = r#"(?:\\?["']?[ \t]*[:=][ \t]*\\?["']?|[ \t]+\\?["']?)"#;
    super::source(&format!(
        r"(?i){}(?:set-cookie|cookies?){separator}(?P<pairs>{first}(?:;[ \t]*{more})*)",
        super::BOUNDARY
    ))
});

/// Cookie attributes, whose values are not secrets.
const ATTRIBUTES: &[&str] =
    &["path", "domain", "expires", "max-age", "samesite", "priority", "version", "comment"];

/// nginx and Apache directives that set a header or a variable: `name` and its value.
pub(super) static DIRECTIVES: Pattern = Pattern::without_prefilter(
    &super::gates::DIRECTIVES,
    || {
        let directive = concat!(
            "(?:proxy_set_header|grpc_set_header|add_header|more_set_headers|fastcgi_param|uwsgi_param",
            "|scgi_param|setenv|(?:requestheader|header(?:[ \\t]+always)?)",
            "[ \\t]+(?:set|append|add|merge|setifempty))",
        );
        let value = r#"(?:"(?P<s1>[^"\r\n]*)"|'(?P<s2>[^'\r\n]*)'|(?P<s3>[^\s;"'\x{FFFD}]+))"#;
        super::source(&format!(
            r"(?i){}{directive}[ \t]+(?P<name>[A-Za-z0-9_.-]+)[ \t]+{value}",
            super::BOUNDARY
        ))
    },
);

/// Command lines, config lines and markup that carry one secret each (the `s…` groups).
const COMMAND_FORMS: &[&str] = &[
    // curl -u user:password, --user, --proxy-user
    concat!(
        r#"(?:^|[ \t])(?:-u|--user|--proxy-user)[ \t]*(?:'[^':\r\n]*:(?P<s1>[^'\r\n]*)'"#,
        r#"|"[^":\r\n]*:(?P<s2>[^"\r\n]*)"|(?P<user>[^\s:'"\x{FFFD}]+):(?P<s3>[^\s'"\x{FFFD}]+))"#,
    ),
    // mysql -pPASSWORD (not -P, the port)
    concat!(
        r"BOUNDARYmysql(?:dump|admin|import|check|slap|sh)?(?-u:\b)[^\r\n|;&]*?[ \t](?-i:-p)",
        r#"(?:'(?P<s4>[^'\r\n]*)'|"(?P<s5>[^"\r\n]*)"|(?P<s6>[^\s'"\x{FFFD}]+))"#,
    ),
    // redis-cli -a PASSWORD
    concat!(
        r"BOUNDARYredis-cli(?-u:\b)[^\r\n|;&]*?[ \t](?-i:-a)[ \t]+",
        r#"(?:'(?P<s7>[^'\r\n]*)'|"(?P<s8>[^"\r\n]*)"|(?P<s9>[^\s'"\x{FFFD}]+))"#,
    ),
    // sshpass -p PASSWORD
    concat!(
        r"BOUNDARYsshpass[ \t]+(?-i:-p)[ \t]*",
        r#"(?:'(?P<s10>[^'\r\n]*)'|"(?P<s11>[^"\r\n]*)"|(?P<s12>[^\s'"\x{FFFD}]+))"#,
    ),
    // .netrc: machine HOST login USER password PASSWORD
    r"BOUNDARYlogin[ \t]+\S+[ \t]+password[ \t]+(?P<s13>(?:[^\s\\\x{FFFD}]|\\[^nrt\s\x{FFFD}])+)",
    // redis.conf
    r"BOUNDARY(?:requirepass|masterauth)[ \t]+(?P<s14>(?:[^\s\\\x{FFFD}]|\\[^nrt\s\x{FFFD}])+)",
    // SMTP AUTH PLAIN base64 in a mail log
    r"BOUNDARYAUTH[ \t]+(?:PLAIN|LOGIN|XOAUTH2)[ \t]+(?P<s15>[A-Za-z0-9+/=]{8,})",
    // <password>…</password>, decided by the tag's name
    r"<(?P<tag>[A-Za-z0-9_:.-]+)>(?P<s16>[^<\r\n]+)</",
    // .NET appSettings: <add key="StorageAccountKey" value="…"/>, decided by the key
    r#"(?:key|name)[ \t]*=[ \t]*"(?P<name_a>[^"\r\n]*)"[ \t]+value[ \t]*=[ \t]*"(?P<s17>[^"\r\n]*)""#,
    // ECS and other JSON environments: {"name": "DB_PASSWORD", "value": "…"}
    concat!(
        r#""(?:key|name)"[ \t]*:[ \t]*"(?P<name_b>[^"\r\n]*)"[ \t]*,[ \t]*"#,
        r#""value"[ \t]*:[ \t]*"(?P<s18>(?:[^"\\\r\n]|\\.)*)""#,
    ),
    // Kubernetes env: `- name: DB_PASSWORD` with `value: …` on the next line
    concat!(
        r#"name:[ \t]*["']?(?P<name_c>[A-Za-z0-9_.-]+)["']?[ \t]*(?:\r?\n|\\n|\x{FFFD})[ \t]*value:[ \t]*"#,
        r#"(?:"(?P<s19>[^"\r\n]*)"|'(?P<s20>[^'\r\n]*)'|(?P<s21>[^\s"'\\\x{FFFD}][^\r\n\\\x{FFFD}]*))"#,
    ),
];

pub(super) static COMMANDS: Pattern = Pattern::without_prefilter(&super::gates::COMMANDS, || {
    let forms = COMMAND_FORMS.join("|").replace("BOUNDARY", super::BOUNDARY);
    super::source(&format!("(?i){forms}"))
});

pub(super) fn authorization<'a>(text: Cow<'a, str>, re: &Compiled) -> Cow<'a, str> {
    super::mask_groups(text, re, |_| true)
}

pub(super) fn cookies<'a>(text: Cow<'a, str>, re: &Compiled) -> Cow<'a, str> {
    let spans: Vec<_> = re
        .captures_iter(&text)
        .filter_map(|c| c.name("pairs"))
        .flat_map(|pairs| {
            cookie_values(pairs.as_str())
                .map(move |v| v.start + pairs.start()..v.end + pairs.start())
        })
        .collect();
    super::masked(text, &spans)
}

/// A `Cookie` or `Set-Cookie` header value with every cookie's value masked.
pub(super) fn cookie_header(value: &str) -> Cow<'_, str> {
    if !value.contains('=') && !names::is_placeholder(value) {
        return Cow::Borrowed(super::MASK);
    }
    let spans: Vec<_> = cookie_values(value).collect();
    super::masked(Cow::Borrowed(value), &spans)
}

/// The spans of the values in `a=1; b=2; Path=/`, attributes and masked values aside.
fn cookie_values(pairs: &str) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let mut offset = 0;
    pairs.split(';').filter_map(move |pair| {
        let start = offset;
        offset += pair.len() + 1;
        let (name, value) = pair.split_once('=')?;
        let name = name.trim();
        let attribute = ATTRIBUTES.iter().any(|a| a.eq_ignore_ascii_case(name));
        let value_start = start + pair.find('=')? + 1;
        let trimmed = value.trim_end();
        (!attribute && !trimmed.trim().is_empty() && !trimmed.contains(super::MASK))
            .then(|| value_start..value_start + trimmed.len())
    })
}

pub(super) fn directives<'a>(text: Cow<'a, str>, re: &Compiled) -> Cow<'a, str> {
    super::mask_groups(text, re, |c| {
        let name = c.name("name").map_or("", |m| m.as_str());
        let value = ["s1", "s2", "s3"].iter().find_map(|g| c.name(g)).map_or("", |m| m.as_str());
        // `Authorization` lines were done by `authorization`, which keeps the scheme.
        !name.to_ascii_lowercase().contains("authorization") && names::is_secret_value(name, value)
    })
}

pub(super) fn commands<'a>(text: Cow<'a, str>, re: &Compiled) -> Cow<'a, str> {
    super::mask_groups(text, re, command_is_secret)
}

/// The forms that carry a name (a tag, a key attribute, `name:`) are secrets when the name
/// says so; the others always are, `-u UID:GID` aside.
fn command_is_secret(c: &Captures) -> bool {
    let value = |g: &str| c.name(g).map_or("", |m| m.as_str());
    let named = ["tag", "name_a", "name_b", "name_c"].iter().find_map(|g| c.name(g));
    if let Some(name) = named {
        let secret = ["s16", "s17", "s18", "s19", "s20", "s21"].iter().find_map(|g| c.name(g));
        return names::is_secret_value(name.as_str(), secret.map_or("", |m| m.as_str()));
    }
    // `docker run -u 1000:1000` names a user and a group, not a password.
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    !(numeric(value("user")) && numeric(value("s3")))
}

#[cfg(test)]
mod tests {
    use super::super::text;

    #[test]
    fn forms_keep_their_shape() {
        let cases = [
            (
                "Authorization: Digest username=\"a\", response=\"f00\"",
                "Authorization: Digest [redacted]",
            ),
            (
                "proxy_set_header Authorization \"Basic dXNlcjpwYXNz\";",
                "proxy_set_header Authorization \"Basic [redacted]\";",
            ),
            ("cookie: \"a=1; b=2\"", "cookie: \"a=[redacted]; b=[redacted]\""),
            ("Set-Cookie: s=x; Path=/; HttpOnly", "Set-Cookie: s=[redacted]; Path=/; HttpOnly"),
            ("fastcgi_param APP_SECRET abc;", "fastcgi_param APP_SECRET [redacted];"),
            ("curl -u ops:pw1 https://x", "curl -u ops:[redacted] https://x"),
            ("docker run -u 1000:1000 img", "docker run -u 1000:1000 img"),
            ("mysql -u root -ps3cret db", "mysql -u root -p[redacted] db"),
            ("mysqladmin -P3306 status", "mysqladmin -P3306 status"),
            ("Header always set X-Api-Key k1", "Header always set X-Api-Key [redacted]"),
            ("<user>app</user><pass>x</pass>", "<user>app</user><pass>[redacted]</pass>"),
            ("- name: API_TOKEN\n  value: t0k3n", "- name: API_TOKEN\n  value: [redacted]"),
            (
                r#"{"name": "DB_PASS", "value": "x"}"#,
                r#"{"name": "DB_PASS", "value": "[redacted]"}"#,
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(text(input), expected, "{input}");
        }
    }
}
