//! The validated runbook: what the rest of triage reads. Built only by the loader
//! (`runbook::load`), so every reference in it (next step, outcome, check id, variable) is known
//! to resolve. It never touches YAML or the filesystem.

use serde::{Deserialize, Serialize};

use crate::facts::FactValue;
use crate::layer::Layer;

/// A decision tree for one kind of incident.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Runbook {
    pub id: String,
    pub title: String,
    pub version: String,
    pub summary: String,
    /// HTTP status codes this runbook is written for (502, 503, 504, 520…).
    pub applies_to: Vec<u16>,
    pub inputs: Vec<Input>,
    /// The first step; the flow starts here once the inputs are filled.
    pub start: String,
    pub steps: Vec<Step>,
    pub outcomes: Vec<Outcome>,
    /// Where the runbook came from: a path, or `builtin:<file>`.
    pub origin: String,
}

impl Runbook {
    /// The name of the input that holds the site's URL: the first of kind `url`. Its value lives
    /// in the session's one copy of the URL, not among the other inputs.
    pub fn site_input(&self) -> Option<&str> {
        self.inputs.iter().find(|i| i.kind == InputKind::Url).map(|i| i.name.as_str())
    }

    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    pub fn outcome(&self, id: &str) -> Option<&Outcome> {
        self.outcomes.iter().find(|o| o.id == id)
    }

    pub fn input(&self, name: &str) -> Option<&Input> {
        self.inputs.iter().find(|i| i.name == name)
    }

    /// Position of a step in the file order, for "step 3 of 11" in the header.
    pub fn step_index(&self, id: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.id == id)
    }
}

/// A value the incident needs before the walk starts, used in texts as `{{name}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Input {
    pub name: String,
    pub prompt: String,
    pub kind: InputKind,
    pub default: Option<String>,
    pub required: bool,
    /// Extra guidance shown under the prompt.
    pub help: Option<String>,
    /// The fact that fills it when a check found it and the user set nothing (`found.php_version`).
    pub from: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "options")]
pub enum InputKind {
    /// An absolute `http://` or `https://` URL.
    Url,
    /// A host name or IP address, with an optional `:port`.
    Host,
    /// An absolute filesystem path.
    Path,
    Text,
    /// One of a fixed list of options.
    Choice(Vec<String>),
}

/// One stop on the walk: a layer to examine, what to do there, and the question that decides
/// where to go next.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    pub id: String,
    pub title: String,
    pub layer: Layer,
    /// Why this step matters, in a paragraph.
    pub why: String,
    pub instructions: Vec<String>,
    pub commands: Vec<Command>,
    pub checks: Vec<CheckCall>,
    /// Known causes at this layer, with how to recognise them.
    pub causes: Vec<Cause>,
    /// Platform checklists for nginx, PHP-FPM, WordPress, shared hosting and others.
    pub checklists: Vec<Checklist>,
    /// Short notes and warnings ("read the log line before restarting").
    pub notes: Vec<String>,
    /// What this step contributes to the support summary.
    pub record: Vec<Record>,
    pub question: Question,
    pub fixes: Vec<FixCard>,
    /// Monitoring: the checks run again every so often for a while (`watch:`).
    pub repeat: Option<Repeat>,
    /// A fix step (`kind: fix`) is its fix cards: they open first, in full.
    pub fix_step: bool,
}

impl Step {
    /// A step that is its fix cards (`kind: fix`): they open first, in full.
    pub fn is_fix(&self) -> bool {
        self.fix_step
    }

    pub fn fix(&self, id: &str) -> Option<&FixCard> {
        self.fixes.iter().find(|f| f.id == id)
    }
}

/// How a step's checks repeat: every `every`, until `until` has passed since the step was
/// entered. Both are durations as written (`10s`, `5m`), possibly with a placeholder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repeat {
    pub every: String,
    pub until: String,
}

/// A shell command shown to the user for running by hand. triage never runs these.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Command {
    /// The template, with `{{name}}` placeholders that render shell-quoted.
    pub run: String,
    pub purpose: String,
    pub effect: Effect,
    /// The operating-system family it is written for; `None` when it works on every one.
    pub family: Option<Family>,
}

