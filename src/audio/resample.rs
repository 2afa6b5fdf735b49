//! Band-limited resampling to Whisper's 16 kHz with rubato's FFT resampler
//! (anti-aliasing filter included), compensating its delay so that output
//! sample n lines up with input time n / rate.

use rubato::{FftFixedInOut, Resampler};

use super::AudioError;

const CHUNK: usize = 1024;

pub fn resample(input: &[f32], from: u32, to: u32) -> Result<Vec<f32>, AudioError> {
    if from == to || input.is_empty() {
        return Ok(input.to_vec());
    }
    let err = |e: &dyn std::fmt::Display| AudioError::Resample(e.to_string());
    let mut r =
        FftFixedInOut::<f32>::new(from as usize, to as usize, CHUNK, 1).map_err(|e| err(&e))?;
    let expected = (input.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    let delay = r.output_delay();
    let mut out = Vec::with_capacity(expected + delay + 2 * r.output_frames_max());
    let mut pos = 0;
    while out.len() < expected + delay {
        let need = r.input_frames_next();
        let end = (pos + need).min(input.len());
        let chunk = &input[pos.min(end)..end];
        let produced = if chunk.len() == need {
            r.process(&[chunk], None)
        } else if !chunk.is_empty() {
            // The last, short chunk (zero-padded by rubato).
            r.process_partial(Some(&[chunk]), None)
        } else {
            // Zeros, to flush what the filter still holds.
            r.process_partial(None::<&[&[f32]]>, None)
        }
        .map_err(|e| err(&e))?;
        pos = end;
        out.extend_from_slice(&produced[0]);
    }
    out.drain(..delay);
    out.truncate(expected);
    Ok(out)
}
