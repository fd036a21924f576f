//! What the matching lines of a scan add up to: per signature its count, times and first
//! line, and the same lines grouped by what they name (upstream, server, host, pool), over all
//! the logs of one run. Lines arrive in file order; what is kept of them is bounded
//! ([`SHOWN_CHARS`], [`MAX_GROUPS`], [`MAX_UPSTREAMS`]), sanitised and redacted, and a line of
//! a group already open allocates nothing.

use std::collections::{BTreeSet, HashMap};

use foldhash::fast::RandomState;
use std::ops::Range;

use memchr::memchr;

use crate::knowledge::signatures::{Signatures, value_text};
use crate::{redact, sanitize};

/// The longest line kept for the report, in characters.
pub const SHOWN_CHARS: usize = 1000;
/// At most this many upstream addresses are kept from nginx lines.
const MAX_UPSTREAMS: usize = 10;
/// At most this many groups of lines (signature × file × fields) are kept; later lines that
/// would open a new group are counted as ungrouped.
pub const MAX_GROUPS: usize = 256;

/// The matching lines of one signature in one file that carry the same fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub signature: usize,
    pub file: String,
    pub fields: Vec<(String, String)>,
    pub count: u64,
    pub first: Option<i64>,
    pub last: Option<i64>,
    /// The earliest line, sanitised, redacted and bounded.
    pub line: String,
}

/// What one signature matched so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub count: u64,
    /// Unix seconds of the earliest and latest matching line, when the lines carry times.
    pub first: Option<i64>,
    pub last: Option<i64>,
    /// The earliest matching line, sanitised, redacted and bounded.
    pub first_line: String,
    /// The log it came from.
    pub file: String,
    /// The earliest matching line that names the site under investigation (its host), and
    /// its time: on a server with many sites, the line the support note should quote.
    pub site_line: Option<(Option<i64>, String)>,
}

/// Every signature's hits, over all the logs scanned.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Indexed like `Signatures::list` (and only as long as the last signature hit).
    pub hits: Vec<Option<Hit>>,
    /// Upstream addresses named by matching nginx lines (`upstream: "…"`).
    pub upstreams: BTreeSet<String>,
    /// The site's host (`shop.example.com`, `127.0.0.1:8080`) as lines name it, when known.
    pub site: Option<String>,
    /// The same lines grouped by where they say they came from.
    pub groups: Vec<Group>,
    /// Where each group is in `groups`, by its key: the signature, the file and the fields as
    /// the line holds them (before they are cleaned for showing), as [`Tally::key`] packs
    /// them.
    group_at: HashMap<Box<[u8]>, usize, RandomState>,
    pub ungrouped: u64,
    /// The fields of the line being recorded, and its group key: kept to be reused, so a line
    /// of an existing group allocates nothing.
    pub(super) fields: Vec<(usize, Range<usize>)>,
    key: Vec<u8>,
    /// Field values as shown, by their bytes in the line: groups mostly differ in one field
    /// and share the others, and redacting a value costs more than grouping a thousand lines.
    shown_values: HashMap<Box<[u8]>, String, RandomState>,
}

impl Tally {
    pub fn new(signatures: &Signatures) -> Self {
        Tally {
            hits: vec![None; signatures.list.len()],
            upstreams: BTreeSet::new(),
            site: None,
            groups: Vec::new(),
            group_at: HashMap::default(),
            ungrouped: 0,
            fields: Vec::new(),
            key: Vec::new(),
            shown_values: HashMap::default(),
        }
    }

    /// An empty tally whose lines naming `site` are kept apart.
    pub fn for_site(site: Option<String>) -> Self {
        Tally { site, ..Tally::default() }
    }

    pub fn matched_lines(&self) -> u64 {
        self.hits.iter().flatten().map(|h| h.count).sum()
    }

    /// Packs the group key of a line of signature `index` in `file` whose fields are
    /// `self.fields` into `self.key`, each variable part after its length so that no two keys
    /// run together.
    fn key(&mut self, index: usize, line: &[u8], file: &str) {
        fn part(key: &mut Vec<u8>, bytes: &[u8]) {
            key.extend_from_slice(&bytes.len().to_le_bytes());
            key.extend_from_slice(bytes);
        }
        let key = &mut self.key;
        key.clear();
        key.extend_from_slice(&index.to_le_bytes());
        part(key, file.as_bytes());
        for (rule, value) in &self.fields {
            key.extend_from_slice(&rule.to_le_bytes());
            part(key, &line[value.clone()]);
        }
    }

