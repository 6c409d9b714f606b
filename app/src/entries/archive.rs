//! Import zips (ssr): Quire's export with photos (`quire.json` beside `photos/`) and Day One's
//! export (one JSON file per journal, `Journal.json` for most people, beside `photos/`).
//!
//! The upload is streamed to a temporary file (unnamed: the system removes it when it is closed,
//! crash or not) and the zip is read from there, its JSON first and then one photo at a time, so
//! a journal of gigabytes never sits in memory. An item's photos are referred to in its text as
//! `/media/<key>` (the photo's id in a Quire export, Day One's photo identifier) until the import
//! stores them and writes their new ids in; a photo that cannot be brought keeps its key, which
//! the entry page shows as "photo not available" with the caption.

use super::model::{EntryBody, NewEntry, TagList};
use super::transfer::{ExportedEntry, ImportItem, QuireExport};
use serde::Deserialize;
use std::io::{BufReader, Read};
use std::sync::Mutex;

/// An opened import zip, shared by the import's steps (one reader at a time).
pub struct Archive {
    zip: Mutex<zip::ZipArchive<std::fs::File>>,
}

impl Archive {
    /// The bytes of the file at `path`, if it is there and at most `max` bytes (blocking).
    pub fn read(&self, path: &str, max: u64) -> Result<Vec<u8>, String> {
        let mut zip = self.zip.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let file = zip
            .by_name(path)
            .map_err(|_| "is not in the zip".to_owned())?;
        if file.size() > max {
            return Err(format!(
                "is larger than {}, the most a photo can be",
                crate::media::human_bytes(max as i64)
            ));
        }
        let mut bytes = Vec::with_capacity(file.size() as usize);
        file.take(max + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("could not be read from the zip ({e})"))?;
        Ok(bytes)
    }
}

/// What a zip holds: the opened archive, its valid items, and a problem for each invalid one.
pub type ReadZip = (Archive, Vec<ImportItem>, Vec<String>);

fn damaged(e: impl std::fmt::Display) -> String {
    format!("This zip file is incomplete or damaged ({e}). If its download was cut short, download it again.")
}

/// Opens an import zip and reads its entries (blocking: call it on the blocking pool).
pub fn read_zip(file: std::fs::File) -> Result<ReadZip, String> {
    let mut zip = zip::ZipArchive::new(file).map_err(damaged)?;
    let names: Vec<String> = zip
        .file_names()
        .filter_map(|name| name.ok().map(|name| name.into_owned()))
        .collect();
    // Quire's own zip.
    if let Some(name) = names.iter().find(|n| n.rsplit('/').next() == Some("quire.json")) {
        let prefix = name.trim_end_matches("quire.json").to_owned();
        let export: QuireExport = {
            let file = zip.by_name(name).map_err(damaged)?;
            serde_json::from_reader(BufReader::new(file)).map_err(|e| {
                format!("This looks like a Quire export, but its quire.json is damaged: {e}.")
            })?
        };
        let (items, problems) = quire_items(export.entries, &prefix);
        return Ok((Archive { zip: Mutex::new(zip) }, items, problems));
    }
    // Day One's: its journals' JSON files, at the top or in one folder.
    let journals: Vec<String> = names
        .iter()
        .filter(|n| n.ends_with(".json") && n.matches('/').count() <= 1)
        .filter(|n| !n.rsplit('/').next().unwrap_or("").starts_with('.'))
        .cloned()
        .collect();
    let mut items = Vec::new();
    let mut problems = Vec::new();
    let mut recognised = 0;
    let tag_journals = journals.len() > 1;
    for name in &journals {
        let export: DayOneExport = {
            let file = zip.by_name(name).map_err(damaged)?;
            match serde_json::from_reader(BufReader::new(file)) {
                Ok(export) => export,
                Err(_) => continue,
            }
        };
        recognised += 1;
        let prefix = name.rsplit_once('/').map_or("", |(dir, _)| dir);
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}/")
        };
        let journal = name.rsplit('/').next().unwrap_or(name).trim_end_matches(".json");
        let place = DayOnePlace {
            prefix: &prefix,
            names: &names,
            journal: tag_journals.then_some(journal),
        };
        for (i, value) in export.entries.into_iter().enumerate() {
            let label = if tag_journals {
                format!("{journal}, item {}", i + 1)
            } else {
                format!("item {}", i + 1)
            };
            match serde_json::from_value::<DayOneEntry>(value) {
                Ok(entry) => match day_one_item(entry, &place) {
                    Ok((item, mut found)) => {
                        items.push(item);
                        problems.append(&mut found);
                    }
                    Err(why) => problems.push(format!("Skipped {label}: {why}")),
                },
                Err(e) => problems.push(format!("Skipped {label}: Quire can't read it ({e}).")),
            }
        }
    }
    if recognised == 0 {
        return Err("Quire doesn't recognise this zip. It imports Quire's zip with photos (quire.json and photos/) and Day One's JSON export (Journal.json and photos/).".into());
    }
    Ok((Archive { zip: Mutex::new(zip) }, items, problems))
}

