//! Writing WAV files of every kind the decoder must read.
#![allow(dead_code)]

use hotline::audio::g711;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Pcm8,
    Pcm16,
    Pcm24,
    Pcm32,
    Float32,
    MuLaw,
    ALaw,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Pcm8,
        Kind::Pcm16,
        Kind::Pcm24,
        Kind::Pcm32,
        Kind::Float32,
        Kind::MuLaw,
        Kind::ALaw,
    ];

    fn tag_bits(self) -> (u16, u16) {
        match self {
            Kind::Pcm8 => (1, 8),
            Kind::Pcm16 => (1, 16),
            Kind::Pcm24 => (1, 24),
            Kind::Pcm32 => (1, 32),
            Kind::Float32 => (3, 32),
            Kind::MuLaw => (7, 8),
            Kind::ALaw => (6, 8),
        }
    }

    fn encode(self, s: f32, out: &mut Vec<u8>) {
        let s = s.clamp(-1.0, 0.999_969);
        match self {
            Kind::Pcm8 => out.push(((s * 128.0) + 128.0).round().clamp(0.0, 255.0) as u8),
            Kind::Pcm16 => out.extend_from_slice(&((s * 32768.0) as i16).to_le_bytes()),
            Kind::Pcm24 => out.extend_from_slice(&((s * 8_388_608.0) as i32).to_le_bytes()[..3]),
            Kind::Pcm32 => {
                out.extend_from_slice(&((f64::from(s) * 2_147_483_648.0) as i32).to_le_bytes())
            }
            Kind::Float32 => out.extend_from_slice(&s.to_le_bytes()),
            Kind::MuLaw => out.push(g711::linear_to_ulaw((s * 32768.0) as i16)),
            Kind::ALaw => out.push(g711::linear_to_alaw((s * 32768.0) as i16)),
        }
    }
}

/// A WAV file of `frames` (one Vec per channel... interleaved here from
/// `channels` copies of `samples`, the second channel negated if `stereo_inverted`).
pub fn encode(kind: Kind, rate: u32, channels: u16, samples: &[f32], extensible: bool) -> Vec<u8> {
    let (tag, bits) = kind.tag_bits();
    let bps = bits / 8;
    let mut data = Vec::with_capacity(samples.len() * usize::from(bps) * usize::from(channels));
    for &s in samples {
        for _ in 0..channels {
            kind.encode(s, &mut data);
        }
    }
    let mut fmt = Vec::new();
    fmt.extend_from_slice(&(if extensible { 0xFFFEu16 } else { tag }).to_le_bytes());
    fmt.extend_from_slice(&channels.to_le_bytes());
    fmt.extend_from_slice(&rate.to_le_bytes());
    fmt.extend_from_slice(&(rate * u32::from(bps) * u32::from(channels)).to_le_bytes());
    fmt.extend_from_slice(&(bps * channels).to_le_bytes());
    fmt.extend_from_slice(&bits.to_le_bytes());
    if extensible {
        fmt.extend_from_slice(&22u16.to_le_bytes());
        fmt.extend_from_slice(&bits.to_le_bytes());
        fmt.extend_from_slice(&0u32.to_le_bytes());
        fmt.extend_from_slice(&tag.to_le_bytes());
        fmt.extend_from_slice(&[
            0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
        ]);
    }
    riff(&[(b"fmt ", &fmt), (b"LIST", b"INFOjunk"), (b"data", &data)])
}

pub fn riff(chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
    let mut body = b"WAVE".to_vec();
    for (id, data) in chunks {
        body.extend_from_slice(*id);
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(data);
        if data.len() % 2 == 1 {
            body.push(0);
        }
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend(body);
    out
}

/// 16-bit PCM mono through hound (the writer hotline's tools use).
pub fn pcm16(rate: u32, samples: &[f32]) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut cur = std::io::Cursor::new(Vec::new());
    {
        let mut w = hound::WavWriter::new(&mut cur, spec).expect("wav writer");
        for s in samples {
            w.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16)
                .expect("sample");
        }
        w.finalize().expect("finalize");
    }
    cur.into_inner()
}

/// 16-bit PCM with one channel per slice (equal lengths): a dual-channel
/// recording, the caller on one side and the prompts on the other.
pub fn pcm16_channels(rate: u32, channels: &[&[f32]]) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut cur = std::io::Cursor::new(Vec::new());
    {
        let mut w = hound::WavWriter::new(&mut cur, spec).unwrap();
        for i in 0..channels[0].len() {
            for c in channels {
                w.write_sample((c[i].clamp(-1.0, 1.0) * 32767.0) as i16)
                    .unwrap();
            }
        }
        w.finalize().unwrap();
    }
    cur.into_inner()
}

/// `wav` as MP3, encoded by LAME (`scripts/bootstrap` installs it) with
/// `args` (`-m s`: two independent channels, as Telnyx records).
pub fn mp3(wav: &[u8], args: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.wav"), dir.path().join("out.mp3"));
    std::fs::write(&input, wav).unwrap();
    let status = std::process::Command::new("lame")
        .arg("--quiet")
        .args(args)
        .arg(&input)
        .arg(&output)
        .status()
        .expect("lame is missing: run scripts/bootstrap");
    assert!(status.success(), "lame failed");
    std::fs::read(output).unwrap()
}

/// A 300 Hz tone of `secs` at 8 kHz as a 16 kbit/s MP3: a recording as a
/// provider serves `.mp3`.
pub fn tone_mp3(secs: f32) -> Vec<u8> {
    let tone = super::signals::tone(&[300.0], secs, 0.3);
    mp3(&pcm16(8000, &tone), &["-b", "16"])
}
