//! Ordinary lines: what healthy servers write all day (an `open()` of a missing favicon, a
//! child started, a request served). The prefilter's literals should not occur in them: a
//! literal every line holds makes every line a candidate, and the scan runs the regexes on
//! the whole log instead of on its errors. The lines live in the table (`ordinary:`), so
//! adding a server's everyday messages is data, not code.

use std::collections::HashMap;

use memchr::memmem;

/// The ordinary lines of a table, and how many hold each literal asked about.
#[derive(Debug, Default)]
pub struct Ordinary {
    /// Every line, each followed by `\n` (no literal holds one, so none spans two lines).
    text: Vec<u8>,
    hits: HashMap<Vec<u8>, usize>,
}

impl Ordinary {
    pub fn new<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut text = Vec::new();
        for line in lines {
            text.extend(line.iter().map(|&b| if b == b'\n' { b' ' } else { b }));
            text.push(b'\n');
        }
        Ordinary { text, hits: HashMap::new() }
    }

    /// How many ordinary lines hold `literal`.
    pub fn hits(&mut self, literal: &[u8]) -> usize {
        if let Some(&n) = self.hits.get(literal) {
            return n;
        }
        let mut n = 0;
        let mut from = 0;
        let finder = memmem::Finder::new(literal);
        while let Some(at) = finder.find(&self.text[from..]) {
            n += 1;
            // Once per line: go on after the end of the line that held it.
            let end = memchr::memchr(b'\n', &self.text[from + at..])
                .map_or(self.text.len(), |e| from + at + e);
            from = end + 1;
            if from >= self.text.len() {
                break;
            }
        }
        self.hits.insert(literal.to_vec(), n);
        n
    }

    /// The most lines any literal of `set` is in: how many ordinary lines the set lets through.
    pub fn worst(&mut self, set: &[Vec<u8>]) -> usize {
        set.iter().map(|lit| self.hits(lit)).max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_line_once() {
        let mut ordinary = Ordinary::new([b"a request, request".as_slice(), b"no", b"request"]);
        assert_eq!(ordinary.hits(b"request"), 2);
        assert_eq!(ordinary.hits(b"nothing"), 0);
        assert_eq!(ordinary.worst(&[b"request".to_vec(), b"no".to_vec()]), 2);
    }
}