/// Linux families whose paths, units and tools differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Debian, Ubuntu and their derivatives (`apt`, `/etc/php/8.2/fpm`, `www-data`).
    Debian,
    /// Red Hat Enterprise Linux, Alma, Rocky, CentOS, Fedora (`dnf`, `/etc/php-fpm.d`, SELinux).
    Rhel,
}

impl Family {
    pub fn id(self) -> &'static str {
        match self {
            Family::Debian => "debian",
            Family::Rhel => "rhel",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Family::Debian => "Debian/Ubuntu",
            Family::Rhel => "RHEL-like",
        }
    }

    pub fn from_id(id: &str) -> Option<Family> {
        match id {
            "debian" => Some(Family::Debian),
            "rhel" => Some(Family::Rhel),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "effect")]
pub enum Effect {
    ReadOnly,
    ChangesSystem { risk: Risk, rollback: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    Low,
    Medium,
    High,
}

impl Risk {
    pub fn label(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
        }
    }
}

/// An automatic check to run when the step is entered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckCall {
    /// A check id from `checks::catalog`.
    pub check: String,
    /// Parameters; values may hold `{{name}}` placeholders, rendered unquoted (they are data
    /// for triage, not shell text).
    pub with: Vec<(String, String)>,
}

/// A known cause of the error at this step's layer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cause {
    pub id: String,
    pub title: String,
    /// Status codes this cause typically produces.
    pub statuses: Vec<u16>,
    pub severity: Severity,
    /// How to recognise it.
    pub signs: String,
    /// What to do next.
    pub next: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checklist {
    pub title: String,
    pub items: Vec<String>,
}

/// One item this step adds to "what to send support".
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub item: SupportItem,
    /// The fact that fills it, when a check can.
    pub from: Option<String>,
    /// What to ask the user when no check fills it.
    pub ask: Option<String>,
}

/// The fixed list of things a support request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupportItem {
    AffectedUrl,
    Timestamps,
    Status,
    ResponseHeaders,
    RequestIds,
    RecentChanges,
    Branding,
    FirstLogLine,
}

impl SupportItem {
    pub const ALL: [SupportItem; 8] = [
        SupportItem::AffectedUrl,
        SupportItem::Timestamps,
        SupportItem::Status,
        SupportItem::ResponseHeaders,
        SupportItem::RequestIds,
        SupportItem::RecentChanges,
        SupportItem::Branding,
        SupportItem::FirstLogLine,
    ];

    pub fn id(self) -> &'static str {
        match self {
            SupportItem::AffectedUrl => "affected_url",
            SupportItem::Timestamps => "timestamps",
            SupportItem::Status => "status",
            SupportItem::ResponseHeaders => "response_headers",
            SupportItem::RequestIds => "request_ids",
            SupportItem::RecentChanges => "recent_changes",
            SupportItem::Branding => "branding",
            SupportItem::FirstLogLine => "first_log_line",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SupportItem::AffectedUrl => "Affected URL",
            SupportItem::Timestamps => "Timestamps (with timezone)",
            SupportItem::Status => "Status seen",
            SupportItem::ResponseHeaders => "Response headers",
            SupportItem::RequestIds => "Request IDs",
            SupportItem::RecentChanges => "Recent changes",
            SupportItem::Branding => "CDN or origin branding",
            SupportItem::FirstLogLine => "First matching proxy or application log line",
        }
    }
}

/// The question that ends a step.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Question {
    /// Exactly two choices, with ids `yes` and `no`.
    YesNo {
        prompt: String,
        choices: Vec<Choice>,
    },
    Choice {
        prompt: String,
        choices: Vec<Choice>,
    },
    /// Free text, then on to `then`.
    Text {
        prompt: String,
        default: Option<String>,
        then: Next,
    },
}

impl Question {
    pub fn prompt(&self) -> &str {
        match self {
            Question::YesNo { prompt, .. }
            | Question::Choice { prompt, .. }
            | Question::Text { prompt, .. } => prompt,
        }
    }

    /// The choices; empty for a text question.
    pub fn choices(&self) -> &[Choice] {
        match self {
            Question::YesNo { choices, .. } | Question::Choice { choices, .. } => choices,
            Question::Text { .. } => &[],
        }
    }

