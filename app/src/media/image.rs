//! Turning an uploaded file into the photo Quire stores (ssr, pure: bytes in, bytes out).
//!
//! The file's type is decided by its content, never by its name or the browser's claim. Every
//! accepted image is decoded (so a file that only looks like an image is refused), turned the
//! right way up (EXIF orientation applied to the pixels) and re-encoded: the re-encoding is what
//! removes the metadata (EXIF location, camera, XMP, comments), unless the owner keeps locations,
//! in which case the EXIF block is copied over with its orientation reset. Colour profiles are
//! kept (they are not personal, and without them phone photos look washed out).
//!
//! A JPEG that already stands the right way up keeps its own compressed picture: its metadata
//! segments are cut out ([`strip_jpeg`]) instead of decoding and re-encoding 12 megapixels, which
//! would cost most of an upload's time (the profile in docs/BENCHMARKS.md) and some quality each
//! time a photo is exported and imported again. It is still decoded in full, for the smaller
//! sizes and to refuse a file that only looks like a JPEG.
//!
//! What is stored: JPEG stays JPEG; PNG stays PNG; WebP becomes JPEG (PNG when it has
//! transparency: `image` writes only lossless WebP, which would be several times larger); GIF is
//! copied frame by frame without re-quantising (animation kept, extensions dropped). Smaller sizes
//! (`large` ≤ 1600 px, `small` ≤ 480 px) exist only when the photo is bigger than them.
//!
//! Dimensions are read from the header before anything is decoded: a file that claims more than
//! [`MAX_PIXELS`] is refused without decoding (decompression bombs), and decoders run with an
//! allocation limit besides. Callers run this on the blocking pool, at most one per CPU.

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageEncoder, ImageFormat, ImageReader};
use std::io::Cursor;

/// The most pixels a photo may have (100 megapixels: a 12-megapixel phone photo is 12).
pub const MAX_PIXELS: u64 = 100_000_000;
/// The longest side of the `large` size (the entry page on wide screens).
pub const LARGE: u32 = 1600;
/// The longest side of the `small` size (lists, phones, the editor's preview).
pub const SMALL: u32 = 480;
/// JPEG quality of the stored original and of the smaller sizes.
const ORIGINAL_QUALITY: u8 = 90;
const RESIZED_QUALITY: u8 = 82;
/// Decoders may allocate at most this much (a 100-megapixel RGBA image is 400 MB).
const MAX_ALLOC: u64 = 1 << 30;

/// Why a file was not accepted. Each reads as a sentence for the person who chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not an image at all (or a type Quire does not take).
    NotAnImage,
    /// HEIC/HEIF/AVIF: no kept Rust crate decodes HEIC, so the person is asked to convert.
    Heic,
    /// More pixels than [`MAX_PIXELS`].
    TooManyPixels { width: u32, height: u32 },
    /// The header said image, the rest could not be decoded.
    Damaged(String),
}

impl Refusal {
    pub fn message(&self, file_name: &str) -> String {
        let name = if file_name.is_empty() {
            "This file".to_owned()
        } else {
            format!("“{file_name}”")
        };
        match self {
            Refusal::NotAnImage => format!(
                "{name} is not a photo Quire can use: only JPEG, PNG, WebP and GIF images are accepted."
            ),
            Refusal::Heic => format!(
                "{name} is a HEIC (or HEIF/AVIF) photo, which Quire cannot read yet: please convert it to JPEG first (on an iPhone: Settings → Camera → Formats → Most Compatible)."
            ),
            Refusal::TooManyPixels { width, height } => format!(
                "{name} is {width} × {height} pixels; photos can have at most {} megapixels.",
                MAX_PIXELS / 1_000_000
            ),
            Refusal::Damaged(_) => format!("{name} looks like an image but could not be read: it may be damaged or incomplete."),
        }
    }
}

/// One stored size of a photo.
#[derive(Debug, Clone)]
pub struct Variant {
    /// `original`, `large` or `small`.
    pub name: &'static str,
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
    pub bytes: Vec<u8>,
}

