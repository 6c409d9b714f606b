//! What a person types into the search box, parsed once and rendered for each backend.
//!
//! The grammar is the familiar web-search one: words are all required, `"a phrase"` matches the
//! words in order, `-word` (or `-"a phrase"`) excludes, `or` between terms offers alternatives
//! (binding looser than the implied "and"), and the last word is matched as a prefix so results
//! follow the typing. It is parsed here rather than handed to FTS5 or to PostgreSQL's
//! `websearch_to_tsquery`, because neither can express all of it (FTS5's syntax has no `-word`,
//! and `websearch_to_tsquery` has no prefix matching) and because both backends must find the
//! same entries for the same words: one parse, two faithful renderings.
//!
//! Nothing a person types reaches the query language as syntax: every word is quoted.

/// At most this many words count; the rest are ignored (bounded work per search).
const MAX_WORDS: usize = 12;

/// One required or excluded word or phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    /// One word, or the words of a phrase in order.
    words: Vec<String>,
    negated: bool,
    prefix: bool,
}

/// A parsed search: alternatives (`or`), each a conjunction of terms with at least one that is
/// not excluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    groups: Vec<Vec<Term>>,
}

/// Splits raw text into words the way the indexes do: letters, digits, and `'`, `-`, `_` inside a
/// word.
fn words_of(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '-' || c == '_'))
        .map(|w| w.trim_matches(|c: char| c == '\'' || c == '-' || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
}

enum Token {
    Words {
        text: String,
        negated: bool,
        quoted: bool,
    },
    Or,
}

fn tokens(input: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut negated = false;
        if c == '-' {
            chars.next();
            match chars.peek() {
                Some(&n) if !n.is_whitespace() => negated = true,
                _ => continue,
            }
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            // A phrase runs to the closing quote (or the end, if unbalanced).
            let text: String = chars.by_ref().take_while(|&c| c != '"').collect();
            out.push(Token::Words {
                text,
                negated,
                quoted: true,
            });
            continue;
        }
        let mut text = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || c == '"' {
                break;
            }
            text.push(c);
            chars.next();
        }
        if !negated && text.eq_ignore_ascii_case("or") {
            out.push(Token::Or);
        } else {
            out.push(Token::Words {
                text,
                negated,
                quoted: false,
            });
        }
    }
    out
}

/// The most words a prefix is completed into ([`SearchQuery::to_fts5_completed`]); a prefix that
/// starts more stays a prefix.
pub const MAX_COMPLETIONS: usize = 16;

/// The shortest last word matched as a prefix (SQLite keeps a prefix index of this length).
pub const MIN_PREFIX_CHARS: usize = 3;

impl SearchQuery {
    /// Parses what a person typed. `None` when nothing searchable is left (only punctuation,
    /// only exclusions).
    pub fn parse(input: &str) -> Option<SearchQuery> {
        let mut groups: Vec<Vec<Term>> = vec![Vec::new()];
        let mut budget = MAX_WORDS;
        let mut last_is_bare_word = false;
        for token in tokens(input) {
            match token {
                Token::Or => {
                    if groups.last().is_some_and(|g| !g.is_empty()) {
                        groups.push(Vec::new());
                    }
                    last_is_bare_word = false;
                }
                Token::Words {
                    text,
                    negated,
                    quoted,
                } => {
                    let words: Vec<String> = words_of(&text).take(budget).collect();
                    if words.is_empty() {
                        continue;
                    }
                    budget -= words.len();
                    let group = groups.last_mut()?;
                    if quoted || negated {
                        // A phrase, or an exclusion of everything written together.
                        group.push(Term {
                            words,
                            negated,
                            prefix: false,
                        });
                        last_is_bare_word = false;
                    } else {
                        // `title:x` is two words, both required.
                        for word in words {
                            group.push(Term {
                                words: vec![word],
                                negated: false,
                                prefix: false,
                            });
                        }
                        last_is_bare_word = true;
                    }
                    if budget == 0 {
                        break;
                    }
                }
            }
        }
        if last_is_bare_word {
            if let Some(term) = groups.last_mut().and_then(|g| g.last_mut()) {
                // A one- or two-letter prefix would match most of everyone's words before the
                // owner filter applies; short words are matched whole instead.
                term.prefix = term.words[0].chars().count() >= MIN_PREFIX_CHARS;
            }
        }
        groups.retain(|g| g.iter().any(|t| !t.negated));
        (!groups.is_empty()).then_some(SearchQuery { groups })
    }