/// The items of Quire's `quire.json`, each with the photos the zip carries for it.
fn quire_items(entries: Vec<ExportedEntry>, prefix: &str) -> (Vec<ImportItem>, Vec<String>) {
    let photos: Vec<Vec<(String, String)>> = entries
        .iter()
        .map(|e| {
            e.photos
                .iter()
                .filter(|p| crate::media::is_photo_id(&p.id) && !p.file.contains(".."))
                .map(|p| (p.id.clone(), format!("{prefix}{}", p.file)))
                .collect()
        })
        .collect();
    let (mut items, problems) = super::transfer::validate(entries);
    for item in &mut items {
        if let Some(list) = item.index.and_then(|i| photos.get(i)) {
            item.photos = list.clone();
        }
    }
    (items, problems)
}

/// Day One's export file (`Journal.json`): only what Quire uses. Entries are read one by one,
/// so one Quire cannot read does not stop the others.
#[derive(Deserialize)]
struct DayOneExport {
    /// Day One's files have it (`{"version": "1.0"}`): it tells them from other JSON.
    #[serde(rename = "metadata")]
    _metadata: serde_json::Value,
    entries: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DayOneEntry {
    creation_date: String,
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    text: String,
    #[serde(default)]
    starred: bool,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    location: Option<DayOneLocation>,
    #[serde(default)]
    weather: Option<DayOneWeather>,
    #[serde(default)]
    photos: Vec<DayOnePhoto>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct DayOneLocation {
    place_name: Option<String>,
    locality_name: Option<String>,
    administrative_area: Option<String>,
    country: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct DayOneWeather {
    conditions_description: Option<String>,
    temperature_celsius: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DayOnePhoto {
    identifier: String,
    #[serde(default)]
    md5: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    order_in_entry: Option<i64>,
}

/// Where a journal's files are in its zip.
struct DayOnePlace<'a> {
    /// The folder holding the journal's JSON and its `photos/` ("" at the top).
    prefix: &'a str,
    names: &'a [String],
    /// The journal's name, tagged on its entries when the zip holds several journals.
    journal: Option<&'a str>,
}

impl DayOnePlace<'_> {
    /// The zip path of a photo: `photos/<md5>.<type>` (Day One's layout), whatever the case of
    /// the extension.
    fn photo_path(&self, photo: &DayOnePhoto) -> Option<String> {
        let md5 = photo.md5.as_deref()?;
        let exact = format!("{}photos/{md5}.{}", self.prefix, photo.kind.as_deref().unwrap_or("jpeg"));
        if self.names.contains(&exact) {
            return Some(exact);
        }
        let stem = format!("{}photos/{md5}.", self.prefix);
        self.names.iter().find(|n| n.starts_with(&stem)).cloned()
    }
}

/// Day One escapes Markdown punctuation in plain text (`Hello\!`); a title is plain text.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek().is_some_and(|n| n.is_ascii_punctuation()) {
            continue;
        }
        out.push(c);
    }
    out
}

/// Day One shows an entry's first line as its title; a heading there is one.
fn title_and_body(text: &str) -> (String, String) {
    let text = text.replace("\r\n", "\n");
    let trimmed = text.trim_start_matches(['\n', ' ']);
    let (first, rest) = trimmed.split_once('\n').unwrap_or((trimmed, ""));
    if first.starts_with('#') && !first.contains("dayone-moment:") {
        let title = unescape(first.trim_start_matches('#').trim());
        if title.chars().count() <= super::model::TITLE_MAX {
            return (title, rest.trim_start_matches('\n').to_owned());
        }
    }
    (String::new(), trimmed.to_owned())
}

/// "Café de Flore, Paris, France · Partly Cloudy, 18 °C": where and in what weather, as a last
/// line a person reads and search finds.
fn place_and_weather(location: Option<&DayOneLocation>, weather: Option<&DayOneWeather>) -> String {
    let mut place: Vec<String> = Vec::new();
    if let Some(l) = location {
        for part in [&l.place_name, &l.locality_name, &l.administrative_area, &l.country]
            .into_iter()
            .flatten()
        {
            let part = part.trim();
            if !part.is_empty() && !place.iter().any(|p| p == part) {
                place.push(part.to_owned());
            }
        }
        if place.is_empty() {
            if let (Some(lat), Some(lon)) = (l.latitude, l.longitude) {
                place.push(format!("{lat:.4}, {lon:.4}"));
            }
        }
    }
    let mut sky: Vec<String> = Vec::new();
    if let Some(w) = weather {
        if let Some(c) = w.conditions_description.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            sky.push(c.to_owned());
        }
        if let Some(t) = w.temperature_celsius {
            sky.push(format!("{t:.0} °C"));
        }
    }
    match (place.is_empty(), sky.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!("📍 {}", place.join(", ")),
        (true, false) => sky.join(", "),
        (false, false) => format!("📍 {} · {}", place.join(", "), sky.join(", ")),
    }
}

