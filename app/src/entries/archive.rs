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
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Mutex;

/// The zip's files, as they can be reached.
enum Files {
    /// A whole zip: its central directory says where each file is.
    Indexed(zip::ZipArchive<File>),
    /// A zip cut short (its central directory, at the end, is missing): the files that arrived
    /// whole, found by reading it from the start. JSON files are kept as read (text, small
    /// beside the photos); photos are found again by where their local header starts.
    Streamed {
        file: File,
        offsets: HashMap<String, u64>,
        json: HashMap<String, Vec<u8>>,
    },
}

/// An opened import zip, shared by the import's steps (one reader at a time).
pub struct Archive {
    files: Mutex<Files>,
}

fn too_big(max: u64) -> String {
    format!(
        "is larger than {}, the most a photo can be",
        crate::media::human_bytes(max as i64)
    )
}

fn read_limited(file: impl Read, size: u64, max: u64) -> Result<Vec<u8>, String> {
    if size > max {
        return Err(too_big(max));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("could not be read from the zip ({e})"))?;
    if bytes.len() as u64 > max {
        return Err(too_big(max));
    }
    Ok(bytes)
}

impl Archive {
    /// The bytes of the file at `path`, if it is there and at most `max` bytes (blocking).
    pub fn read(&self, path: &str, max: u64) -> Result<Vec<u8>, String> {
        let mut files = self
            .files
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let missing = || "is not in the zip".to_owned();
        match &mut *files {
            Files::Indexed(zip) => {
                let entry = zip.by_name(path).map_err(|_| missing())?;
                let size = entry.size();
                read_limited(entry, size, max)
            }
            Files::Streamed { file, offsets, .. } => {
                let at = *offsets.get(path).ok_or_else(missing)?;
                file.seek(SeekFrom::Start(at))
                    .map_err(|e| format!("could not be read from the zip ({e})"))?;
                let entry = zip::read::read_zipfile_from_stream(file)
                    .map_err(|e| format!("could not be read from the zip ({e})"))?
                    .ok_or_else(missing)?;
                let size = entry.size();
                read_limited(entry, size, max)
            }
        }
    }

    /// A JSON file of the zip, to parse.
    fn json(&self, name: &str) -> Result<Vec<u8>, String> {
        let mut files = self
            .files
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match &mut *files {
            Files::Indexed(zip) => {
                let mut entry = zip.by_name(name).map_err(damaged)?;
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes).map_err(damaged)?;
                Ok(bytes)
            }
            Files::Streamed { json, .. } => json.get(name).cloned().ok_or_else(|| damaged(name)),
        }
    }
}

/// What a zip holds: the opened archive, its valid items, and a problem for each invalid one.
pub type ReadZip = (Archive, Vec<ImportItem>, Vec<String>);

fn damaged(e: impl std::fmt::Display) -> String {
    format!("This zip file is incomplete or damaged ({e}). If its download was cut short, download it again.")
}

/// Whether a file of the zip is one of the JSON files an import reads (at the top or in one
/// folder).
fn is_journal_json(name: &str) -> bool {
    name.ends_with(".json")
        && name.matches('/').count() <= 1
        && !name.rsplit('/').next().unwrap_or("").starts_with('.')
}

/// Reads a zip without its central directory, from the start, as far as whole files go: the
/// files, their names, and whether it ended early.
fn scan(mut file: File) -> Result<(Files, Vec<String>, bool), String> {
    file.rewind().map_err(damaged)?;
    let (mut offsets, mut json, mut names) = (HashMap::new(), HashMap::new(), Vec::new());
    let mut cut = false;
    loop {
        let at = file.stream_position().map_err(damaged)?;
        let mut entry = match zip::read::read_zipfile_from_stream(&mut file) {
            Ok(Some(entry)) => entry,
            Ok(None) => break,
            Err(_) => {
                cut = true;
                break;
            }
        };
        let Ok(name) = entry.name().map(|n| n.to_string()) else {
            cut = true;
            break;
        };
        // Read to its end (checking its CRC): a file the cut went through does not count.
        let read = if is_journal_json(&name) {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map(|_| Some(bytes))
        } else {
            std::io::copy(&mut entry, &mut std::io::sink()).map(|_| None)
        };
        match read {
            Ok(bytes) => {
                if let Some(bytes) = bytes {
                    json.insert(name.clone(), bytes);
                }
                offsets.insert(name.clone(), at);
                names.push(name);
            }
            Err(_) => {
                cut = true;
                break;
            }
        }
    }
    if names.is_empty() {
        return Err(damaged("no whole file in it"));
    }
    Ok((
        Files::Streamed {
            file,
            offsets,
            json,
        },
        names,
        cut,
    ))
}

