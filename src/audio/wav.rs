//! RIFF/WAVE parsing for everything a phone provider or a city's own tools
//! produce: PCM 8/16/24/32-bit, IEEE float32, G.711 μ-law and A-law, plain
//! or WAVE_FORMAT_EXTENSIBLE. Hand-written rather than `hound` because hound
//! does not read G.711, which is what telephone recordings usually are
//! (hound is used to *write* WAV files).

use super::{g711, AudioError};

/// Sample encoding of a WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    Pcm8,
    Pcm16,
    Pcm24,
    Pcm32,
    Float32,
    MuLaw,
    ALaw,
}

impl Encoding {
    pub fn bytes_per_sample(self) -> usize {
        match self {
            Self::Pcm8 | Self::MuLaw | Self::ALaw => 1,
            Self::Pcm16 => 2,
            Self::Pcm24 => 3,
            Self::Pcm32 | Self::Float32 => 4,
        }
    }
}

/// The format chunk and the sample bytes of a WAV file.
#[derive(Debug)]
pub struct Wav<'a> {
    pub encoding: Encoding,
    pub channels: u16,
    pub sample_rate: u32,
    pub data: &'a [u8],
    /// The data chunk claimed more bytes than the file holds (only with
    /// `lenient` parsing; otherwise that is [`AudioError::Truncated`]).
    pub truncated: bool,
}

const FORMAT_PCM: u16 = 1;
const FORMAT_FLOAT: u16 = 3;
const FORMAT_ALAW: u16 = 6;
const FORMAT_MULAW: u16 = 7;
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;
/// Streaming writers put these in size fields they could not fill in.
const UNKNOWN_SIZES: [u32; 2] = [0xFFFF_FFFF, 0x7FFF_FFFF];

/// A size field a streaming writer could not fill in.
pub fn unknown_size(size: u32) -> bool {
    UNKNOWN_SIZES.contains(&size)
}

impl<'a> Wav<'a> {
    /// `lenient`: accept a data chunk cut short (a call dropped mid-upload) and
    /// use what is there.
    pub fn parse(bytes: &'a [u8], lenient: bool) -> Result<Self, AudioError> {
        if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
            return Err(if bytes.is_empty() {
                AudioError::Empty
            } else if bytes.len() >= 4 && &bytes[0..4] == b"RIFX" {
                AudioError::Unsupported("big-endian RIFX WAV".into())
            } else {
                AudioError::NotWav(sniff(bytes))
            });
        }
        let mut pos = 12;
        let mut format: Option<(Encoding, u16, u32)> = None;
        while pos + 8 <= bytes.len() {
            let id = &bytes[pos..pos + 4];
            let size = u32::from_le_bytes([
                bytes[pos + 4],
                bytes[pos + 5],
                bytes[pos + 6],
                bytes[pos + 7],
            ]);
            let body = pos + 8;
            if id == b"fmt " {
                let end = body
                    .checked_add(size as usize)
                    .filter(|&e| e <= bytes.len())
                    .ok_or(AudioError::Truncated)?;
                format = Some(parse_fmt(&bytes[body..end])?);
            } else if id == b"data" {
                let (encoding, channels, sample_rate) = format.ok_or_else(|| {
                    AudioError::AbsurdHeader("data chunk comes before the fmt chunk".into())
                })?;
                let available = bytes.len() - body;
                let short = size as usize > available && !UNKNOWN_SIZES.contains(&size);
                if short && !lenient {
                    return Err(AudioError::Truncated);
                }
                let len = (size as usize).min(available);
                let frame = encoding.bytes_per_sample() * usize::from(channels);
                let data = &bytes[body..body + len - len % frame];
                if data.is_empty() {
                    return Err(AudioError::Empty);
                }
                return Ok(Wav {
                    encoding,
                    channels,
                    sample_rate,
                    data,
                    truncated: short,
                });
            }
            // Chunks are padded to an even size.
            pos = body
                .checked_add(size as usize + (size as usize & 1))
                .ok_or_else(|| AudioError::AbsurdHeader(format!("chunk size {size} overflows")))?;
        }
        Err(match format {
            None => AudioError::AbsurdHeader("no fmt chunk".into()),
            Some(_) => AudioError::Truncated,
        })
    }

    pub fn frames(&self) -> usize {
        self.data.len() / (self.encoding.bytes_per_sample() * usize::from(self.channels))
    }

    pub fn duration_secs(&self) -> f64 {
        self.frames() as f64 / f64::from(self.sample_rate)
    }

    /// Each channel's samples, scaled to [-1, 1].
    pub fn to_channels(&self) -> Vec<Vec<f32>> {
        let ch = usize::from(self.channels);
        let bps = self.encoding.bytes_per_sample();
        let sample = |b: &[u8]| -> f32 {
            match self.encoding {
                Encoding::Pcm8 => (f32::from(b[0]) - 128.0) / 128.0,
                Encoding::Pcm16 => f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0,
                Encoding::Pcm24 => {
                    (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 / 8_388_608.0
                }
                Encoding::Pcm32 => {
                    i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 / 2_147_483_648.0
                }
                Encoding::Float32 => {
                    let v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                    if v.is_finite() {
                        v.clamp(-1.0, 1.0)
                    } else {
                        0.0
                    }
                }
                Encoding::MuLaw => f32::from(g711::ulaw_to_linear(b[0])) / 32768.0,
                Encoding::ALaw => f32::from(g711::alaw_to_linear(b[0])) / 32768.0,
            }
        };
        let mut out = vec![Vec::with_capacity(self.frames()); ch];
        for frame in self.data.chunks_exact(bps * ch) {
            for (c, b) in out.iter_mut().zip(frame.chunks_exact(bps)) {
                c.push(sample(b));
            }
        }
        out
    }
}

