//! Where recordings live, shared by every process of an installation: a
//! directory (the embedded default, under the data directory) or
//! S3-compatible object storage (Ceph, MinIO, SeaweedFS, a cloud's S3), so
//! that servers and workers on different machines need no shared disk.
//!
//! Both go through Apache Arrow's `object_store` (the crate DataFusion,
//! Delta and InfluxDB use): one interface, signed S3 requests, multipart
//! uploads and ranged reads, instead of hand-signed HTTP.
//!
//! Keys are content-addressed and written once
//! (`recordings/ab/abcdef….wav`, the sha256 of the bytes), the same in every
//! backend, so a directory can be copied to a bucket as it is
//! (`hotline recordings migrate`). An object is referenced by the database
//! only after its upload completed: a process killed mid-upload leaves an
//! unfinished multipart upload (never visible) or a staging file, never a
//! referenced half-object.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::{GetOptions, GetRange, ObjectStore, WriteMultipart};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::Config;

/// Upload part size: S3's minimum is 5 MiB; a 3-minute WAV at 8 kHz is
/// under 3 MB, so most recordings go up in one part.
const PART: usize = 5 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("recordings storage is misconfigured: {0}")]
    Config(String),
    #[error("no such recording in storage: {0}")]
    NotFound(String),
    /// The store did not answer or refused (network, credentials, bucket).
    #[error("recordings storage unavailable: {0}")]
    Unavailable(String),
    /// The object's bytes are not the ones its key names.
    #[error("recording {key} does not match its checksum (got {actual})")]
    Corrupt { key: String, actual: String },
    #[error("local file: {0}")]
    Io(#[from] std::io::Error),
}

impl From<object_store::Error> for StorageError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { path, .. } => StorageError::NotFound(path),
            other => StorageError::Unavailable(other.to_string()),
        }
    }
}

pub type Result<T> = std::result::Result<T, StorageError>;

/// A recordings store (cheap to clone).
#[derive(Clone)]
pub struct Storage {
    inner: Arc<dyn ObjectStore>,
    /// Under the bucket, for S3 (`s3://bucket/prefix`); empty otherwise.
    prefix: String,
    /// For a directory: where it is (files are read in place).
    dir: Option<PathBuf>,
    /// Where the store is, for people (no secrets).
    pub describe: String,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe)
    }
}

