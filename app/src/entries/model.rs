//! Parse, don't validate: the only ways to get an entry's parts are constructors that return
//! errors a person can read. Limits count graphemes (what a person sees), except the body, whose
//! limit is about storage and counts bytes.

use crate::error::FieldError;
use chrono::NaiveDate;
use unicode_segmentation::UnicodeSegmentation;

pub const TITLE_MAX: usize = 200;
pub const BODY_MAX_BYTES: usize = 200 * 1024;
pub const TAG_MAX: usize = 40;
pub const TAGS_MAX: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryTitle(String);

impl EntryTitle {
    pub fn parse(raw: &str) -> Result<EntryTitle, FieldError> {
        let title = raw.trim();
        if title.chars().any(|c| c.is_control()) {
            return Err(FieldError::new(
                "title",
                "The title can’t contain line breaks or control characters.",
            ));
        }
        let length = title.graphemes(true).count();
        if length > TITLE_MAX {
            return Err(FieldError::new(
                "title",
                format!("The title is {length} characters long; the limit is {TITLE_MAX}."),
            ));
        }
        Ok(EntryTitle(title.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryBody(String);

impl EntryBody {
    pub fn parse(raw: &str) -> Result<EntryBody, FieldError> {
        // Normalise line endings so what is stored does not depend on the browser.
        let body = raw.replace("\r\n", "\n");
        if body.len() > BODY_MAX_BYTES {
            return Err(FieldError::new(
                "body",
                format!(
                    "The text is {} KB; the limit is {} KB. Split it into two entries.",
                    body.len().div_ceil(1024),
                    BODY_MAX_BYTES / 1024
                ),
            ));
        }
        if body.contains('\0') {
            return Err(FieldError::new(
                "body",
                "The text contains a NUL character, which can’t be stored.",
            ));
        }
        Ok(EntryBody(body))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The day an entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct EntryDate(NaiveDate);

impl EntryDate {
    pub fn parse(raw: &str) -> Result<EntryDate, FieldError> {
        let raw = raw.trim();
        let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
            FieldError::new(
                "entry_date",
                "Give the date as YYYY-MM-DD, for example 2026-11-23.",
            )
        })?;
        let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default();
        let latest = NaiveDate::from_ymd_opt(2100, 12, 31).unwrap_or_default();
        if date < earliest || date > latest {
            return Err(FieldError::new(
                "entry_date",
                "The date must be between 1900-01-01 and 2100-12-31.",
            ));
        }
        Ok(EntryDate(date))
    }
    pub fn as_string(&self) -> String {
        self.0.format("%Y-%m-%d").to_string()
    }
}

/// A tag: lower-case, no spaces (they become dashes), no commas, no leading `#`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(String);

impl Tag {
    pub fn parse(raw: &str) -> Result<Tag, FieldError> {
        let cleaned: String = raw.trim().trim_start_matches('#').trim().to_lowercase();
        let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join("-");
        if cleaned.is_empty() {
            return Err(FieldError::new("tags", "A tag can’t be empty."));
        }
        if cleaned.chars().any(|c| c.is_control() || c == ',') {
            return Err(FieldError::new(
                "tags",
                format!("The tag “{cleaned}” contains characters tags can’t have."),
            ));
        }
        let length = cleaned.graphemes(true).count();
        if length > TAG_MAX {
            return Err(FieldError::new(
                "tags",
                format!("The tag “{cleaned}” is {length} characters long; tags can have at most {TAG_MAX}."),
            ));
        }
        Ok(Tag(cleaned))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An entry's tags: distinct, sorted, at most [`TAGS_MAX`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagList(Vec<Tag>);

impl TagList {
    /// Parses comma-separated tags, as typed in the editor.
    pub fn parse(raw: &str) -> Result<TagList, FieldError> {
        TagList::from_items(raw.split(',').filter(|t| !t.trim().is_empty()))
    }

    pub fn from_items<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<TagList, FieldError> {
        let mut tags = items
            .into_iter()
            .map(Tag::parse)
            .collect::<Result<Vec<_>, _>>()?;
        tags.sort();
        tags.dedup();
        if tags.len() > TAGS_MAX {
            return Err(FieldError::new(
                "tags",
                format!(
                    "That is {} tags; an entry can have at most {TAGS_MAX}.",
                    tags.len()
                ),
            ));
        }
        Ok(TagList(tags))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Tag> {
        self.0.iter()
    }

    /// One tag per line, as stored in `entries.tags`.
    pub fn to_column(&self) -> String {
        self.0
            .iter()
            .map(Tag::as_str)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A validated entry, ready to store.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub title: EntryTitle,
    pub body: EntryBody,
    pub date: EntryDate,
    pub tags: TagList,
}

impl NewEntry {
    /// Parses every field and reports every problem at once, each against its field.
    pub fn parse(
        title: &str,
        date: &str,
        tags: &str,
        body: &str,
    ) -> Result<NewEntry, Vec<FieldError>> {
        let title = EntryTitle::parse(title);
        let body = EntryBody::parse(body);
        let date = EntryDate::parse(date);
        let tags = TagList::parse(tags);
        let mut errors = Vec::new();
        for e in [
            title.as_ref().err(),
            body.as_ref().err(),
            date.as_ref().err(),
            tags.as_ref().err(),
        ]
        .into_iter()
        .flatten()
        {
            errors.push(e.clone());
        }
        if let (Ok(t), Ok(b)) = (&title, &body) {
            if t.as_str().is_empty() && b.as_str().trim().is_empty() {
                errors.push(FieldError::new(
                    "body",
                    "Write something (or at least give the entry a title) before saving.",
                ));
            }
        }
        match (title, body, date, tags) {
            (Ok(title), Ok(body), Ok(date), Ok(tags)) if errors.is_empty() => Ok(NewEntry {
                title,
                body,
                date,
                tags,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_of_200_graphemes_is_accepted_and_201_rejected() {
        assert!(EntryTitle::parse(&"é".repeat(200)).is_ok());
        let err = EntryTitle::parse(&"é".repeat(201)).unwrap_err();
        assert_eq!(err.field, "title");
        assert!(err.message.contains("201"));
    }

    #[test]
    fn graphemes_not_bytes_are_counted_in_titles() {
        // Each family emoji is one grapheme made of several code points.
        assert!(EntryTitle::parse(&"👨‍👩‍👧".repeat(200)).is_ok());
    }

    #[test]
    fn a_body_over_200_kb_is_rejected_with_its_size() {
        let err = EntryBody::parse(&"a".repeat(BODY_MAX_BYTES + 1)).unwrap_err();
        assert!(err.message.contains("201 KB"), "{}", err.message);
        assert!(EntryBody::parse(&"a".repeat(BODY_MAX_BYTES)).is_ok());
    }

    #[test]
    fn dates_outside_a_sane_range_are_rejected() {
        assert!(EntryDate::parse("2026-11-23").is_ok());
        assert!(EntryDate::parse("1899-12-31").is_err());
        assert!(EntryDate::parse("2101-01-01").is_err());
        assert!(EntryDate::parse("23/11/2026").is_err());
        assert!(EntryDate::parse("2026-02-30").is_err());
    }

    #[test]
    fn tags_are_normalised_and_deduplicated() {
        let tags = TagList::parse(" Travel, #travel , day trip ,,").unwrap();
        let names: Vec<&str> = tags.iter().map(Tag::as_str).collect();
        assert_eq!(names, vec!["day-trip", "travel"]);
    }

    #[test]
    fn more_than_20_tags_or_a_41_character_tag_are_rejected() {
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert!(TagList::parse(&many.join(",")).is_err());
        assert!(TagList::parse(&"x".repeat(41)).is_err());
        assert!(TagList::parse(&"x".repeat(40)).is_ok());
    }

    #[test]
    fn an_entry_needs_a_title_or_some_text() {
        let errors = NewEntry::parse("", "2026-11-23", "", "   ").unwrap_err();
        assert_eq!(errors[0].field, "body");
        assert!(NewEntry::parse("Just a title", "2026-11-23", "", "").is_ok());
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let errors =
            NewEntry::parse(&"t".repeat(300), "nope", &"x".repeat(50), "body").unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["title", "entry_date", "tags"]);
    }
}
