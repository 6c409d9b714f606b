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
        let quote = |t: &Term| {
            let mut s = format!("\"{}\"", t.words.join(" ").replace('"', "\"\""));
            if t.prefix {
                s.push('*');
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
