//! Typed facts that checks find and that runbook conditions and the diagnosis read.
//!
//! A fact is a dotted key (`http.status`, `responder.vendor`) with a small typed value. Facts are
//! data, never prose: the wording for people lives in check summaries and the runbook.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The value of one fact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FactValue {
    Bool(bool),
    Int(i64),
    Text(String),
    List(Vec<String>),
}

/// The kind of a fact, as declared by the check that produces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactKind {
    Bool,
    Int,
    Text,
    List,
}

impl FactValue {
    pub fn kind(&self) -> FactKind {
        match self {
            FactValue::Bool(_) => FactKind::Bool,
            FactValue::Int(_) => FactKind::Int,
            FactValue::Text(_) => FactKind::Text,
            FactValue::List(_) => FactKind::List,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            FactValue::Int(n) => Some(*n),
            FactValue::Text(s) => s.parse().ok(),
            _ => None,
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            FactValue::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            FactValue::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

impl fmt::Display for FactValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FactValue::Bool(b) => write!(f, "{}", if *b { "yes" } else { "no" }),
            FactValue::Int(n) => write!(f, "{n}"),
            FactValue::Text(s) => f.write_str(s),
            FactValue::List(items) => f.write_str(&items.join(", ")),
        }
    }
}

impl From<bool> for FactValue {
    fn from(v: bool) -> Self {
        FactValue::Bool(v)
    }
}

impl From<i64> for FactValue {
    fn from(v: i64) -> Self {
        FactValue::Int(v)
    }
}

impl From<u16> for FactValue {
    fn from(v: u16) -> Self {
        FactValue::Int(i64::from(v))
    }
}

impl From<&str> for FactValue {
    fn from(v: &str) -> Self {
        FactValue::Text(v.to_owned())
    }
}

impl From<String> for FactValue {
    fn from(v: String) -> Self {
        FactValue::Text(v)
    }
}

impl From<Vec<String>> for FactValue {
    fn from(v: Vec<String>) -> Self {
        FactValue::List(v)
    }
}

/// A set of facts, keyed by their dotted name. Later facts with the same key replace earlier ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Facts(BTreeMap<String, FactValue>);

impl Facts {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(&mut self, key: impl Into<String>, value: impl Into<FactValue>) {
        self.0.insert(key.into(), value.into());
    }

    pub fn get(&self, key: &str) -> Option<&FactValue> {
        self.0.get(key)
    }

    pub fn remove(&mut self, key: &str) -> Option<FactValue> {
        self.0.remove(key)
    }

    /// Adds every fact of `other`, replacing facts with the same key.
    pub fn merge(&mut self, other: &Facts) {
        for (k, v) in &other.0 {
            self.0.insert(k.clone(), v.clone());
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &FactValue)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl<K: Into<String>, V: Into<FactValue>> FromIterator<(K, V)> for Facts {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Facts(iter.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}
