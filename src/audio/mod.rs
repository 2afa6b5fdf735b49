//! Audio in: any WAV or MP3 a provider or a city tool produces → 16 kHz
//! mono f32, the only input Whisper takes. The bytes decide how a file is
//! read, not its name or declared type; of a multi-channel recording the
//! caller's channel is taken ([`channels`]).

pub mod channels;
pub mod g711;
pub mod mp3;
pub mod resample;
pub mod wav;

use std::path::Path;
use std::time::Duration;

pub use wav::Encoding;

/// Whisper's sample rate.
pub const WHISPER_RATE: u32 = 16_000;

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("neither WAV nor MP3 ({0})")]
    NotWav(String),
    #[error("the recording is empty")]
    Empty,
    #[error("the WAV file is truncated (the data chunk is longer than the file)")]
    Truncated,
    #[error("the WAV header is not plausible: {0}")]
    AbsurdHeader(String),
    #[error("unsupported WAV encoding: {0}")]
    Unsupported(String),
    #[error("the recording lasts {actual:.0} s, more than the {cap:.0} s cap")]
    TooLong { actual: f64, cap: f64 },
    #[error("resampling failed: {0}")]
    Resample(String),
    #[error("cannot read the recording: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// Longer recordings are refused before any sample is decoded.
    pub max_duration: Duration,
    /// Accept a data chunk cut short and decode what is there.
    pub lenient: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            max_duration: Duration::from_secs(15 * 60),
            lenient: false,
        }
    }
}

/// A recording ready for Whisper.
#[derive(Debug, Clone)]
pub struct Pcm16k {
    pub samples: Vec<f32>,
    pub source_rate: u32,
    pub source_channels: u16,
    pub source_format: Format,
    /// The file was cut short (lenient decoding only).
    pub truncated: bool,
}

/// What a recording was stored as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Wav(Encoding),
    Mp3,
}

impl Pcm16k {
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.samples.len() as f64 / f64::from(WHISPER_RATE))
    }
}

pub fn decode(bytes: &[u8], opts: &DecodeOptions) -> Result<Pcm16k, AudioError> {
    let cap = opts.max_duration.as_secs_f64();
    let (channels, rate, format, truncated) = if wav::looks_like_mp3(bytes) {
        let mp3 = mp3::decode(bytes, cap)?;
        (mp3.channels, mp3.sample_rate, Format::Mp3, false)
    } else {
        let wav = wav::Wav::parse(bytes, opts.lenient)?;
        if wav.duration_secs() > cap {
            return Err(AudioError::TooLong {
                actual: wav.duration_secs(),
                cap,
            });
        }
        let format = Format::Wav(wav.encoding);
        (wav.to_channels(), wav.sample_rate, format, wav.truncated)
    };
    let source_channels = u16::try_from(channels.len()).unwrap_or(u16::MAX);
    let voice = channels::caller(channels, rate);
    let mut samples = resample::resample(&voice, rate, WHISPER_RATE)?;
    // The band-limited resampler rings past full scale on loud, clipped
    // phone audio (found by fuzzing). Such a signal is scaled down as a
    // whole: clipping it would add distortion, which cost words on the dev
    // set, and Whisper's log-mel barely sees the gain.
    let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
    if peak > 1.0 {
        let gain = 1.0 / peak;
        samples.iter_mut().for_each(|s| *s *= gain);
    }
    Ok(Pcm16k {
        samples,
        source_rate: rate,
        source_channels,
        source_format: format,
        truncated,
    })
}

/// A WAV file's length from its header and the file's size, reading at
/// most its first 1 MiB (`None` when the file is not a WAV hotline reads).
/// For refusing an overlong file before reading it whole.
pub fn duration_ms(path: &Path) -> std::io::Result<Option<u64>> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)?;
    let file_len = file.metadata()?.len();
    let mut prefix = Vec::with_capacity(64 * 1024);
    file.take(1 << 20).read_to_end(&mut prefix)?;
    let Ok(w) = wav::Wav::parse(&prefix, true) else {
        return Ok(None);
    };
    // Where the data starts, and what its chunk claims (a streaming
    // writer's unknown size: to the end of the file).
    let offset = w.data.as_ptr() as usize - prefix.as_ptr() as usize;
    let claimed = prefix
        .get(offset.saturating_sub(4)..offset)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .unwrap_or(0);
    let present = file_len.saturating_sub(offset as u64);
    let bytes = if wav::unknown_size(claimed) {
        present
    } else {
        u64::from(claimed).min(present)
    };
    let frame = (w.encoding.bytes_per_sample() * usize::from(w.channels)) as u64;
    Ok(Some(
        bytes / frame.max(1) * 1000 / u64::from(w.sample_rate.max(1)),
    ))
}

pub fn decode_file(path: &Path, opts: &DecodeOptions) -> Result<Pcm16k, AudioError> {
    let bytes = std::fs::read(path)?;
    decode(&bytes, opts)
}