/// Opens an import zip and reads its entries (blocking: call it on the blocking pool). A zip cut
/// short is read as far as it goes: what it holds is imported, and the report says it ended early.
pub fn read_zip(file: File) -> Result<ReadZip, String> {
    let indexed = file
        .try_clone()
        .ok()
        .and_then(|copy| zip::ZipArchive::new(copy).ok());
    let (files, names, cut) = match indexed {
        Some(zip) => {
            let names = zip
                .file_names()
                .filter_map(|name| name.ok().map(|name| name.into_owned()))
                .collect();
            (Files::Indexed(zip), names, false)
        }
        None => scan(file)?,
    };
    let archive = Archive {
        files: Mutex::new(files),
    };
    let (items, mut problems) = read_items(&archive, &names)?;
    if cut {
        problems.insert(0, "The zip file ends early (was its download cut short?): Quire imported what it holds. Download it again and import it once more to add the rest; entries already imported are skipped.".to_owned());
    }
    Ok((archive, items, problems))
}

/// The items of an opened zip: Quire's own, or Day One's journals.
fn read_items(
    archive: &Archive,
    names: &[String],
) -> Result<(Vec<ImportItem>, Vec<String>), String> {
    // Quire's own zip.
    if let Some(name) = names
        .iter()
        .find(|n| n.rsplit('/').next() == Some("quire.json"))
    {
        let prefix = name.trim_end_matches("quire.json").to_owned();
        let bytes = archive.json(name)?;
        let export: QuireExport = serde_json::from_slice(&bytes).map_err(|e| {
            format!("This looks like a Quire export, but its quire.json is damaged: {e}.")
        })?;
        return Ok(quire_items(export.entries, &prefix));
    }
    // Day One's: its journals' JSON files, at the top or in one folder.
    let journals: Vec<String> = names
        .iter()
        .filter(|n| is_journal_json(n))
        .cloned()
        .collect();
    let photos = PhotoFiles::of(names);
    let mut items = Vec::new();
    let mut problems = Vec::new();
    let mut recognised = 0;
    let tag_journals = journals.len() > 1;
    for name in &journals {
        let Ok(bytes) = archive.json(name) else {
            continue;
        };
        let export: DayOneExport = match serde_json::from_slice(&bytes) {
            Ok(export) => export,
            Err(_) => continue,
        };
        recognised += 1;
        let prefix = name.rsplit_once('/').map_or("", |(dir, _)| dir);
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}/")
        };
        let journal = name
            .rsplit('/')
            .next()
            .unwrap_or(name)
            .trim_end_matches(".json");
        let place = DayOnePlace {
            prefix: &prefix,
            photos: &photos,
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
    Ok((items, problems))
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
    #[serde(default)]
    order_in_entry: Option<i64>,
}

/// The zip's files by their name without its extension (`photos/<md5>`): Day One names a photo
/// by its MD5 and type, and the type's spelling varies (`jpeg`, `JPG`). Built once per zip, so
/// finding a photo is one lookup however many thousands there are.
#[derive(Default)]
struct PhotoFiles(HashMap<String, String>);

impl PhotoFiles {
    fn of(names: &[String]) -> PhotoFiles {
        PhotoFiles(
            names
                .iter()
                .filter_map(|n| {
                    n.rsplit_once('.')
                        .map(|(stem, _)| (stem.to_owned(), n.clone()))
                })
                .collect(),
        )
    }
}

/// Where a journal's files are in its zip.
struct DayOnePlace<'a> {
    /// The folder holding the journal's JSON and its `photos/` ("" at the top).
    prefix: &'a str,
    photos: &'a PhotoFiles,
    /// The journal's name, tagged on its entries when the zip holds several journals.
    journal: Option<&'a str>,
}

impl DayOnePlace<'_> {
    /// The zip path of a photo: `photos/<md5>.<type>` (Day One's layout), whatever the spelling
    /// of the extension.
    fn photo_path(&self, photo: &DayOnePhoto) -> Option<String> {
        let md5 = photo.md5.as_deref()?;
        self.photos
            .0
            .get(&format!("{}photos/{md5}", self.prefix))
            .cloned()
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
        for part in [
            &l.place_name,
            &l.locality_name,
            &l.administrative_area,
            &l.country,
        ]
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
        if let Some(c) = w
            .conditions_description
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
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
fn day_one_item(
    entry: DayOneEntry,
    place: &DayOnePlace,
) -> Result<(ImportItem, Vec<String>), String> {
    let at = chrono::DateTime::parse_from_rfc3339(&entry.creation_date)
        .map_err(|_| {
            format!(
                "its date “{}” is not one Quire can read.",
                entry.creation_date
            )
        })?
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
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
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
    let tag_list = TagList::from_items(tags.iter().map(String::as_str)).map_err(|e| e.message)?;
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
        let place = DayOnePlace {
            prefix: "",
            photos: &PhotoFiles::default(),
            journal: None,
        };
        let (item, problems) = day_one_item(entry, &place).unwrap();
        assert!(problems.is_empty());
        assert_eq!(item.entry.date.as_string(), "2023-05-02");
        assert_eq!(item.entry.tags.to_column(), "starred\ntravel-notes");
        assert_eq!(item.created_at.as_deref(), Some("2023-05-01T23:30:00Z"));
    }
}