/// A photo ready to store: `variants[0]` is the original.
#[derive(Debug, Clone)]
pub struct Processed {
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
    pub animated: bool,
    pub variants: Vec<Variant>,
}

impl Processed {
    pub fn byte_size(&self) -> u64 {
        self.variants.iter().map(|v| v.bytes.len() as u64).sum()
    }
}

/// What the content says the file is.
fn sniff(bytes: &[u8]) -> Result<ImageFormat, Refusal> {
    // ISO base media files (HEIC, HEIF, AVIF): `....ftyp<brand>`.
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        return Err(match &bytes[8..12] {
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1"
            | b"avif" | b"avis" => Refusal::Heic,
            _ => Refusal::NotAnImage,
        });
    }
    match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP | ImageFormat::Gif)) => {
            Ok(f)
        }
        _ => Err(Refusal::NotAnImage),
    }
}

/// Checks, decodes, straightens and re-encodes an uploaded file.
pub fn process(bytes: &[u8], keep_metadata: bool) -> Result<Processed, Refusal> {
    let format = sniff(bytes)?;
    if format == ImageFormat::Gif {
        return process_gif(bytes);
    }
    let damaged = |e: image::ImageError| Refusal::Damaged(e.to_string());
    let mut decoder = ImageReader::with_format(Cursor::new(bytes), format)
        .into_decoder()
        .map_err(damaged)?;
    let (width, height) = decoder.dimensions();
    check_pixels(width, height)?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_ALLOC);
    decoder.set_limits(limits).map_err(damaged)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let icc = decoder.icc_profile().ok().flatten();
    let exif = if keep_metadata {
        decoder.exif_metadata().ok().flatten().map(|mut chunk| {
            // The pixels are turned below; the tag must not turn them again.
            let _ = Orientation::remove_from_exif_chunk(&mut chunk);
            chunk
        })
    } else {
        None
    };
    let mut image = DynamicImage::from_decoder(decoder).map_err(damaged)?;
    image.apply_orientation(orientation);

    let as_png = match format {
        ImageFormat::Png => true,
        ImageFormat::WebP => image.color().has_alpha(),
        _ => false,
    };
    let encode = |img: &DynamicImage, quality: u8, meta: bool| -> Result<Vec<u8>, Refusal> {
        let mut out = Vec::new();
        let result = if as_png {
            let mut encoder = PngEncoder::new(&mut out);
            if meta {
                if let Some(icc) = &icc {
                    let _ = encoder.set_icc_profile(icc.clone());
                }
                if let Some(exif) = &exif {
                    let _ = encoder.set_exif_metadata(exif.clone());
                }
            }
            img.write_with_encoder(encoder)
        } else {
            let mut encoder = JpegEncoder::new_with_quality(&mut out, quality);
            if let Some(icc) = &icc {
                let _ = encoder.set_icc_profile(icc.clone());
            }
            if meta {
                if let Some(exif) = &exif {
                    let _ = encoder.set_exif_metadata(exif.clone());
                }
            }
            // JPEG has no alpha and no 16-bit samples.
            DynamicImage::ImageRgb8(img.to_rgb8()).write_with_encoder(encoder)
        };
        result.map_err(damaged)?;
        Ok(out)
    };
    let content_type = if as_png { "image/png" } else { "image/jpeg" };
    let kept = (format == ImageFormat::Jpeg && orientation == Orientation::NoTransforms)
        .then(|| strip_jpeg(bytes, keep_metadata))
        .flatten()
        .filter(|stripped| still_the_same_jpeg(stripped, width, height, keep_metadata));
    let original = match kept {
        Some(stripped) => stripped,
        None => encode(&image, ORIGINAL_QUALITY, true)?,
    };
    let mut variants = vec![Variant {
        name: "original",
        content_type,
        width: image.width(),
        height: image.height(),
        bytes: original,
    }];
    let longest = image.width().max(image.height());
    let large = (longest > LARGE)
        .then(|| image.resize(LARGE, LARGE, image::imageops::FilterType::Triangle));
    if let Some(large) = &large {
        variants.push(Variant {
            name: "large",
            content_type,
            width: large.width(),
            height: large.height(),
            bytes: encode(large, RESIZED_QUALITY, true)?,
        });
    }
    if longest > SMALL {
        let from = large.as_ref().unwrap_or(&image);
        let small = from.resize(SMALL, SMALL, image::imageops::FilterType::Triangle);
        variants.push(Variant {
            name: "small",
            content_type,
            width: small.width(),
            height: small.height(),
            bytes: encode(&small, RESIZED_QUALITY, false)?,
        });
    }
    Ok(Processed {
        content_type,
        width: image.width(),
        height: image.height(),
        animated: false,
        variants,
    })
}

