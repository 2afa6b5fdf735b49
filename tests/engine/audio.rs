//! Audio in: every WAV flavour decodes to 16 kHz mono, resampling keeps
//! frequencies, and bad files get typed errors.

use crate::support;

use std::time::Duration;

use hotline::audio::{decode, AudioError, DecodeOptions, Encoding, Format};
use support::signals::tone;
use support::wav::{encode, pcm16, riff, Kind};

/// Dominant frequency by counting zero crossings of a clean tone.
fn frequency(samples: &[f32], rate: f32) -> f32 {
    let s = &samples[samples.len() / 10..samples.len() * 9 / 10];
    let crossings = s
        .windows(2)
        .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
        .count();
    crossings as f32 / 2.0 / (s.len() as f32 / rate)
}

fn rms(s: &[f32]) -> f32 {
    (s.iter().map(|x| x * x).sum::<f32>() / s.len() as f32).sqrt()
}

fn tone_at(rate: u32, hz: f32, secs: f32) -> Vec<f32> {
    let n = (rate as f32 * secs) as usize;
    (0..n)
        .map(|i| 0.5 * (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin())
        .collect()
}

#[test]
fn every_encoding_and_layout_decodes_to_16k_mono() {
    for kind in Kind::ALL {
        for channels in [1u16, 2] {
            for extensible in [false, true] {
                let src = tone_at(8000, 1000.0, 1.0);
                let bytes = encode(kind, 8000, channels, &src, extensible);
                let pcm = decode(&bytes, &DecodeOptions::default())
                    .unwrap_or_else(|e| panic!("{kind:?} ch{channels} ext{extensible}: {e}"));
                assert_eq!(pcm.source_rate, 8000);
                assert_eq!(pcm.source_channels, channels);
                assert_eq!(pcm.samples.len(), 16_000, "{kind:?}: one second at 16 kHz");
                let f = frequency(&pcm.samples, 16_000.0);
                assert!((f - 1000.0).abs() < 10.0, "{kind:?}: {f} Hz");
                let level = rms(&pcm.samples);
                assert!((level - 0.354).abs() < 0.03, "{kind:?}: rms {level}");
            }
        }
    }
}

#[test]
fn encodings_are_reported() {
    let cases = [
        (Kind::Pcm16, Encoding::Pcm16),
        (Kind::MuLaw, Encoding::MuLaw),
        (Kind::ALaw, Encoding::ALaw),
        (Kind::Float32, Encoding::Float32),
    ];
    for (kind, want) in cases {
        let pcm = decode(
            &encode(kind, 16_000, 1, &tone_at(16_000, 440.0, 0.2), false),
            &DecodeOptions::default(),
        )
        .unwrap();
        assert_eq!(pcm.source_format, Format::Wav(want));
    }
}

#[test]
fn resampling_keeps_a_1khz_tone_at_1khz_from_any_rate() {
    for rate in [8000u32, 11_025, 16_000, 22_050, 44_100, 48_000] {
        let pcm = decode(
            &pcm16(rate, &tone_at(rate, 1000.0, 2.0)),
            &DecodeOptions::default(),
        )
        .unwrap();
        assert_eq!(pcm.samples.len(), 32_000, "{rate} Hz: two seconds");
        let f = frequency(&pcm.samples, 16_000.0);
        assert!((f - 1000.0).abs() < 5.0, "{rate} Hz: came out at {f} Hz");
    }
}

#[test]
fn downsampling_removes_what_16k_cannot_carry() {
    // A 12 kHz tone at 48 kHz is above 16 kHz's Nyquist limit: it must be
    // filtered out, not folded back as a 4 kHz alias.
    let pcm = decode(
        &pcm16(48_000, &tone_at(48_000, 12_000.0, 1.0)),
        &DecodeOptions::default(),
    )
    .unwrap();
    assert!(
        rms(&pcm.samples[2000..14_000]) < 0.01,
        "alias leaked: rms {}",
        rms(&pcm.samples)
    );
}

#[test]
fn a_silent_side_of_stereo_is_not_mixed_in() {
    // Left: tone, right: silence → the tone alone, at its own level
    // (mixing would halve it).
    let src = tone_at(16_000, 500.0, 0.5);
    let mut data = Vec::new();
    for s in &src {
        data.extend_from_slice(&((s * 32767.0) as i16).to_le_bytes());
        data.extend_from_slice(&0i16.to_le_bytes());
    }
    let mut fmt = Vec::new();
    for v in [1u16, 2] {
        fmt.extend_from_slice(&v.to_le_bytes());
    }
    fmt.extend_from_slice(&16_000u32.to_le_bytes());
    fmt.extend_from_slice(&64_000u32.to_le_bytes());
    fmt.extend_from_slice(&4u16.to_le_bytes());
    fmt.extend_from_slice(&16u16.to_le_bytes());
    let pcm = decode(
        &riff(&[(b"fmt ", &fmt), (b"data", &data)]),
        &DecodeOptions::default(),
    )
    .unwrap();
    assert!((rms(&pcm.samples) - 0.354).abs() < 0.01);
}

#[test]
fn bad_files_get_typed_errors() {
    let opts = DecodeOptions::default();
    let good = pcm16(8000, &tone(&[440.0], 1.0, 0.3));
    assert!(matches!(decode(b"", &opts), Err(AudioError::Empty)));
    assert!(
        matches!(decode(b"ID3\x04\0\0\0\0\0\0mp3 data", &opts), Err(AudioError::NotWav(m)) if m.contains("MP3"))
    );
    assert!(matches!(
        decode(b"<html>404 Not Found</html>", &opts),
        Err(AudioError::NotWav(_))
    ));
    assert!(matches!(
        decode(&good[..good.len() / 2], &opts),
        Err(AudioError::Truncated)
    ));
    // Header only: no samples.
    assert!(matches!(
        decode(&good[..44], &opts),
        Err(AudioError::Truncated | AudioError::Empty)
    ));
    let empty = riff(&[(b"fmt ", &good[20..36]), (b"data", b"")]);
    assert!(matches!(decode(&empty, &opts), Err(AudioError::Empty)));
    // Absurd headers: zero channels, zero rate, wrong block align.
    for (offset, value) in [(22usize, 0u16), (24, 0), (32, 7)] {
        let mut bad = good.clone();
        bad[offset..offset + 2].copy_from_slice(&value.to_le_bytes());
        if offset == 24 {
            bad[26..28].copy_from_slice(&0u16.to_le_bytes());
        }
        assert!(
            matches!(decode(&bad, &opts), Err(AudioError::AbsurdHeader(_))),
            "offset {offset}"
        );
    }
    // Compressed formats are refused by name.
    let mut gsm = good.clone();
    gsm[20..22].copy_from_slice(&0x31u16.to_le_bytes());
    assert!(matches!(
        decode(&gsm, &opts),
        Err(AudioError::Unsupported(_))
    ));
    // Garbage never panics.
    let mut x = 12345u64;
    for len in [4usize, 12, 44, 100, 1000] {
        let junk: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let mut with_header = b"RIFF\0\0\0\0WAVE".to_vec();
        with_header.extend_from_slice(&junk);
        let _ = decode(&junk, &opts);
        let _ = decode(&with_header, &opts);
    }
}

#[test]
fn lenient_decoding_keeps_what_a_dropped_call_left() {
    let good = pcm16(8000, &tone_at(8000, 440.0, 2.0));
    let cut = &good[..good.len() - 8000];
    let opts = DecodeOptions {
        lenient: true,
        ..Default::default()
    };
    let pcm = decode(cut, &opts).unwrap();
    assert!(pcm.truncated);
    assert!(
        (pcm.duration().as_secs_f32() - 1.5).abs() < 0.01,
        "{:?}",
        pcm.duration()
    );
}

#[test]
fn duration_cap_is_enforced_before_decoding() {
    let long = pcm16(8000, &vec![0.0; 8000 * 5]);
    let opts = DecodeOptions {
        max_duration: Duration::from_secs(3),
        lenient: false,
    };
    match decode(&long, &opts) {
        Err(AudioError::TooLong { actual, cap }) => {
            assert!((actual - 5.0).abs() < 0.01);
            assert_eq!(cap, 3.0);
        }
        other => panic!("expected TooLong, got {other:?}"),
    }
}

#[test]
fn streaming_size_placeholder_means_until_the_end() {
    let mut wav = pcm16(16_000, &tone(&[440.0], 0.5, 0.3));
    // Streaming writers leave 0xFFFFFFFF in the data size.
    let pos = wav.windows(4).position(|w| w == b"data").unwrap();
    wav[pos + 4..pos + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    let pcm = decode(&wav, &DecodeOptions::default()).unwrap();
    assert_eq!(pcm.samples.len(), 8000);
}

#[test]
fn loud_phone_audio_stays_within_full_scale_without_clipping() {
    // A full-scale square wave at 8 kHz (what a clipped phone line sends):
    // the band-limited resampler rings past ±1 at every edge.
    let square: Vec<f32> = (0..8000)
        .map(|i| if (i / 20) % 2 == 0 { 0.999 } else { -0.999 })
        .collect();
    for kind in [Kind::Pcm16, Kind::MuLaw, Kind::Float32] {
        let pcm = decode(
            &encode(kind, 8000, 1, &square, false),
            &DecodeOptions::default(),
        )
        .unwrap();
        let peak = pcm.samples.iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!(peak <= 1.0 && peak > 0.8, "{kind:?}: peak {peak}");
        // Scaled down as a whole, not clipped: no flat tops at full scale.
        let at_full_scale = pcm.samples.iter().filter(|s| s.abs() >= 0.9999).count();
        assert!(
            at_full_scale <= 2,
            "{kind:?}: {at_full_scale} samples clipped"
        );
    }
}

#[test]
fn the_bench_phone_line_keeps_speech_band_and_cuts_above_4_khz() {
    use hotline::bench::channel::through_phone_line;
    // Away from the edges, where the resamplers ramp in and out.
    let mid = |x: &[f32]| rms(&x[x.len() / 10..x.len() * 9 / 10]);
    let voice = tone(&[1_000.0], 1.0, 0.3);
    let out = through_phone_line(&voice).unwrap();
    assert!((out.len() as i64 - voice.len() as i64).abs() <= 2);
    let gain_db = 20.0 * (mid(&out) / mid(&voice)).log10();
    assert!(gain_db.abs() < 0.5, "1 kHz: {gain_db} dB");
    // μ-law's quantisation noise stays ~35 dB below a speech-level tone.
    let noise: Vec<f32> = out.iter().zip(&voice).map(|(o, v)| o - v).collect();
    let snr_db = 20.0 * (mid(&voice) / mid(&noise)).log10();
    assert!(snr_db > 30.0, "1 kHz SNR {snr_db} dB");
    let hiss = tone(&[6_000.0], 1.0, 0.3);
    let cut_db = 20.0 * (mid(&through_phone_line(&hiss).unwrap()) / mid(&hiss)).log10();
    assert!(cut_db < -40.0, "6 kHz: {cut_db} dB");
}

/// MP3 (Telnyx's default, Twilio's and SignalWire's `.mp3`) decodes to the
/// same audio as the WAV it was made from: length, pitch and level kept.
#[test]
fn mp3_recordings_decode_like_their_wav() {
    let original = tone_at(8_000, 440.0, 3.0);
    let wav = pcm16(8_000, &original);
    for args in [&["-b", "16"][..], &["-V", "5", "--resample", "8"][..]] {
        let mp3 = support::wav::mp3(&wav, args);
        let from_wav = decode(&wav, &DecodeOptions::default()).unwrap();
        let from_mp3 = decode(&mp3, &DecodeOptions::default()).unwrap();
        assert_eq!(from_mp3.source_format, Format::Mp3);
        let (a, b) = (from_wav.duration(), from_mp3.duration());
        // LAME's delay and padding are trimmed where its tag says how much;
        // 16 kb/s frames at 8 kHz are too small to carry the tag, and keep
        // under a quarter second of them.
        let off = b.abs_diff(a);
        assert!(off < Duration::from_millis(250), "{args:?}: {a:?} vs {b:?}");
        let f = frequency(&from_mp3.samples, 16_000.0);
        assert!((f - 440.0).abs() < 10.0, "{args:?}: {f} Hz");
        let (ra, rb) = (rms(&from_wav.samples), rms(&from_mp3.samples));
        assert!((ra - rb).abs() / ra < 0.1, "{args:?}: level {ra} vs {rb}");
    }
    // The cap holds for MP3 too.
    let long = support::wav::mp3(&pcm16(8_000, &tone_at(8_000, 300.0, 20.0)), &["-b", "16"]);
    let capped = DecodeOptions {
        max_duration: Duration::from_secs(10),
        ..Default::default()
    };
    assert!(matches!(
        decode(&long, &capped),
        Err(AudioError::TooLong { .. })
    ));
    // Cut short: what is there is decoded.
    let mp3 = support::wav::mp3(&wav, &["-b", "16"]);
    let half = decode(&mp3[..mp3.len() / 2], &DecodeOptions::default()).unwrap();
    assert!(half.duration() > Duration::from_millis(1_000));
}

/// Dual-channel recordings (WAV or MP3, the caller on either side): the
/// caller's channel is taken alone, not mixed with the prompts' beep; two
/// channels alike are mixed as before.
#[test]
fn dual_channel_recordings_keep_the_caller() {
    let rate = 8_000;
    let caller = tone_at(rate, 300.0, 6.0);
    let mut prompts = tone_at(rate, 1_000.0, 0.4);
    prompts.resize(caller.len(), 0.0);
    let alone = decode(&pcm16(rate, &caller), &DecodeOptions::default()).unwrap();
    for (left, right) in [(&caller, &prompts), (&prompts, &caller)] {
        let wav = support::wav::pcm16_channels(rate, &[left, right]);
        let pcm = decode(&wav, &DecodeOptions::default()).unwrap();
        assert_eq!(pcm.source_channels, 2);
        assert_eq!(pcm.samples.len(), alone.samples.len());
        let diff = pcm
            .samples
            .iter()
            .zip(&alone.samples)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(diff < 1e-3, "the caller's channel alone (max diff {diff})");
        // The same as MP3 with independent channels.
        let mp3 = support::wav::mp3(&wav, &["-m", "s", "-b", "32"]);
        let pcm = decode(&mp3, &DecodeOptions::default()).unwrap();
        assert_eq!((pcm.source_format, pcm.source_channels), (Format::Mp3, 2));
        let f = frequency(&pcm.samples, 16_000.0);
        assert!(
            (f - 300.0).abs() < 10.0,
            "the caller's 300 Hz, not a mix: {f}"
        );
    }
    // Both sides alike (a mono recording saved as stereo): mixed.
    let wav = support::wav::pcm16_channels(rate, &[&caller, &caller]);
    let pcm = decode(&wav, &DecodeOptions::default()).unwrap();
    assert!((rms(&pcm.samples) - rms(&alone.samples)).abs() < 0.01);
}
