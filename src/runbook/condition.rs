//! Evaluating a choice's `when` conditions on the evidence, and picking the choice to suggest.
//! It only reads facts; it never decides for the user (the UI shows the suggestion to confirm).
//!
//! A missing fact never satisfies a test, except `exists: false`. Text compares without regard
//! to ASCII case; a list fact "exists" only when it holds at least one item.

use crate::facts::{FactValue, Facts};
use crate::runbook::model::{Condition, Question, Test};
use crate::sanitize;

/// The choice the evidence supports, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// Index into `question.choices()`.
    pub choice: usize,
    pub reason: String,
}

impl Condition {
    /// Whether the condition holds on these facts.
    pub fn holds(&self, facts: &Facts) -> bool {
        self.matched(facts).is_some()
    }

    /// The fact that made the condition hold, as `key = value` (sanitised), or `None` when it
    /// does not hold.
    pub fn matched(&self, facts: &Facts) -> Option<String> {
        match self {
            Condition::Any(group) => group.iter().find_map(|c| c.matched(facts)),
            Condition::Fact { fact, test } => {
                let value = facts.get(fact);
                test.passes(value).then(|| match value {
                    Some(v) => format!("{fact} = {}", sanitize::line(&v.to_string())),
                    None => format!("{fact} is absent"),
                })
            }
        }
    }
}

impl Test {
    /// Whether a fact value (or its absence) passes this test.
    pub fn passes(&self, value: Option<&FactValue>) -> bool {
        let Some(value) = value else {
            return matches!(self, Test::Exists(false));
        };
        match self {
            Test::Exists(want) => exists(value) == *want,
            Test::Equals(expected) => equals(value, expected),
            Test::OneOf(options) => options.iter().any(|o| equals(value, o)),
            Test::AtLeast(n) => number(value).is_some_and(|v| v >= *n),
            Test::AtMost(n) => number(value).is_some_and(|v| v <= *n),
            Test::Contains(needle) => contains(value, needle),
        }
    }
}

fn exists(value: &FactValue) -> bool {
    match value {
        FactValue::List(items) => !items.is_empty(),
        FactValue::Text(text) => !text.is_empty(),
        FactValue::Bool(_) | FactValue::Int(_) => true,
    }
}

fn equals(value: &FactValue, expected: &FactValue) -> bool {
    match (value, expected) {
        (FactValue::Bool(a), FactValue::Bool(b)) => a == b,
        (FactValue::Text(a), FactValue::Text(b)) => a.eq_ignore_ascii_case(b),
        (FactValue::Int(_) | FactValue::Text(_), FactValue::Int(_) | FactValue::Text(_)) => {
            value.as_int().is_some() && value.as_int() == expected.as_int()
        }
        _ => false,
    }
}

/// A number to compare: an integer, a numeric text, or the length of a list.
fn number(value: &FactValue) -> Option<i64> {
    match value {
        FactValue::List(items) => i64::try_from(items.len()).ok(),
        other => other.as_int(),
    }
}

fn contains(value: &FactValue, needle: &str) -> bool {
    match value {
        FactValue::List(items) => items.iter().any(|i| i.eq_ignore_ascii_case(needle)),
        FactValue::Text(text) => text.to_ascii_lowercase().contains(&needle.to_ascii_lowercase()),
        FactValue::Bool(_) | FactValue::Int(_) => false,
    }
}