    /// The query in SQLite FTS5's syntax: `("a" AND "b c" NOT "d") OR ("e"*)`.
    pub fn to_fts5(&self) -> String {
        self.render_fts5(None)
    }

    /// The last word, lowercased, when it is a prefix worth completing from the index's
    /// vocabulary (see [`to_fts5_completed`](Self::to_fts5_completed)): longer than the three
    /// letters SQLite's prefix index answers directly, and only ASCII letters and digits, which
    /// the index's tokenizer merely lowercases (so the vocabulary holds them spelled the same).
    pub fn completable_prefix(&self) -> Option<String> {
        let term = self.groups.last()?.last()?;
        let word = term.words.first()?;
        (term.prefix
            && word.len() > MIN_PREFIX_CHARS
            && word.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| word.to_ascii_lowercase())
    }

    /// Like [`to_fts5`](Self::to_fts5), with the prefix word (there is at most one: the last)
    /// replaced by the complete words it starts, as alternatives: `("a" AND ("eve" OR
    /// "evening"))`. It matches the same entries as long as `completions` are all of the index's
    /// words with that prefix (their ranking may differ a little: each word weighs on its own).
    /// No completions, or more than [`MAX_COMPLETIONS`], keep the prefix.
    pub fn to_fts5_completed(&self, completions: &[String]) -> String {
        if completions.is_empty() || completions.len() > MAX_COMPLETIONS {
            return self.to_fts5();
        }
        self.render_fts5(Some(completions))
    }

    fn render_fts5(&self, completions: Option<&[String]>) -> String {
        let phrase = |words: &str| format!("\"{}\"", words.replace('"', "\"\""));
        let quote = |t: &Term| {
            let mut s = phrase(&t.words.join(" "));
            if t.prefix {
                match completions {
                    Some(words) => {
                        let alternatives: Vec<String> = words.iter().map(|w| phrase(w)).collect();
                        s = format!("({})", alternatives.join(" OR "));
                    }
                    None => s.push('*'),
                }
            }
            s
        };
        self.groups
            .iter()
            .map(|group| {
                let required: Vec<String> =
                    group.iter().filter(|t| !t.negated).map(quote).collect();
                let mut s = format!("({})", required.join(" AND "));
                for excluded in group.iter().filter(|t| t.negated) {
                    s = format!("({s} NOT {})", quote(excluded));
                }
                s
            })
            .collect::<Vec<_>>()
            .join(" OR ")
    }

