//! Raw runbook types that mirror the YAML one to one (stage 1 of the loader). They carry source
//! positions so the validator can point at the offending line. Together with `crate::yaml` this is
//! the only code that knows the YAML crate; nothing outside `runbook` may use these types.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::layer::Layer;
use crate::runbook::model::{EscalateTo, Family, Fill, Risk, Severity, SupportItem, Who};
use crate::yaml::{At, Text};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRunbook {
    pub id: Text,
    pub title: Text,
    pub version: Text,
    pub summary: Text,
    #[serde(default)]
    pub applies_to: Vec<At<u16>>,
    pub start: Text,
    #[serde(default)]
    pub inputs: Vec<RawInput>,
    pub steps: At<Vec<RawStep>>,
    pub outcomes: At<Vec<RawOutcome>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInput {
    pub name: Text,
    pub prompt: Text,
    pub kind: At<RawInputKind>,
    #[serde(default)]
    pub required: bool,
    pub default: Option<Text>,
    pub help: Option<Text>,
    pub options: Option<At<Vec<Text>>>,
    pub from: Option<Text>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawInputKind {
    Url,
    Host,
    Path,
    Text,
    Choice,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub id: Text,
    pub title: Text,
    #[serde(default)]
    pub kind: RawStepKind,
    pub layer: At<Layer>,
    pub why: Text,
    #[serde(default)]
    pub instructions: Vec<Text>,
    #[serde(default)]
    pub commands: Vec<RawCommand>,
    #[serde(default)]
    pub checks: Vec<RawCheck>,
    #[serde(default)]
    pub causes: Vec<RawCause>,
    #[serde(default)]
    pub checklists: Vec<RawChecklist>,
    #[serde(default)]
    pub notes: Vec<Text>,
    #[serde(default)]
    pub record: Vec<RawRecord>,
    pub question: At<RawQuestion>,
    #[serde(default)]
    pub fixes: Vec<RawFix>,
    pub watch: Option<At<RawRepeat>>,
}

/// `check` (the default): a step that examines a layer. `fix`: a step that is its fix cards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawStepKind {
    #[default]
    Check,
    Fix,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRepeat {
    pub every: Text,
    pub r#for: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCommand {
    pub run: Text,
    pub purpose: Text,
    pub effect: At<RawEffect>,
    pub risk: Option<At<Risk>>,
    pub rollback: Option<Text>,
    pub family: Option<At<Family>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawEffect {
    ReadOnly,
    ChangesSystem,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    pub check: Text,
    #[serde(default)]
    pub with: RawParams,
}

/// Check parameters in the order written, keys and values with positions.
#[derive(Debug, Default)]
pub struct RawParams(pub Vec<(Text, Text)>);

impl<'de> Deserialize<'de> for RawParams {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ParamsVisitor;
        impl<'de> Visitor<'de> for ParamsVisitor {
            type Value = RawParams;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of parameter names to string values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawParams, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<Text, Text>()? {
                    out.push((k, v));
                }
                Ok(RawParams(out))
            }
        }
        deserializer.deserialize_map(ParamsVisitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCause {
    pub id: Text,
    pub title: Text,
    #[serde(default)]
    pub statuses: Vec<At<u16>>,
    pub severity: Severity,
    pub signs: Text,
    pub next: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChecklist {
    pub title: Text,
    pub items: Vec<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRecord {
    pub item: SupportItem,
    pub from: Option<Text>,
    pub ask: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawQuestion {
    pub kind: At<RawQuestionKind>,
    pub prompt: Text,
    pub choices: Option<At<Vec<RawChoice>>>,
    pub default: Option<Text>,
    pub next: Option<Text>,
    pub outcome: Option<Text>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawQuestionKind {
    YesNo,
    Choice,
    Text,
}

impl RawQuestionKind {
    pub fn id(self) -> &'static str {
        match self {
            RawQuestionKind::YesNo => "yes_no",
            RawQuestionKind::Choice => "choice",
            RawQuestionKind::Text => "text",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChoice {
    pub id: Text,
    pub label: Text,
    pub next: Option<Text>,
    pub outcome: Option<Text>,
    #[serde(default)]
    pub when: Vec<At<RawCondition>>,
    pub because: Option<Text>,
    pub made: Option<Text>,
}

/// One condition as written: `fact` plus exactly one operator, or an `any:` group. Which of
/// these are set is checked in stage 2, so that every mistake gets a position and a clear message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCondition {
    pub fact: Option<Text>,
    pub equals: Option<At<RawScalar>>,
    pub one_of: Option<At<Vec<At<RawScalar>>>>,
    pub exists: Option<At<bool>>,
    pub at_least: Option<At<i64>>,
    pub at_most: Option<At<i64>>,
    pub contains: Option<Text>,
    pub any: Option<At<Vec<At<RawCondition>>>>,
}

/// A scalar in a condition: a boolean, an integer or a string, as YAML typed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawScalar {
    Bool(bool),
    Int(i64),
    Text(String),
}

impl<'de> Deserialize<'de> for RawScalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl Visitor<'_> for ScalarVisitor {
            type Value = RawScalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, a string, true or false")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawScalar, E> {
                Ok(RawScalar::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawScalar, E> {
                Ok(RawScalar::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawScalar, E> {
                i64::try_from(v).map(RawScalar::Int).map_err(|_| {
                    E::custom("number too large; expected at most 9223372036854775807")
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawScalar, E> {
                Ok(RawScalar::Text(v.to_owned()))
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFix {
    pub id: Text,
    pub title: Text,
    pub time: Text,
    pub risk: Risk,
    pub who: Who,
    pub summary: Text,
    pub steps: Vec<Text>,
    #[serde(default)]
    pub commands: Vec<RawCommand>,
    pub expected: Text,
    pub if_failed: Text,
    pub verify: Text,
    pub rollback: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutcome {
    pub id: Text,
    pub title: Text,
    pub kind: At<RawOutcomeKind>,
    pub to: Option<At<EscalateTo>>,
    pub summary: Text,
    #[serde(default)]
    pub send: Vec<RawSend>,
}

/// A `send:` entry: plain text, or `{ text, fill, ask }`.
#[derive(Debug)]
pub struct RawSend {
    pub text: Text,
    pub fill: Vec<At<Fill>>,
    pub ask: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSendFull {
    pub text: Text,
    #[serde(default)]
    pub fill: Vec<At<Fill>>,
    pub ask: Option<Text>,
}

/// What a `send:` entry was written as, before its position is attached.
enum PlainOrMap {
    Plain(String),
    Map(RawSend),
}

impl<'de> Deserialize<'de> for PlainOrMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SendVisitor;
        impl<'de> Visitor<'de> for SendVisitor {
            type Value = PlainOrMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a text, or a mapping with `text` and optionally `fill` and `ask`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PlainOrMap, E> {
                Ok(PlainOrMap::Plain(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<PlainOrMap, A::Error> {
                let full = RawSendFull::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(PlainOrMap::Map(RawSend { text: full.text, fill: full.fill, ask: full.ask }))
            }
        }
        deserializer.deserialize_any(SendVisitor)
    }
}

impl<'de> Deserialize<'de> for RawSend {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match At::<PlainOrMap>::deserialize(deserializer)? {
            At { value: PlainOrMap::Plain(text), pos } => {
                RawSend { text: At { value: text, pos }, fill: Vec::new(), ask: None }
            }
            At { value: PlainOrMap::Map(send), .. } => send,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawOutcomeKind {
    Resolved,
    Escalate,
}

/// How a text is used, which decides how its placeholders are rendered and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextUse {
    /// Shown to people; placeholders render as the plain value.
    Prose,
    /// A shell command; placeholders render shell-quoted.
    Command,
    /// A check parameter; data for triage, rendered unquoted.
    Param,
}

impl RawRunbook {
    /// Every text that may hold `{{name}}` placeholders, with how it is used.
    pub fn texts(&self) -> Vec<(&Text, TextUse)> {
        let mut out = vec![(&self.title, TextUse::Prose), (&self.summary, TextUse::Prose)];
        for input in &self.inputs {
            out.push((&input.prompt, TextUse::Prose));
            out.extend(input.help.iter().map(|t| (t, TextUse::Prose)));
        }
        for step in &self.steps.value {
            step.collect_texts(&mut out);
        }
        for outcome in &self.outcomes.value {
            out.push((&outcome.title, TextUse::Prose));
            out.push((&outcome.summary, TextUse::Prose));
            for send in &outcome.send {
                out.push((&send.text, TextUse::Prose));
                out.extend(send.ask.iter().map(|t| (t, TextUse::Prose)));
            }
        }
        out
    }
}

fn prose<'a>(out: &mut Vec<(&'a Text, TextUse)>, texts: impl IntoIterator<Item = &'a Text>) {
    out.extend(texts.into_iter().map(|t| (t, TextUse::Prose)));
}

fn commands<'a>(out: &mut Vec<(&'a Text, TextUse)>, cmds: &'a [RawCommand]) {
    for cmd in cmds {
        out.push((&cmd.run, TextUse::Command));
        prose(out, [&cmd.purpose]);
        prose(out, &cmd.rollback);
    }
}

impl RawStep {
    fn collect_texts<'a>(&'a self, out: &mut Vec<(&'a Text, TextUse)>) {
        prose(out, [&self.title, &self.why]);
        prose(out, &self.instructions);
        commands(out, &self.commands);
        for check in &self.checks {
            out.extend(check.with.0.iter().map(|(_, v)| (v, TextUse::Param)));
        }
        if let Some(repeat) = &self.watch {
            out.extend([
                (&repeat.value.every, TextUse::Param),
                (&repeat.value.r#for, TextUse::Param),
            ]);
        }
        for cause in &self.causes {
            prose(out, [&cause.title, &cause.signs, &cause.next]);
        }
        for list in &self.checklists {
            prose(out, [&list.title]);
            prose(out, &list.items);
        }
        prose(out, &self.notes);
        for record in &self.record {
            prose(out, &record.ask);
        }
        let q = &self.question.value;
        prose(out, [&q.prompt]);
        prose(out, &q.default);
        for choice in q.choices.iter().flat_map(|c| &c.value) {
            prose(out, [&choice.label]);
            prose(out, &choice.because);
        }
        for fix in &self.fixes {
            prose(out, [&fix.title, &fix.time, &fix.summary, &fix.expected]);
            prose(out, [&fix.if_failed, &fix.verify, &fix.rollback]);
            prose(out, &fix.steps);
            commands(out, &fix.commands);
        }
    }
}
