-- Photos in entries (app/src/media). A photo belongs to one person and is stored once, with up
-- to three sizes (`photo_variants`): the original (turned the right way up, metadata removed
-- unless its owner keeps locations), `large` (at most 1600 px) and `small` (at most 480 px).
-- Ids are 128 random bits (base64url), so a URL cannot be guessed; every read also checks the
-- owner.
CREATE TABLE photos (
    id           TEXT    PRIMARY KEY NOT NULL,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The stored original's type and size in pixels (after orientation was applied).
    content_type TEXT    NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    -- Every variant's bytes together: what counts against the person's quota.
    byte_size    INTEGER NOT NULL,
    -- An animated GIF: shown as it is, never through a still smaller size.
    animated     BOOLEAN NOT NULL DEFAULT FALSE,
    -- The uploaded file's name, for the caption the editor suggests and for exports.
    file_name    TEXT    NOT NULL DEFAULT '',
    created_at   TEXT    NOT NULL,
    -- When the last entry that used it stopped using it (NULL while used, or never used yet).
    -- The sweep deletes a photo nothing uses: after a day if it was never used (an upload whose
    -- entry was never saved), after the trash period if it once was.
    unused_since TEXT
);
CREATE INDEX photos_by_user ON photos (user_id, created_at);

-- The bytes. `data` is NULL when the deployment keeps files in QUIRE_MEDIA_DIR instead.
CREATE TABLE photo_variants (
    photo_id     TEXT    NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
    variant      TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    byte_size    INTEGER NOT NULL,
    data         BLOB,
    PRIMARY KEY (photo_id, variant)
);

-- Which entry uses which photo, derived from the entry's text on every save.
CREATE TABLE entry_photos (
    entry_id  INTEGER NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
    photo_id  TEXT    NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    PRIMARY KEY (entry_id, photo_id)
);
CREATE INDEX entry_photos_by_photo ON entry_photos (photo_id);

-- The entry's first photo, denormalised for the list's thumbnail (one query per page).
ALTER TABLE entries ADD COLUMN cover_photo TEXT;

-- "Keep photo locations" (Settings): off by default, so location and camera data are removed.
ALTER TABLE users ADD COLUMN keep_photo_locations BOOLEAN NOT NULL DEFAULT FALSE;