/// A JPEG's own bytes without its metadata: the APPn and COM segments are cut out except the
/// three that decide how it looks (JFIF without a thumbnail, the ICC colour profile, Adobe's
/// colour transform); with `keep_all`, every segment stays. The compressed picture is copied as
/// it is, and the file ends at its end-of-image marker: what some cameras append after it (a
/// second picture, a depth map, with metadata of their own) is left out. `None` when the file is
/// not the plain marker stream this expects (the caller then re-encodes it).
pub fn strip_jpeg(bytes: &[u8], keep_all: bool) -> Option<Vec<u8>> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    let mut i = 2;
    loop {
        if *bytes.get(i)? != 0xFF {
            return None;
        }
        // Fill bytes may come before a marker.
        while bytes.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        let marker = *bytes.get(i + 1)?;
        match marker {
            0xD9 => {
                out.extend_from_slice(&[0xFF, 0xD9]);
                return Some(out);
            }
            0xD0..=0xD7 | 0x01 => {
                out.extend_from_slice(&[0xFF, marker]);
                i += 2;
                continue;
            }
            _ => {}
        }
        let length = usize::from(u16::from_be_bytes([*bytes.get(i + 2)?, *bytes.get(i + 3)?]));
        if length < 2 {
            return None;
        }
        let segment = bytes.get(i..i + 2 + length)?;
        let payload = &segment[4..];
        let metadata = matches!(marker, 0xE0..=0xEF | 0xFE);
        let looks = match marker {
            0xE0 => payload.starts_with(b"JFIF\0") && payload.len() == 14,
            0xE2 => payload.starts_with(b"ICC_PROFILE\0"),
            0xEE => payload.starts_with(b"Adobe"),
            _ => false,
        };
        if keep_all || !metadata || looks {
            out.extend_from_slice(segment);
        }
        i += 2 + length;
        if marker == 0xDA {
            // The scan's compressed data runs to the next marker that is neither a stuffed
            // 0xFF00 nor a restart marker.
            let start = i;
            loop {
                let ff = i + bytes.get(i..)?.iter().position(|&b| b == 0xFF)?;
                match *bytes.get(ff + 1)? {
                    0x00 | 0xD0..=0xD7 => i = ff + 2,
                    _ => {
                        out.extend_from_slice(&bytes[start..ff]);
                        i = ff;
                        break;
                    }
                }
            }
        }
    }
}

/// Whether a stripped JPEG still reads as the picture that was decoded, and has no EXIF left
/// when none may stay.
fn still_the_same_jpeg(stripped: &[u8], width: u32, height: u32, keep_metadata: bool) -> bool {
    let Ok(mut decoder) =
        ImageReader::with_format(Cursor::new(stripped), ImageFormat::Jpeg).into_decoder()
    else {
        return false;
    };
    let exif_left = decoder.exif_metadata().ok().flatten().is_some();
    decoder.dimensions() == (width, height) && (keep_metadata || !exif_left)
}

fn check_pixels(width: u32, height: u32) -> Result<(), Refusal> {
    if width == 0 || height == 0 {
        return Err(Refusal::Damaged("no pixels".into()));
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(Refusal::TooManyPixels { width, height });
    }
    Ok(())
}

