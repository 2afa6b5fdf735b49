//! MP3 (what Telnyx records by default, and what Twilio and SignalWire
//! serve as `.mp3`), decoded with symphonia: pure Rust, maintained, and the
//! decoder the Rust audio ecosystem shares, rather than a hand port.

use std::io::Cursor;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::DecoderOptions;
use symphonia::core::errors::Error;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::AudioError;

/// A decoded MP3: each channel's samples in [-1, 1].
pub struct Decoded {
    pub channels: Vec<Vec<f32>>,
    pub sample_rate: u32,
}

/// Decodes `bytes`, refusing more than `max_secs` of audio. A damaged frame
/// is skipped (phone recordings are cut and glued by providers); a file
/// with no decodable frame is an error.
pub fn decode(bytes: &[u8], max_secs: f64) -> Result<Decoded, AudioError> {
    let source = MediaSourceStream::new(Box::new(Cursor::new(bytes.to_vec())), Default::default());
    let mut hint = Hint::new();
    hint.with_extension("mp3");
    // The encoder's delay and padding (LAME's tag) trimmed: the audio is
    // as long as what was recorded.
    let gapless = FormatOptions {
        enable_gapless: true,
        ..Default::default()
    };
    let probed = symphonia::default::get_probe()
        .format(&hint, source, &gapless, &MetadataOptions::default())
        .map_err(|e| AudioError::NotWav(format!("looks like MP3 but is not: {e}")))?;
    let mut format = probed.format;
    let track = format
        .default_track()
        .ok_or_else(|| AudioError::NotWav("an MP3 file without audio".into()))?;
    let track_id = track.id;
    let params = track.codec_params.clone();
    let mut decoder = symphonia::default::get_codecs()
        .make(&params, &DecoderOptions::default())
        .map_err(|e| AudioError::Unsupported(format!("MP3: {e}")))?;
    let mut sample_rate = params.sample_rate.unwrap_or(0);
    let mut channels: Vec<Vec<f32>> = Vec::new();
    let mut buffer: Option<SampleBuffer<f32>> = None;
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(Error::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(Error::ResetRequired) => break,
            // Garbage between frames ends what can be read.
            Err(_) => break,
        };
        if packet.track_id() != track_id {
            continue;
        }
        let audio = match decoder.decode(&packet) {
            Ok(a) => a,
            Err(Error::DecodeError(_)) | Err(Error::IoError(_)) => continue,
            Err(e) => return Err(AudioError::Unsupported(format!("MP3: {e}"))),
        };
        let spec = *audio.spec();
        let n = spec.channels.count();
        if n == 0 || spec.rate == 0 {
            continue;
        }
        if channels.is_empty() {
            channels = vec![Vec::new(); n];
            sample_rate = spec.rate;
        }
        if n != channels.len() || spec.rate != sample_rate {
            // A stream that changes shape midway: keep what came first.
            continue;
        }
        let frames = audio.capacity() as u64;
        let buf = match &mut buffer {
            Some(b) if b.capacity() >= audio.capacity() * n => b,
            _ => buffer.insert(SampleBuffer::new(frames, spec)),
        };
        buf.copy_interleaved_ref(audio);
        // Gapless: the frames the packet says to trim (encoder delay at the
        // start, padding at the end) are dropped.
        let frames = buf.samples().len() / n;
        let from = (packet.trim_start as usize).min(frames);
        let to = frames.saturating_sub(packet.trim_end as usize).max(from);
        for frame in buf.samples()[from * n..to * n].chunks_exact(n) {
            for (c, s) in channels.iter_mut().zip(frame) {
                c.push(if s.is_finite() {
                    s.clamp(-1.0, 1.0)
                } else {
                    0.0
                });
            }
        }
        let secs = channels[0].len() as f64 / f64::from(sample_rate);
        if secs > max_secs {
            return Err(AudioError::TooLong {
                actual: secs,
                cap: max_secs,
            });
        }
    }
    if channels.first().is_none_or(Vec::is_empty) {
        return Err(AudioError::Empty);
    }
    Ok(Decoded {
        channels,
        sample_rate,
    })
}