const MOMENT: &str = "dayone-moment://";

/// One Day One entry as an import item, and the problems with its photos.
fn day_one_item(entry: DayOneEntry, place: &DayOnePlace) -> Result<(ImportItem, Vec<String>), String> {
    let at = chrono::DateTime::parse_from_rfc3339(&entry.creation_date)
        .map_err(|_| format!("its date “{}” is not one Quire can read.", entry.creation_date))?
        .with_timezone(&chrono::Utc);
    // The day it was where it was written (Day One keeps the zone), not in UTC.
    let zone: chrono_tz::Tz = entry
        .time_zone
        .as_deref()
        .and_then(|z| z.parse().ok())
        .unwrap_or(chrono_tz::UTC);
    let date = at.with_timezone(&zone).format("%Y-%m-%d").to_string();
    let (title, mut body) = title_and_body(&entry.text);
    let mut problems = Vec::new();
    let label = if title.is_empty() {
        format!("the entry of {date}")
    } else {
        format!("“{title}” ({date})")
    };
    let mut photos: Vec<&DayOnePhoto> = entry.photos.iter().collect();
    photos.sort_by_key(|p| p.order_in_entry.unwrap_or(i64::MAX));
    let mut keys = Vec::new();
    for photo in photos {
        let key = &photo.identifier;
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            continue;
        }
        let moment = format!("{MOMENT}{key}");
        let reference = format!("{}{key}", crate::media::MEDIA_PATH);
        if body.contains(&moment) {
            body = body.replace(&moment, &reference);
        } else {
            // Day One shows it with the entry: so does Quire, at the end.
            body.push_str(&format!("\n\n![]({reference})"));
        }
        match place.photo_path(photo) {
            Some(path) => keys.push((key.clone(), path)),
            None => problems.push(format!("In {label}, a photo is missing from the zip.")),
        }
    }
    let footer = place_and_weather(entry.location.as_ref(), entry.weather.as_ref());
    if !footer.is_empty() {
        body = format!("{}\n\n{footer}\n", body.trim_end());
    }
    let mut tags: Vec<String> = entry
        .tags
        .iter()
        .map(|t| t.replace(',', " "))
        .filter(|t| super::model::Tag::parse(t).is_ok())
        .collect();
    if entry.starred {
        tags.push("starred".into());
    }
    if let Some(journal) = place.journal {
        tags.push(journal.to_owned());
    }
    let tag_list = TagList::from_items(tags.iter().map(String::as_str))
        .map_err(|e| e.message)?;
    let entry = NewEntry {
        title: super::model::EntryTitle::parse(&title).map_err(|e| e.message)?,
        body: EntryBody::parse(&body).map_err(|e| e.message)?,
        date: super::model::EntryDate::parse(&date).map_err(|e| e.message)?,
        tags: tag_list,
    };
    let item = ImportItem {
        entry,
        created_at: Some(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        photos: keys,
        index: None,
    };
    Ok((item, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_heading_first_line_is_the_title_with_day_ones_escapes_removed() {
        let (title, body) = title_and_body("# Paris\\! At last\n\nWe arrived\\.");
        assert_eq!(title, "Paris! At last");
        assert_eq!(body, "We arrived\\.");
        let (title, body) = title_and_body("Just text\nmore");
        assert_eq!(title, "");
        assert_eq!(body, "Just text\nmore");
    }

    #[test]
    fn place_and_weather_read_as_a_person_writes_them() {
        let l = DayOneLocation {
            place_name: Some("Café de Flore".into()),
            locality_name: Some("Paris".into()),
            country: Some("France".into()),
            ..Default::default()
        };
        let w = DayOneWeather {
            conditions_description: Some("Partly Cloudy".into()),
            temperature_celsius: Some(18.4),
        };
        assert_eq!(
            place_and_weather(Some(&l), Some(&w)),
            "📍 Café de Flore, Paris, France · Partly Cloudy, 18 °C"
        );
        assert_eq!(place_and_weather(None, None), "");
    }

    #[test]
    fn the_date_is_the_entrys_own_day_where_it_was_written() {
        let entry: DayOneEntry = serde_json::from_value(serde_json::json!({
            "creationDate": "2023-05-01T23:30:00Z",
            "timeZone": "Asia/Tokyo",
            "text": "Late",
            "starred": true,
            "tags": ["Travel Notes"]
        }))
        .unwrap();
        let names = Vec::new();
        let place = DayOnePlace {
            prefix: "",
            names: &names,
            journal: None,
        };
        let (item, problems) = day_one_item(entry, &place).unwrap();
        assert!(problems.is_empty());
        assert_eq!(item.entry.date.as_string(), "2023-05-02");
        assert_eq!(item.entry.tags.to_column(), "starred\ntravel-notes");
        assert_eq!(item.created_at.as_deref(), Some("2023-05-01T23:30:00Z"));
    }
}
