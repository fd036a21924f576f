//! URLs: the password of the userinfo, whatever characters it holds, and the values of
//! secret-named query parameters (in URLs, request lines and HTML, `&amp;` included).

use std::borrow::Cow;

use super::compiled::{Captures, Compiled};
use super::gate::Pattern;

use super::names;

/// `scheme://user:password@` — the password may hold `/ # ? @`: it ends at the last `@` before
/// the first `/`, `?` or `#` that follows an `@` (so `u:p@ss@host/a@b` is user `u`, password
/// `p@ss`). Or `scheme://TOKEN@`, a user name long enough to be a token.
pub(super) static USERINFO: Pattern = Pattern::new(&super::gates::USERINFO, || {
    super::source(concat!(
        r"[A-Za-z][A-Za-z0-9+.-]*://",
        r#"(?:[^\s/?#@:"'<>`\\\x{FFFD}]*:(?P<s>[^\s@"'<>`\\\x{FFFD}]*(?:@[^\s@/?#"'<>`\\\x{FFFD}]*)*)"#,
        r#"|(?P<s_user>[^\s/?#@:"'<>`\\\x{FFFD}]{16,}))@"#,
    ))
});

pub(super) static QUERY: Pattern = Pattern::new(&super::gates::QUERY, || {
    super::source(
        r#"(?:[?&]|&amp;)(?P<name>[A-Za-z0-9_.~%+\-\[\]]+)=(?P<s>[^&#\s"'<>`\\\x{FFFD}]*)"#,
    )
});

pub(super) fn userinfo<'a>(text: Cow<'a, str>, re: &Compiled) -> Cow<'a, str> {
    super::mask_groups(text, re, |c| !is_port(c))
}

/// `host:8443/users/@alice` is a port and a path, not a password.
fn is_port(c: &Captures) -> bool {
    let Some(password) = c.name("s") else { return false };
    let digits = password.as_str().bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && password.as_str()[digits..].starts_with(['/', '?', '#'])
}

pub(super) fn queries<'a>(text: Cow<'a, str>, re: &Compiled) -> Cow<'a, str> {
    super::mask_groups(text, re, |c| {
        let name = c.name("name").map_or("", |m| m.as_str());
        let value = c.name("s").map_or("", |m| m.as_str());
        names::is_secret_name(name) && !names::is_placeholder(value)
    })
}

#[cfg(test)]
mod tests {
    use super::super::text;

    #[test]
    fn a_password_may_hold_any_character() {
        let cases = [
            ("mysql://u:PA/SS@db:3306/x", "mysql://u:[redacted]@db:3306/x"),
            ("postgres://u:a#b?c@db/x", "postgres://u:[redacted]@db/x"),
            ("amqp://u:p@ss@mq/vhost", "amqp://u:[redacted]@mq/vhost"),
            ("https://u:p@host/a/@b", "https://u:[redacted]@host/a/@b"),
            ("redis://:pw@127.0.0.1:6379", "redis://:[redacted]@127.0.0.1:6379"),
            ("https://host:8443/users/@alice", "https://host:8443/users/@alice"),
            ("ssh://git@github.com/x.git", "ssh://git@github.com/x.git"),
            ("<a href=\"/cb?a=1&amp;code=4/0Ab\">", "<a href=\"/cb?a=1&amp;code=[redacted]\">"),
        ];
        for (input, expected) in cases {
            assert_eq!(text(input), expected, "{input}");
        }
    }
}