fn parse_fmt(f: &[u8]) -> Result<(Encoding, u16, u32), AudioError> {
    if f.len() < 16 {
        return Err(AudioError::AbsurdHeader(format!(
            "fmt chunk of {} bytes",
            f.len()
        )));
    }
    let u16_at = |i: usize| u16::from_le_bytes([f[i], f[i + 1]]);
    let mut tag = u16_at(0);
    let channels = u16_at(2);
    let sample_rate = u32::from_le_bytes([f[4], f[5], f[6], f[7]]);
    let block_align = u16_at(12);
    let bits = u16_at(14);
    if tag == FORMAT_EXTENSIBLE {
        if f.len() < 40 {
            return Err(AudioError::AbsurdHeader(
                "WAVE_FORMAT_EXTENSIBLE without sub-format".into(),
            ));
        }
        // The first two bytes of the sub-format GUID are the format tag.
        tag = u16_at(24);
    }
    if channels == 0 || channels > 16 {
        return Err(AudioError::AbsurdHeader(format!("{channels} channels")));
    }
    if !(1000..=384_000).contains(&sample_rate) {
        return Err(AudioError::AbsurdHeader(format!(
            "sample rate {sample_rate} Hz"
        )));
    }
    let encoding = match (tag, bits) {
        (FORMAT_PCM, 8) => Encoding::Pcm8,
        (FORMAT_PCM, 16) => Encoding::Pcm16,
        (FORMAT_PCM, 24) => Encoding::Pcm24,
        (FORMAT_PCM, 32) => Encoding::Pcm32,
        (FORMAT_FLOAT, 32) => Encoding::Float32,
        (FORMAT_MULAW, 8) => Encoding::MuLaw,
        (FORMAT_ALAW, 8) => Encoding::ALaw,
        (FORMAT_PCM | FORMAT_FLOAT | FORMAT_MULAW | FORMAT_ALAW, b) => {
            return Err(AudioError::Unsupported(format!(
                "{b}-bit samples of format {tag}"
            )))
        }
        (t, _) => {
            return Err(AudioError::Unsupported(format!(
                "WAV format tag {t:#06x} (compressed audio)"
            )))
        }
    };
    let expected_align = encoding.bytes_per_sample() * usize::from(channels);
    if usize::from(block_align) != expected_align {
        return Err(AudioError::AbsurdHeader(format!(
            "block align {block_align} for {channels} channel(s) of {bits}-bit samples"
        )));
    }
    Ok((encoding, channels, sample_rate))
}

/// Whether `bytes` start as an MP3 file does: an ID3 tag or an MPEG audio
/// frame's sync word.
pub fn looks_like_mp3(bytes: &[u8]) -> bool {
    bytes.starts_with(b"ID3") || (bytes.len() > 1 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0)
}

/// A hint at what a non-WAV file is, for the error message.
fn sniff(bytes: &[u8]) -> String {
    let starts = |p: &[u8]| bytes.starts_with(p);
    if looks_like_mp3(bytes) {
        "looks like MP3".into()
    } else if starts(b"OggS") {
        "looks like Ogg".into()
    } else if starts(b"fLaC") {
        "looks like FLAC".into()
    } else if starts(b"<") || starts(b"{") {
        "looks like text (an error page?)".into()
    } else {
        "no RIFF/WAVE header".into()
    }
}