    /// Every place this question can lead to.
    pub fn targets(&self) -> Vec<&Next> {
        match self {
            Question::Text { then, .. } => vec![then],
            _ => self.choices().iter().map(|c| &c.target).collect(),
        }
    }
}

/// One answer to a question.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Choice {
    pub id: String,
    pub label: String,
    pub target: Next,
    /// When every condition holds on the evidence, this choice is suggested.
    pub when: Vec<Condition>,
    /// Why the evidence suggests it, shown next to the suggestion.
    pub because: Option<String>,
    /// The fix card of this step whose change this answer says was made.
    pub made: Option<String>,
}

/// Where a choice leads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Next {
    Step(String),
    Outcome(String),
}

/// A test on one fact, or a group of which any may hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    Fact { fact: String, test: Test },
    Any(Vec<Condition>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Test {
    Equals(FactValue),
    OneOf(Vec<FactValue>),
    Exists(bool),
    AtLeast(i64),
    AtMost(i64),
    /// A list fact holds this item, or a text fact holds this substring.
    Contains(String),
}

/// A repair to try, with everything a careful person wants to know first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FixCard {
    pub id: String,
    pub title: String,
    /// How long it takes, as people say it ("5 minutes", "15-30 minutes").
    pub time: String,
    pub risk: Risk,
    pub who: Who,
    pub summary: String,
    pub steps: Vec<String>,
    pub commands: Vec<Command>,
    pub expected: String,
    pub if_failed: String,
    pub verify: String,
    pub rollback: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Who {
    Anyone,
    SiteOwner,
    HostAdmin,
    Developer,
}

impl Who {
    pub fn label(self) -> &'static str {
        match self {
            Who::Anyone => "anyone",
            Who::SiteOwner => "site owner",
            Who::HostAdmin => "host admin",
            Who::Developer => "developer",
        }
    }
}

/// Where a walk ends.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    pub id: String,
    pub title: String,
    pub kind: OutcomeKind,
    pub summary: String,
    /// What to include when escalating (or to keep for the record when resolved).
    pub send: Vec<Send>,
}

/// One thing to send, with what fills it and what to ask when nothing does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Send {
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fill: Vec<Fill>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ask: Option<String>,
}

/// What can fill a `send:` entry: a support item, or one of the walk's own summaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fill {
    AffectedUrl,
    Timestamps,
    Status,
    ResponseHeaders,
    RequestIds,
    RecentChanges,
    Branding,
    FirstLogLine,
    /// The layer, the cause and how sure.
    Verdict,
    /// The request path, hop by hop.
    Path,
    /// Every change made or fix tried, and whether it worked.
    Fixes,
    /// Load, memory, disks and limits.
    Resources,
    /// The direct request to the origin and its answer.
    Origin,
    /// Where the database is and what it did.
    Database,
    /// What monitoring after the fix saw.
    Monitoring,
}

impl Fill {
    /// The support item it is, when it is one.
    pub fn item(self) -> Option<SupportItem> {
        SupportItem::ALL.into_iter().find(|i| i.id() == self.id())
    }

    pub fn id(self) -> &'static str {
        match self {
            Fill::AffectedUrl => "affected_url",
            Fill::Timestamps => "timestamps",
            Fill::Status => "status",
            Fill::ResponseHeaders => "response_headers",
            Fill::RequestIds => "request_ids",
            Fill::RecentChanges => "recent_changes",
            Fill::Branding => "branding",
            Fill::FirstLogLine => "first_log_line",
            Fill::Verdict => "verdict",
            Fill::Path => "path",
            Fill::Fixes => "fixes",
            Fill::Resources => "resources",
            Fill::Origin => "origin",
            Fill::Database => "database",
            Fill::Monitoring => "monitoring",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "to")]
pub enum OutcomeKind {
    Resolved,
    Escalate(EscalateTo),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EscalateTo {
    Cdn,
    HostingProvider,
    Developer,
    Dba,
    NetworkTeam,
}

impl EscalateTo {
    pub fn label(self) -> &'static str {
        match self {
            EscalateTo::Cdn => "the CDN provider",
            EscalateTo::HostingProvider => "the hosting provider",
            EscalateTo::Developer => "the developers",
            EscalateTo::Dba => "the database administrator",
            EscalateTo::NetworkTeam => "the network team",
        }
    }
}