/// A GIF is copied frame by frame in its own palette (nothing re-quantised, animation and timing
/// kept); comments and application extensions (XMP) are not copied. The `small` size is the first
/// frame as a PNG, for lists.
fn process_gif(bytes: &[u8]) -> Result<Processed, Refusal> {
    let damaged = |e: gif::DecodingError| Refusal::Damaged(e.to_string());
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    let mut decoder = options.read_info(Cursor::new(bytes)).map_err(damaged)?;
    let (width, height) = (u32::from(decoder.width()), u32::from(decoder.height()));
    check_pixels(width, height)?;
    let mut out = Vec::new();
    let mut frames = 0u64;
    let mut decoded_pixels = 0u64;
    {
        let palette = decoder.global_palette().unwrap_or(&[]).to_vec();
        let mut encoder = gif::Encoder::new(&mut out, decoder.width(), decoder.height(), &palette)
            .map_err(|e| Refusal::Damaged(e.to_string()))?;
        encoder
            .set_repeat(decoder.repeat())
            .map_err(|e| Refusal::Damaged(e.to_string()))?;
        while let Some(frame) = decoder.read_next_frame().map_err(damaged)? {
            frames += 1;
            // Many frames are many pictures: the budget counts them all (four photos' worth).
            decoded_pixels += u64::from(frame.width) * u64::from(frame.height);
            if decoded_pixels > MAX_PIXELS * 4 {
                return Err(Refusal::TooManyPixels { width, height });
            }
            encoder
                .write_frame(frame)
                .map_err(|e| Refusal::Damaged(e.to_string()))?;
        }
    }
    if frames == 0 {
        return Err(Refusal::Damaged("no frames".into()));
    }
    let mut variants = vec![Variant {
        name: "original",
        content_type: "image/gif",
        width,
        height,
        bytes: out,
    }];
    if width.max(height) > SMALL {
        let first = image::load_from_memory_with_format(bytes, ImageFormat::Gif)
            .map_err(|e| Refusal::Damaged(e.to_string()))?
            .resize(SMALL, SMALL, image::imageops::FilterType::Triangle);
        let mut png = Vec::new();
        first
            .write_with_encoder(PngEncoder::new(&mut png))
            .map_err(|e| Refusal::Damaged(e.to_string()))?;
        variants.push(Variant {
            name: "small",
            content_type: "image/png",
            width: first.width(),
            height: first.height(),
            bytes: png,
        });
    }
    Ok(Processed {
        content_type: "image/gif",
        width,
        height,
        animated: frames > 1,
        variants,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(width, height, |x, _| Rgb([(x % 256) as u8, 80, 160]));
        let mut out = Vec::new();
        DynamicImage::ImageRgb8(img)
            .write_with_encoder(JpegEncoder::new_with_quality(&mut out, 90))
            .unwrap();
        out
    }

    #[test]
    fn a_small_jpeg_is_kept_as_one_jpeg() {
        let p = process(&jpeg(300, 200), false).unwrap();
        assert_eq!(p.content_type, "image/jpeg");
        assert_eq!((p.width, p.height), (300, 200));
        assert_eq!(p.variants.len(), 1);
        assert_eq!(
            image::guess_format(&p.variants[0].bytes).unwrap(),
            ImageFormat::Jpeg
        );
    }

    #[test]
    fn a_big_photo_gets_large_and_small_sizes_in_proportion() {
        let p = process(&jpeg(2000, 1000), false).unwrap();
        let sizes: Vec<_> = p
            .variants
            .iter()
            .map(|v| (v.name, v.width, v.height))
            .collect();
        assert_eq!(
            sizes,
            vec![
                ("original", 2000, 1000),
                ("large", 1600, 800),
                ("small", 480, 240)
            ]
        );
    }

    #[test]
    fn a_transparent_png_stays_a_png() {
        let img = RgbaImage::from_fn(10, 10, |_, _| Rgba([1, 2, 3, 0]));
        let mut bytes = Vec::new();
        DynamicImage::ImageRgba8(img)
            .write_with_encoder(PngEncoder::new(&mut bytes))
            .unwrap();
        let p = process(&bytes, false).unwrap();
        assert_eq!(p.content_type, "image/png");
    }

    #[test]
    fn text_named_like_a_photo_is_refused() {
        assert_eq!(
            process(b"hello, I am not a photo at all", false).unwrap_err(),
            Refusal::NotAnImage
        );
        // An SVG can carry script: never an accepted photo.
        assert_eq!(
            process(
                b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
                false
            )
            .unwrap_err(),
            Refusal::NotAnImage
        );
    }

    #[test]
    fn heic_is_refused_with_advice_to_convert() {
        let mut heic = vec![0, 0, 0, 24];
        heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
        let refusal = process(&heic, false).unwrap_err();
        assert_eq!(refusal, Refusal::Heic);
        assert!(refusal.message("IMG_1.HEIC").contains("convert it to JPEG"));
    }

    #[test]
    fn a_header_claiming_too_many_pixels_is_refused_before_decoding() {
        // A real 1 × 1 PNG whose header is rewritten to claim 20000 × 20000 (400 megapixels).
        let mut png = Vec::new();
        PngEncoder::new(&mut png)
            .write_image(&[0u8; 3], 1, 1, image::ExtendedColorType::Rgb8)
            .unwrap();
        png[16..20].copy_from_slice(&20000u32.to_be_bytes());
        png[20..24].copy_from_slice(&20000u32.to_be_bytes());
        // PNG's CRC over the chunk type and data (the decoder checks it).
        let crc = crc32fast::hash(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(
            process(&png, false).unwrap_err(),
            Refusal::TooManyPixels {
                width: 20000,
                height: 20000
            }
        );
    }

    #[test]
    fn an_upright_jpeg_keeps_its_picture_and_loses_its_metadata_and_trailing_pictures() {
        let mut exif = vec![0xFF, 0xE1];
        let body = b"Exif\0\0MM\0*\0\0\0\x08\0\0GPS-and-camera";
        exif.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
        exif.extend_from_slice(body);
        let plain = jpeg(640, 480);
        // SOI, then the EXIF segment, then the rest; and a second "picture" after the end.
        let mut phone = plain[..2].to_vec();
        phone.extend_from_slice(&exif);
        phone.extend_from_slice(&plain[2..]);
        phone.extend_from_slice(b"\xFF\xD8\xFF\xE1\0\x10Exif\0\0hidden-gps");
        let stripped = strip_jpeg(&phone, false).unwrap();
        assert!(!stripped.windows(4).any(|w| w == b"Exif"), "EXIF left");
        assert!(stripped.ends_with(&[0xFF, 0xD9]));
        // The compressed picture is untouched: it decodes to exactly the same pixels.
        let before = image::load_from_memory(&plain).unwrap().to_rgb8();
        let after = image::load_from_memory(&stripped).unwrap().to_rgb8();
        assert_eq!(before, after);
        // The stored original is that file.
        let p = process(&phone, false).unwrap();
        assert_eq!(p.variants[0].bytes, stripped);
        // Keeping metadata keeps the segment (and still drops what follows the end).
        let kept = strip_jpeg(&phone, true).unwrap();
        assert!(kept.windows(14).any(|w| w == &body[..14]));
        assert!(!kept.windows(10).any(|w| w == b"hidden-gps"));
    }

    #[test]
    fn a_jpeg_that_is_not_a_plain_marker_stream_is_not_stripped() {
        assert!(strip_jpeg(b"\xFF\xD8garbage", false).is_none());
        let plain = jpeg(64, 48);
        assert!(
            strip_jpeg(&plain[..plain.len() - 2], false).is_none(),
            "no end marker"
        );
    }

    #[test]
    fn a_file_that_stops_after_its_header_is_refused_as_damaged() {
        let bytes = jpeg(400, 300);
        assert!(matches!(
            process(&bytes[..40], false),
            Err(Refusal::Damaged(_))
        ));
    }
}