    /// The query in PostgreSQL's `to_tsquery` syntax: `('a' & ('b' <-> 'c') & !'d') | ('e':*)`.
    /// Each word is a quoted lexeme, normalised by the text-search configuration like the index.
    pub fn to_tsquery(&self) -> String {
        let lexeme = |w: &str| format!("'{}'", w.replace('\\', "\\\\").replace('\'', "''"));
        let term = |t: &Term| {
            let mut s = if t.words.len() == 1 {
                lexeme(&t.words[0])
            } else {
                let phrase: Vec<String> = t.words.iter().map(|w| lexeme(w)).collect();
                format!("({})", phrase.join(" <-> "))
            };
            if t.prefix {
                s.push_str(":*");
            }
            if t.negated {
                s = format!("!{s}");
            }
            s
        };
        self.groups
            .iter()
            .map(|group| {
                let parts: Vec<String> = group.iter().map(term).collect();
                format!("({})", parts.join(" & "))
            })
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

#[cfg(test)]
mod tests {
    use super::SearchQuery;

    fn fts(input: &str) -> Option<String> {
        SearchQuery::parse(input).map(|q| q.to_fts5())
    }

    fn pg(input: &str) -> Option<String> {
        SearchQuery::parse(input).map(|q| q.to_tsquery())
    }

    #[test]
    fn plain_words_are_all_required_and_the_last_is_a_prefix() {
        assert_eq!(
            fts("sunny beach").as_deref(),
            Some(r#"("sunny" AND "beach"*)"#)
        );
        assert_eq!(pg("sunny beach").as_deref(), Some("('sunny' & 'beach':*)"));
    }

    #[test]
    fn a_long_ascii_prefix_can_be_completed_into_alternatives() {
        let q = SearchQuery::parse("sunny -rain Beac").unwrap();
        assert_eq!(q.completable_prefix().as_deref(), Some("beac"));
        let completions = ["beach".to_owned(), "beacon".to_owned()];
        assert_eq!(
            q.to_fts5_completed(&completions),
            r#"(("sunny" AND ("beach" OR "beacon")) NOT "rain")"#
        );
        // No completions, or too many, keep the prefix.
        assert_eq!(q.to_fts5_completed(&[]), q.to_fts5());
        let many: Vec<String> = (0..=super::MAX_COMPLETIONS)
            .map(|i| format!("beac{i}"))
            .collect();
        assert_eq!(q.to_fts5_completed(&many), q.to_fts5());
        // Only the prefix word changes; alternatives elsewhere stay as they are.
        let q = SearchQuery::parse("rain or beac").unwrap();
        assert_eq!(
            q.to_fts5_completed(&completions),
            r#"("rain") OR (("beach" OR "beacon"))"#
        );
    }

    #[test]
    fn prefixes_the_index_answers_itself_or_spells_differently_are_not_completed() {
        let prefix = |input: &str| SearchQuery::parse(input).unwrap().completable_prefix();
        // Three letters: SQLite's prefix index reads these directly.
        assert_eq!(prefix("sunny bea"), None);
        // Not a prefix at all.
        assert_eq!(prefix("sunny \"beach\""), None);
        assert_eq!(prefix("beach -sunny"), None);
        // Letters the tokenizer folds (accents) or splits on.
        assert_eq!(prefix("caf\u{e9}s"), None);
        assert_eq!(prefix("don't"), None);
        assert_eq!(prefix("walk2go"), Some("walk2go".to_owned()));
    }

    #[test]
    fn a_last_word_shorter_than_three_letters_is_matched_whole() {
        assert_eq!(fts("sunny be").as_deref(), Some(r#"("sunny" AND "be")"#));
        assert_eq!(pg("a").as_deref(), Some("('a')"));
        assert_eq!(fts("bea").as_deref(), Some(r#"("bea"*)"#));
    }

    #[test]
    fn quotes_make_a_phrase_and_end_prefix_matching() {
        assert_eq!(
            fts(r#""sunny beach""#).as_deref(),
            Some(r#"("sunny beach")"#)
        );
        assert_eq!(
            pg(r#""sunny beach""#).as_deref(),
            Some("(('sunny' <-> 'beach'))")
        );
        assert_eq!(
            fts(r#""unbalanced phrase"#).as_deref(),
            Some(r#"("unbalanced phrase")"#)
        );
    }

    #[test]
    fn a_minus_excludes_a_word_or_phrase() {
        assert_eq!(
            fts("beach -rain").as_deref(),
            Some(r#"(("beach") NOT "rain")"#)
        );
        assert_eq!(pg("beach -rain").as_deref(), Some("('beach' & !'rain')"));
        assert_eq!(
            pg(r#"beach -"cold rain""#).as_deref(),
            Some("('beach' & !('cold' <-> 'rain'))")
        );
    }

    #[test]
    fn or_offers_alternatives_that_bind_looser_than_and() {
        assert_eq!(
            fts("cat or dog food").as_deref(),
            Some(r#"("cat") OR ("dog" AND "food"*)"#)
        );
        assert_eq!(
            pg("cat OR dog food").as_deref(),
            Some("('cat') | ('dog' & 'food':*)")
        );
        // A dangling `or` is ignored.
        assert_eq!(pg("or cat or").as_deref(), Some("('cat')"));
    }

    #[test]
    fn only_exclusions_or_punctuation_is_no_query() {
        assert_eq!(fts("-rain"), None);
        assert_eq!(fts("  ;; "), None);
        assert_eq!(fts("- -"), None);
    }

    #[test]
    fn query_syntax_typed_by_a_person_is_just_text() {
        assert_eq!(fts("title:x").as_deref(), Some(r#"("title" AND "x")"#));
        assert_eq!(
            fts("a AND b NEAR c").as_deref(),
            Some(r#"("a" AND "AND" AND "b" AND "NEAR" AND "c")"#)
        );
        assert_eq!(pg("it's").as_deref(), Some("('it''s':*)"));
        assert_eq!(pg("a & b | !cat").as_deref(), Some("('a' & 'b' & 'cat':*)"));
    }

    #[test]
    fn at_most_twelve_words_count() {
        let many = (1..=20)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let query = fts(&many).unwrap_or_default();
        assert!(
            query.contains("\"w12\"") && !query.contains("\"w13\""),
            "{query}"
        );
    }
}