impl Storage {
    /// The store `cfg` names: `HOTLINE_RECORDINGS_URL` (`file:///path` or
    /// `s3://bucket/prefix`), else the data directory.
    pub fn from_config(cfg: &Config) -> Result<Storage> {
        let r = &cfg.recordings;
        match r.url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            None => Storage::directory(&cfg.data_dir),
            Some(url) => Storage::open(url, &cfg.data_dir, &r.s3),
        }
    }

    /// `url` as a store; a `file://` URL or a bare path is a directory
    /// (relative to `data_dir`).
    pub fn open(url: &str, data_dir: &Path, s3: &S3Settings) -> Result<Storage> {
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(StorageError::Config(format!("{url}: no bucket named")));
            }
            return Storage::s3(bucket, prefix.trim_matches('/'), s3);
        }
        if url.contains("://") && !url.starts_with("file://") {
            return Err(StorageError::Config(format!(
                "{url}: use file:///path or s3://bucket/prefix"
            )));
        }
        let path = PathBuf::from(url.trim_start_matches("file://"));
        Storage::directory(&data_dir.join(path))
    }

    /// A directory (created if missing).
    pub fn directory(dir: &Path) -> Result<Storage> {
        std::fs::create_dir_all(dir)?;
        let dir = dir.canonicalize()?;
        let fs = LocalFileSystem::new_with_prefix(&dir)
            .map_err(|e| StorageError::Config(format!("{}: {e}", dir.display())))?;
        Ok(Storage {
            inner: Arc::new(fs),
            prefix: String::new(),
            describe: format!("file://{}", dir.display()),
            dir: Some(dir),
        })
    }

    fn s3(bucket: &str, prefix: &str, s: &S3Settings) -> Result<Storage> {
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(s.region.as_deref().unwrap_or("us-east-1"));
        if let Some(endpoint) = s.endpoint.as_deref() {
            // Self-hosted stores: path-style addressing, plain HTTP allowed
            // when the endpoint says so.
            b = b
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if !s.access_key_id.is_empty() {
            b = b
                .with_access_key_id(&s.access_key_id)
                .with_secret_access_key(s.secret_access_key.expose());
        } else if s.endpoint.is_some() {
            // A self-hosted store without keys: anonymous requests (never
            // the cloud's instance-metadata credentials).
            b = b.with_skip_signature(true);
        }
        let store = b.build().map_err(|e| StorageError::Config(e.to_string()))?;
        let at = s.endpoint.as_deref().unwrap_or("AWS");
        Ok(Storage {
            inner: Arc::new(store),
            prefix: prefix.to_owned(),
            dir: None,
            describe: format!("s3://{bucket}/{prefix} at {at}"),
        })
    }

    fn key(&self, key: &str) -> Key {
        if self.prefix.is_empty() {
            Key::from(key)
        } else {
            Key::from(format!("{}/{key}", self.prefix))
        }
    }

    /// Whether the store answers (for `/readyz`): a listing of one key.
    pub async fn check(&self) -> Result<()> {
        let prefix = (!self.prefix.is_empty()).then(|| Key::from(self.prefix.as_str()));
        let mut list = self.inner.list(prefix.as_ref());
        match list.next().await {
            None | Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(e.into()),
        }
    }

    /// The object's size, if it exists.
    pub async fn size(&self, key: &str) -> Result<Option<u64>> {
        match self.inner.head(&self.key(key)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores the file at `path` under `key` unless an object of the same
    /// size is there already (keys are content hashes: same key, same
    /// bytes). Streamed in parts: never more than one part in memory.
    pub async fn put_file(&self, key: &str, path: &Path) -> Result<()> {
        let len = tokio::fs::metadata(path).await?.len();
        if self.size(key).await? == Some(len) {
            return Ok(());
        }
        let upload = self.inner.put_multipart(&self.key(key)).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
        let mut file = tokio::fs::File::open(path).await?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = match file.read(&mut buf).await {
                Ok(n) => n,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(e.into());
                }
            };
            if n == 0 {
                break;
            }
            if let Err(e) = writer.wait_for_capacity(2).await {
                return Err(e.into());
            }
            writer.write(&buf[..n]);
        }
        writer.finish().await?;
        Ok(())
    }

    /// The object as a local file to read: in place for a directory, else
    /// downloaded to `scratch` (streamed, hashed on the way). `expected`:
    /// the sha256 the key names, checked for a download.
    pub async fn local_copy(&self, key: &str, scratch: &Path, expected: &str) -> Result<LocalCopy> {
        if let Some(dir) = &self.dir {
            let path = dir.join(key);
            if !tokio::fs::try_exists(&path).await? {
                return Err(StorageError::NotFound(key.to_owned()));
            }
            return Ok(LocalCopy {
                path,
                temporary: false,
            });
        }
        let got = self.inner.get(&self.key(key)).await?;
        if let Some(parent) = scratch.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        let mut file = tokio::fs::File::create(scratch).await?;
        let copy = LocalCopy {
            path: scratch.to_owned(),
            temporary: true,
        };
        let mut hasher = Sha256::new();
        let mut stream = got.into_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            hasher.update(&chunk);
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        let actual = hex::encode(hasher.finalize());
        if !expected.is_empty() && actual != expected {
            return Err(StorageError::Corrupt {
                key: key.to_owned(),
                actual,
            });
        }
        Ok(copy)
    }

    /// The sha256 of the object's bytes, read through.
    pub async fn checksum(&self, key: &str) -> Result<String> {
        let got = self.inner.get(&self.key(key)).await?;
        let mut hasher = Sha256::new();
        let mut stream = got.into_stream();
        while let Some(chunk) = stream.next().await {
            hasher.update(&chunk?);
        }
        Ok(hex::encode(hasher.finalize()))
    }

    /// Bytes `range` of the object (a ranged GET), streamed.
    pub async fn range(
        &self,
        key: &str,
        range: Range<u64>,
    ) -> Result<BoxStream<'static, Result<Bytes>>> {
        let opts = GetOptions {
            range: Some(GetRange::Bounded(range)),
            ..Default::default()
        };
        let got = self.inner.get_opts(&self.key(key), opts).await?;
        Ok(got
            .into_stream()
            .map(|c| c.map_err(StorageError::from))
            .boxed())
    }

    /// Deletes the object (gone already is fine).
    pub async fn delete(&self, key: &str) -> Result<()> {
        match self.inner.delete(&self.key(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// A recording readable as a local file; a downloaded copy is removed when
/// dropped.
#[derive(Debug)]
pub struct LocalCopy {
    pub path: PathBuf,
    temporary: bool,
}

impl Drop for LocalCopy {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// How to reach S3-compatible storage (`HOTLINE_S3_ENDPOINT`,
/// `HOTLINE_S3_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Settings {
    /// `http://127.0.0.1:8333` for a self-hosted store; none for AWS.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: String,
    pub secret_access_key: crate::config::Secret,
}

/// The sha256 of a local file, read in blocks.
pub async fn file_checksum(path: &Path) -> Result<String> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

/// The content-addressed key of a recording with sha256 `sha` whose bytes
/// start with `head` (`.mp3` or `.wav`, by content).
pub fn key_for(sha: &str, head: &[u8]) -> String {
    let ext = if crate::audio::wav::looks_like_mp3(head) {
        "mp3"
    } else {
        "wav"
    };
    format!("recordings/{}/{sha}.{ext}", &sha[..2.min(sha.len())])
}

/// The media type of a stored recording, by its key.
pub fn content_type(key: &str) -> &'static str {
    if key.ends_with(".mp3") {
        "audio/mpeg"
    } else {
        "audio/wav"
    }
}