    /// Adds a matching line (its fields in `self.fields`) to its group, opening one while
    /// there is room.
    fn group(
        &mut self,
        signatures: &Signatures,
        index: usize,
        time: Option<i64>,
        line: &mut Shown,
        file: &str,
    ) {
        let (line, shown) = (line.line, line);
        self.key(index, line, file);
        if let Some(&at) = self.group_at.get(self.key.as_slice()) {
            let group = &mut self.groups[at];
            group.count += 1;
            if let Some(t) = time {
                if group.first.is_none_or(|f| t < f) {
                    group.first = Some(t);
                    group.line = shown.get();
                }
                group.last = Some(group.last.map_or(t, |l| l.max(t)));
            }
        } else if self.groups.len() < MAX_GROUPS {
            let fields = self.clean_fields(signatures, line);
            self.groups.push(Group {
                signature: index,
                file: file.to_owned(),
                fields,
                count: 1,
                first: time,
                last: time,
                line: shown.get(),
            });
            self.group_at.insert(self.key.as_slice().into(), self.groups.len() - 1);
        } else {
            self.ungrouped += 1;
        }
    }

    /// Records a line signature `index` matched, its fields in `self.fields`; `signatures`
    /// names them.
    pub(super) fn record(
        &mut self,
        signatures: &Signatures,
        index: usize,
        time: Option<i64>,
        line: &[u8],
        file: &str,
    ) {
        let mut shown = Shown { line, text: None };
        self.group(signatures, index, time, &mut shown, file);
        self.note_upstream(line);
        let for_site = self
            .site
            .as_ref()
            .is_some_and(|site| memchr::memmem::find(line, site.as_bytes()).is_some());
        if self.hits.len() <= index {
            self.hits.resize(index + 1, None);
        }
        let slot = &mut self.hits[index];
        let Some(hit) = slot else {
            let first_line = shown.get();
            let site_line = for_site.then(|| (time, first_line.clone()));
            let file = file.to_owned();
            *slot = Some(Hit { count: 1, first: time, last: time, first_line, file, site_line });
            return;
        };
        hit.count += 1;
        let earlier = |seen: &Option<i64>| match (time, seen) {
            (Some(t), Some(s)) => t < *s,
            _ => false,
        };
        if for_site && hit.site_line.as_ref().is_none_or(|(seen, _)| earlier(seen)) {
            hit.site_line = Some((time, shown.get()));
        }
        if let Some(t) = time {
            if hit.first.is_none_or(|f| t < f) {
                hit.first = Some(t);
                hit.first_line = shown.get();
                file.clone_into(&mut hit.file);
            }
            hit.last = Some(hit.last.map_or(t, |l| l.max(t)));
        }
    }

    fn note_upstream(&mut self, line: &[u8]) {
        const KEY: &[u8] = b"upstream: \"";
        if self.upstreams.len() >= MAX_UPSTREAMS {
            return;
        }
        let Some(at) = memchr::memmem::find(line, KEY) else { return };
        let rest = &line[at + KEY.len()..];
        let value = &rest[..memchr(b'"', rest).unwrap_or(rest.len()).min(200)];
        // Most matching lines name an upstream already kept: no allocation for those.
        if std::str::from_utf8(value).is_ok_and(|v| self.upstreams.contains(v)) {
            return;
        }
        let value = sanitize::bytes(value, false);
        self.upstreams.insert(redact::url(&value).into_owned());
    }
}

impl Tally {
    /// The fields of `line` found in `self.fields` as the report may show them: named,
    /// sanitised, secrets masked.
    fn clean_fields(&mut self, signatures: &Signatures, line: &[u8]) -> Vec<(String, String)> {
        let shown_values = &mut self.shown_values;
        self.fields
            .iter()
            .map(|(rule, value)| {
                let raw = &line[value.clone()];
                let shown = shown_values.entry(raw.into()).or_insert_with(|| {
                    redact::text(&sanitize::line(&value_text(raw))).into_owned()
                });
                (signatures.fields[*rule].name.clone(), shown.clone())
            })
            .collect()
    }
}

/// A line being recorded, and what is shown of it once that is asked for: its group and its
/// signature often both keep it.
struct Shown<'l> {
    line: &'l [u8],
    text: Option<String>,
}

impl Shown<'_> {
    fn get(&mut self) -> String {
        self.text.get_or_insert_with(|| shown(self.line)).clone()
    }
}

/// A line as the report shows it: sanitised, secrets masked, at most [`SHOWN_CHARS`].
pub fn shown(line: &[u8]) -> String {
    let clean = sanitize::bytes(line, false);
    let redacted = redact::text(&clean);
    let mut out: String = redacted.chars().take(SHOWN_CHARS).collect();
    if redacted.chars().nth(SHOWN_CHARS).is_some() {
        out.push('…');
    }
    out
}