/// The first choice whose non-empty `when` holds entirely, with its `because` or, without one,
/// a reason naming the facts that matched.
pub fn suggest(question: &Question, facts: &Facts) -> Option<Suggestion> {
    question.choices().iter().enumerate().find_map(|(index, choice)| {
        if choice.when.is_empty() {
            return None;
        }
        let matched: Option<Vec<String>> = choice.when.iter().map(|c| c.matched(facts)).collect();
        let matched = matched?;
        let reason = match &choice.because {
            Some(because) => because.clone(),
            None => format!("the evidence shows {}", matched.join("; ")),
        };
        Some(Suggestion { choice: index, reason })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::model::{Choice, Next};

    fn fact(key: &str, test: Test) -> Condition {
        Condition::Fact { fact: key.to_owned(), test }
    }

    fn facts() -> Facts {
        let mut f = Facts::new();
        f.set("http.status", 502_i64);
        f.set("responder.vendor", "Cloudflare");
        f.set("http.request_ids", vec!["cf-ray: 1".to_owned()]);
        f.set("logs.signatures", Vec::<String>::new());
        f.set("http.intermittent", false);
        f
    }

    #[test]
    fn each_operator_on_present_facts() {
        let f = facts();
        assert!(fact("http.status", Test::Equals(502_i64.into())).holds(&f));
        assert!(fact("http.status", Test::Equals("502".into())).holds(&f));
        assert!(!fact("http.status", Test::Equals(503_i64.into())).holds(&f));
        assert!(fact("http.status", Test::OneOf(vec![503_i64.into(), 502_i64.into()])).holds(&f));
        assert!(fact("responder.vendor", Test::Equals("cloudflare".into())).holds(&f));
        assert!(fact("http.status", Test::AtLeast(500)).holds(&f));
        assert!(!fact("http.status", Test::AtMost(499)).holds(&f));
        assert!(fact("http.request_ids", Test::Contains("CF-RAY: 1".into())).holds(&f));
        assert!(fact("responder.vendor", Test::Contains("flare".into())).holds(&f));
        assert!(fact("http.request_ids", Test::AtLeast(1)).holds(&f));
        assert!(fact("http.intermittent", Test::Equals(false.into())).holds(&f));
        assert!(!fact("http.intermittent", Test::Equals("false".into())).holds(&f));
    }

    #[test]
    fn missing_facts_hold_only_for_exists_false() {
        let f = facts();
        for test in [
            Test::Equals(1_i64.into()),
            Test::OneOf(vec![]),
            Test::AtLeast(i64::MIN),
            Test::AtMost(i64::MAX),
            Test::Contains(String::new()),
            Test::Exists(true),
        ] {
            assert!(!fact("dns.resolves", test).holds(&f));
        }
        assert!(fact("dns.resolves", Test::Exists(false)).holds(&f));
        assert!(fact("logs.signatures", Test::Exists(false)).holds(&f), "empty list");
    }

    #[test]
    fn any_holds_when_one_holds() {
        let f = facts();
        let group = Condition::Any(vec![
            fact("dns.resolves", Test::Exists(true)),
            fact("responder.vendor", Test::Equals("cloudflare".into())),
        ]);
        assert!(group.holds(&f));
        assert!(!Condition::Any(vec![]).holds(&f));
    }

    fn choice(id: &str, when: Vec<Condition>, because: Option<&str>) -> Choice {
        Choice {
            id: id.to_owned(),
            label: id.to_owned(),
            target: Next::Outcome("end".to_owned()),
            when,
            because: because.map(str::to_owned),
            made: None,
        }
    }

    #[test]
    fn suggests_the_first_choice_whose_conditions_all_hold() {
        let question = Question::Choice {
            prompt: "?".to_owned(),
            choices: vec![
                choice("no-conditions", vec![], None),
                choice(
                    "half",
                    vec![
                        fact("http.status", Test::Equals(502_i64.into())),
                        fact("dns.resolves", Test::Exists(true)),
                    ],
                    Some("never"),
                ),
                choice(
                    "cdn",
                    vec![
                        fact("http.status", Test::OneOf(vec![502_i64.into()])),
                        fact("responder.vendor", Test::Equals("cloudflare".into())),
                    ],
                    None,
                ),
                choice("later", vec![fact("http.status", Test::AtLeast(1))], Some("also")),
            ],
        };
        let s = suggest(&question, &facts()).unwrap();
        assert_eq!(s.choice, 2);
        assert_eq!(s.reason, "the evidence shows http.status = 502; responder.vendor = Cloudflare");
        assert_eq!(suggest(&question, &Facts::new()), None);
    }

    #[test]
    fn reason_is_sanitised() {
        let mut f = Facts::new();
        f.set("http.server", "evil\u{1b}[2Jserver");
        let question = Question::YesNo {
            prompt: "?".to_owned(),
            choices: vec![choice("yes", vec![fact("http.server", Test::Exists(true))], None)],
        };
        let s = suggest(&question, &f).unwrap();
        assert_eq!(s.reason, "the evidence shows http.server = evilserver");
    }
}
